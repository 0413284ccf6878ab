package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
)

// progressLog collects Progress lines.
type progressLog struct {
	mu    sync.Mutex
	lines []string
}

func (p *progressLog) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, s)
}

func (p *progressLog) get() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

func TestLockedErrorText(t *testing.T) {
	holder := rnet.LockInfo{ID: "x", Owner: "apply by ci@runner-3 pid 4711",
		Acquired: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Expires: time.Date(2025, 3, 1, 12, 1, 30, 0, time.UTC)}
	tests := []struct {
		name string
		err  LockedError
		want string
	}{
		{"no wait", LockedError{Node: "node-1", Holder: holder},
			"lock held by apply by ci@runner-3 pid 4711 since 2025-03-01T12:00:00Z (expires 2025-03-01T12:01:30Z) on node-1: another reconcile is running; retry later or pass --wait-for-lock 5m"},
		{"waited", LockedError{Node: "node-2", Holder: holder, Waited: 30*time.Second + 4*time.Millisecond},
			"lock held by apply by ci@runner-3 pid 4711 since 2025-03-01T12:00:00Z (expires 2025-03-01T12:01:30Z) on node-2: another reconcile is still running after waiting 30s; retry later or pass a longer --wait-for-lock"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// Runs started together: exactly one gets the lock, each other is told who
// holds it, on the first host.
func TestAcquireLockConcurrentOneWins(t *testing.T) {
	for round := range 20 {
		hosts, fs := fakeHosts()
		const n = 4
		type outcome struct {
			owner string
			lock  *Lock
			err   error
		}
		out := make(chan outcome, n)
		start := make(chan struct{})
		for i := range n {
			go func() {
				<-start
				owner := fmt.Sprintf("apply by run-%d", i)
				l, err := AcquireLock(context.Background(), hosts, LockOptions{Owner: owner})
				out <- outcome{owner, l, err}
			}()
		}
		close(start)
		var winner *Lock
		var losers []error
		for range n {
			o := <-out
			switch {
			case o.err == nil && winner != nil:
				t.Fatalf("round %d: two runs hold the lock: %s and %s", round, winner.Owner(), o.owner)
			case o.err == nil:
				winner = o.lock
			default:
				losers = append(losers, o.err)
			}
		}
		if winner == nil {
			t.Fatalf("round %d: nobody got the lock: %v", round, losers)
		}
		for _, err := range losers {
			var le *LockedError
			if !errors.As(err, &le) || le.Holder.Owner != winner.Owner() || le.Node != "node-1" {
				t.Errorf("round %d: loser's error %v, want a LockedError naming %s on node-1", round, err, winner.Owner())
			}
		}
		for _, f := range fs {
			if li := f.lockOf(); li == nil || li.Owner != winner.Owner() {
				t.Errorf("round %d: %s lock = %+v, want %s", round, f.name, li, winner.Owner())
			}
		}
		if err := winner.Release(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if li := f.lockOf(); li != nil {
				t.Errorf("round %d: %s still locked after release: %+v", round, f.name, li)
			}
		}
	}
}

// With Wait, the second run gets the lock once the first releases it, and
// says once whom it is waiting for.
func TestAcquireLockWaitsForRelease(t *testing.T) {
	hosts, fs := fakeHosts()
	first, err := AcquireLock(context.Background(), hosts, LockOptions{Owner: "apply by ci@runner pid 1"})
	if err != nil {
		t.Fatal(err)
	}
	held := fs[0].lockOf()
	var log progressLog
	got := make(chan error, 1)
	go func() {
		l, err := AcquireLock(context.Background(), hosts, LockOptions{Owner: "sync by cron@ops pid 2", Wait: 10 * time.Second, Progress: log.add})
		if err == nil {
			if li := fs[2].lockOf(); li == nil || li.Owner != "sync by cron@ops pid 2" {
				err = fmt.Errorf("node-3 lock = %+v after the second run got it", li)
			}
			err = errors.Join(err, l.Release(context.Background()))
		}
		got <- err
	}()
	time.Sleep(1500 * time.Millisecond) // long enough for a few retries
	select {
	case err := <-got:
		t.Fatalf("second run finished while the first held the lock: %v", err)
	default:
	}
	released := time.Now()
	if err := first.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("second run got the lock %s after the first released it", time.Since(released).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("second run did not get the lock within 5s of its release")
	}
	want := []string{fmt.Sprintf("waiting for lock held by apply by ci@runner pid 1 since %s (expires in 1m0s) on node-1", held.Acquired.Format(time.RFC3339))}
	if lines := log.get(); strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress:\n got %q\nwant %q", lines, want)
	}
}

func TestAcquireLockGivesUpAfterWait(t *testing.T) {
	hosts, fs := fakeHosts()
	other := rnet.LockInfo{ID: "other", Owner: "sync by cron@ops pid 2", Acquired: time.Now(), Expires: time.Now().Add(time.Minute)}
	fs[0].setLock(other)
	start := time.Now()
	_, err := AcquireLock(context.Background(), hosts, LockOptions{Wait: 700 * time.Millisecond})
	took := time.Since(start)
	var le *LockedError
	if !errors.As(err, &le) || le.Waited < 700*time.Millisecond || le.Holder.ID != "other" {
		t.Fatalf("error %v, want a LockedError after waiting 700ms", err)
	}
	if took > 2*time.Second {
		t.Errorf("gave up after %s, want about 700ms", took)
	}
}

// A lock that one host refuses is given back on the others, so a
// half-taken lock never blocks the holder's peers.
func TestAcquireLockPartialRefusalReleases(t *testing.T) {
	hosts, fs := fakeHosts()
	other := rnet.LockInfo{ID: "other", Owner: "sync by cron@ops pid 2", Acquired: time.Now(), Expires: time.Now().Add(time.Minute)}
	fs[2].setLock(other)
	_, err := AcquireLock(context.Background(), hosts, LockOptions{})
	var le *LockedError
	if !errors.As(err, &le) || le.Node != "node-3" {
		t.Fatalf("error %v, want a LockedError on node-3", err)
	}
	for _, f := range fs[:2] {
		if li := f.lockOf(); li != nil {
			t.Errorf("%s keeps a lock the run gave up: %+v", f.name, li)
		}
	}
	if li := fs[2].lockOf(); li == nil || li.ID != "other" {
		t.Errorf("node-3 lock = %+v, want the other run's", li)
	}
}

func TestAcquireLockHostErrors(t *testing.T) {
	t.Run("host fails", func(t *testing.T) {
		hosts, fs := fakeHosts()
		fs[1].down = true
		_, err := AcquireLock(context.Background(), hosts, LockOptions{})
		if err == nil || err.Error() != "node-2: take the run lock: connection refused" {
			t.Fatalf("error %v", err)
		}
		for _, f := range fs {
			if li := f.lockOf(); li != nil {
				t.Errorf("%s keeps a lock: %+v", f.name, li)
			}
		}
	})
	// "host cannot lock" is gone: Host includes Locker, so such a host no
	// longer compiles.
	t.Run("no hosts", func(t *testing.T) {
		l, err := AcquireLock(context.Background(), map[string]Host{}, LockOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Release(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// A run that stops renewing (killed) loses its lock at the expiry, and a
// waiting run takes it over.
func TestAcquireLockTakesOverAfterExpiry(t *testing.T) {
	hosts, fs := fakeHosts()
	crashed, err := AcquireLock(context.Background(), hosts, LockOptions{Owner: "apply by ci pid 1", TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	close(crashed.stop) // as kill -9: no more renewals, no release
	<-crashed.done
	expires := fs[0].lockOf().Expires
	l, err := AcquireLock(context.Background(), hosts, LockOptions{Owner: "apply by ci pid 2", Wait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(context.Background())
	t.Logf("taken over %s after the expiry", time.Since(expires).Round(time.Millisecond))
	if time.Now().Before(expires) {
		t.Errorf("taken over before the expiry %s", expires)
	}
	for _, f := range fs {
		if li := f.lockOf(); li == nil || li.Owner != "apply by ci pid 2" {
			t.Errorf("%s lock = %+v", f.name, li)
		}
	}
}

// The lock renews itself, so a run longer than the TTL keeps it; when
// another run takes it over anyway, Lost says so.
func TestLockRenewsAndNoticesLoss(t *testing.T) {
	hosts, fs := fakeHosts()
	var log progressLog
	l, err := AcquireLock(context.Background(), hosts, LockOptions{Owner: "apply by ci pid 1", TTL: time.Second, Progress: log.add})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(context.Background())
	time.Sleep(1500 * time.Millisecond)
	if _, err := AcquireLock(context.Background(), hosts, LockOptions{Owner: "apply by ci pid 2"}); err == nil {
		t.Fatal("a second run got the lock after the TTL though the first renews it")
	}
	if l.Lost() || fs[0].lockCalls() < 4 {
		t.Errorf("lost %v after %d lock calls on node-1, want renewals and no loss", l.Lost(), fs[0].lockCalls())
	}
	fs[1].setLock(rnet.LockInfo{ID: "other", Owner: "sync by cron pid 3", Acquired: time.Now(), Expires: time.Now().Add(time.Minute)})
	waitUntil(t, 2*time.Second, l.Lost)
	want := "warning: node-2: lost the lock to sync by cron pid 3; another run may act at the same time"
	if lines := log.get(); len(lines) != 1 || lines[0] != want {
		t.Errorf("progress %q, want %q", lines, want)
	}
	if err := l.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if li := fs[1].lockOf(); li == nil || li.ID != "other" {
		t.Errorf("release removed the other run's lock on node-2: %+v", li)
	}
	if li := fs[0].lockOf(); li != nil {
		t.Errorf("node-1 still locked after release: %+v", li)
	}
}

func waitUntil(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
