package runtime

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPullMemoCoalescesConcurrentPulls(t *testing.T) {
	var pm pullMemo
	var calls atomic.Int32
	release := make(chan struct{})
	errRegistry := errors.New("registry unreachable")
	pull := func() error {
		calls.Add(1)
		<-release
		return errRegistry
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = pm.do(context.Background(), "nginx:latest", time.Now, pull) })
	}
	// Let the callers pile up behind the first pull, then end it.
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("%d pulls for 8 concurrent pods of one image, want 1", n)
	}
	for i, err := range errs {
		if !errors.Is(err, errRegistry) {
			t.Errorf("caller %d: %v, want the shared pull's error", i, err)
		}
	}
}

func TestPullMemoReuseWindow(t *testing.T) {
	clock := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	tests := []struct {
		name      string
		after     time.Duration
		otherRef  bool
		wantPulls int32
	}{
		{"same ref right after", time.Second, false, 1},
		{"same ref just inside the window", pullReuse - time.Millisecond, false, 1},
		{"same ref after the window", pullReuse, false, 2},
		{"another ref", time.Second, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pm pullMemo
			var calls atomic.Int32
			pull := func() error { calls.Add(1); return nil }
			clock = time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
			if err := pm.do(context.Background(), "nginx:latest", now, pull); err != nil {
				t.Fatal(err)
			}
			clock = clock.Add(tt.after)
			ref := "nginx:latest"
			if tt.otherRef {
				ref = "redis:latest"
			}
			if err := pm.do(context.Background(), ref, now, pull); err != nil {
				t.Fatal(err)
			}
			if got := calls.Load(); got != tt.wantPulls {
				t.Errorf("%d pulls, want %d", got, tt.wantPulls)
			}
		})
	}
}

// A pull that ended because its caller gave up says nothing about the
// registry; the next pod pulls again.
func TestPullMemoForgetsCanceledPull(t *testing.T) {
	var pm pullMemo
	var calls atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	err := pm.do(ctx, "nginx:latest", time.Now, func() error {
		calls.Add(1)
		cancel()
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first pull: %v", err)
	}
	if err := pm.do(context.Background(), "nginx:latest", time.Now, func() error { calls.Add(1); return nil }); err != nil {
		t.Fatalf("second pull: %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d pulls, want 2", n)
	}
}
