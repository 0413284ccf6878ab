package reconcile

import (
	"context"
	"errors"
	"testing"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
)

// With disjoint reachability two runners must not both hold the lock: it is
// taken only when a majority of the inventory is reachable.
func TestAcquireLockNeedsMajority(t *testing.T) {
	tests := []struct {
		name      string
		reachable []string
		nodes     int
		wantErr   string
	}{
		{"all of 3", []string{"node-1", "node-2", "node-3"}, 3, ""},
		{"2 of 3", []string{"node-1", "node-2"}, 3, ""},
		{"1 of 3", []string{"node-3"}, 3, "the run lock needs a majority of the cluster's 3 nodes (2), but only 1 could be reached: nothing was changed; fix the unreachable nodes or remove them from the inventory"},
		{"2 of 4", []string{"node-1", "node-2"}, 4, "the run lock needs a majority of the cluster's 4 nodes (3), but only 2 could be reached: nothing was changed; fix the unreachable nodes or remove them from the inventory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			all, fs := fakeHosts()
			hosts := map[string]Host{}
			for _, n := range tc.reachable {
				hosts[n] = all[n]
			}
			l, err := AcquireLock(context.Background(), hosts, LockOptions{Owner: "apply by ci pid 1", Nodes: tc.nodes})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				l.Release(context.Background())
				return
			}
			var nq *NoQuorumError
			if err == nil || err.Error() != tc.wantErr || !errors.As(err, &nq) {
				t.Fatalf("error %v, want %s", err, tc.wantErr)
			}
			for _, f := range fs {
				if f.lockCalls() != 0 {
					t.Errorf("%s: %d lock calls without a quorum", f.name, f.lockCalls())
				}
			}
		})
	}
}

// A run whose lock is taken over stops: the lock's context ends with
// ErrLockLost (before this, Lost had no caller and the run kept acting).
func TestLockContextEndsWhenLost(t *testing.T) {
	hosts, fs := fakeHosts()
	l, err := AcquireLock(context.Background(), hosts, LockOptions{Owner: "apply by ci pid 1", TTL: time.Second, Progress: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(context.Background())
	ctx, cancel := l.Context(context.Background())
	defer cancel()
	if fenceOf(ctx) != l.id {
		t.Errorf("the lock's context carries fence %q, want %q", fenceOf(ctx), l.id)
	}
	fs[2].setLock(rnet.LockInfo{ID: "other", Owner: "sync by cron pid 3", Acquired: time.Now(), Expires: time.Now().Add(time.Minute)})
	select {
	case <-ctx.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("the run's context still runs 3s after its lock was taken over")
	}
	if !errors.Is(context.Cause(ctx), ErrLockLost) {
		t.Errorf("cause %v, want ErrLockLost", context.Cause(ctx))
	}
}

// Every agent write carries the run's lock id; when a host refuses it (the
// lock was taken over there), the run stops before changing pods.
func TestApplyFencedByLock(t *testing.T) {
	d := loadDesired(t, deployment("my-nginx", "nginx", 2, ""), seedService)
	hosts, fs := fakeHosts()
	l, err := AcquireLock(context.Background(), hosts, LockOptions{Owner: "apply by ci pid 1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := l.Context(context.Background())
	res, err := Apply(ctx, d, hosts, map[string]error{}, ApplyOptions{Prune: true, PollInterval: time.Millisecond})
	cancel()
	l.Release(context.Background())
	if err != nil || res.Err() != nil {
		t.Fatalf("apply: %v %v", err, res.Err())
	}
	for _, f := range fs {
		for i, id := range f.fences {
			if id != l.id {
				t.Errorf("%s: write %d carried fence %q, want the lock's %q", f.name, i, id, l.id)
			}
		}
	}

	// Another run took node-2's lock over: the next apply must not act.
	fs[1].fenced = true
	before := map[string]int{}
	for _, f := range fs {
		before[f.name] = len(f.podsOf("my-nginx"))
	}
	d = loadDesired(t, deployment("my-nginx", "nginx:2", 3, ""), seedService)
	_, err = Apply(context.Background(), d, hosts, map[string]error{}, ApplyOptions{Prune: true, PollInterval: time.Millisecond})
	want := "lost the run lock: another run may be acting on the hosts; this run stopped changing them (node-2: agent apply: refused: the lock is held by sync by cron pid 3 since 2025-03-01T12:00:00Z, not by this run; nothing was changed)"
	if !errors.Is(err, ErrLockLost) || err.Error() != want {
		t.Fatalf("error\n got %v\nwant %s", err, want)
	}
	for _, f := range fs {
		if n := len(f.podsOf("my-nginx")); n != before[f.name] {
			t.Errorf("%s: %d pods, had %d: the run changed pods after a host refused its write", f.name, n, before[f.name])
		}
	}
}

// A run whose context ended because the lock was lost reports ErrLockLost,
// not a timeout.
func TestApplyStopsWhenLockLost(t *testing.T) {
	d := loadDesired(t, deployment("my-nginx", "nginx", 2, ""), seedService)
	hosts, fs := fakeHosts()
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(ErrLockLost)
	_, err := Apply(ctx, d, hosts, map[string]error{}, ApplyOptions{Prune: true, PollInterval: time.Millisecond})
	if !errors.Is(err, ErrLockLost) {
		t.Fatalf("error %v, want ErrLockLost", err)
	}
	for _, f := range fs {
		if n := len(f.podsOf("my-nginx")); n != 0 {
			t.Errorf("%s: %d pods created after the lock was lost", f.name, n)
		}
	}
}

// A run that stalled past most of its TTL (SIGSTOP, a paused VM) may have
// lost the lock before its renewals notice: it must not create or delete
// another pod, which the hosts cannot fence (TestLockFencing on the lab).
func TestCheckLeaseAfterStall(t *testing.T) {
	hosts, _ := fakeHosts()
	l, err := AcquireLock(context.Background(), hosts, LockOptions{Owner: "apply by ci pid 1", TTL: time.Minute, Progress: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(context.Background())
	ctx, cancel := l.Context(context.Background())
	defer cancel()
	if err := checkLease(ctx); err != nil {
		t.Fatalf("fresh lock: %v", err)
	}
	if err := checkLease(context.Background()); err != nil {
		t.Errorf("no lock in the context: %v", err)
	}
	l.mu.Lock()
	l.renewed["node-2"] = time.Now().Add(-51 * time.Second) // past TTL less its margin
	l.mu.Unlock()
	if err := checkLease(ctx); !errors.Is(err, ErrLockLost) {
		t.Errorf("stalled past 5/6 of the TTL: %v, want ErrLockLost", err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("the run's context did not end when its lease ran out")
	}
	if !l.Lost() {
		t.Error("the lock is not marked lost")
	}
}
