package net

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestApplyLock(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	other := &LockInfo{ID: "other", Owner: "sync by cron@ops-1 pid 7", Acquired: t0.Add(-10 * time.Second), Expires: t0.Add(50 * time.Second)}
	expired := &LockInfo{ID: "other", Owner: "apply by ci@runner pid 9", Acquired: t0.Add(-2 * time.Minute), Expires: t0.Add(-time.Second)}
	expiresNow := &LockInfo{ID: "other", Owner: "apply by ci@runner pid 9", Acquired: t0.Add(-time.Minute), Expires: t0}
	mine := &LockInfo{ID: "me", Owner: "apply by me@laptop pid 1", Acquired: t0.Add(-20 * time.Second), Expires: t0.Add(40 * time.Second)}
	mineExpired := &LockInfo{ID: "me", Owner: "apply by me@laptop pid 1", Acquired: t0.Add(-2 * time.Minute), Expires: t0.Add(-time.Second)}
	acquire := LockRequest{Op: LockAcquire, ID: "me", Owner: "apply by me@laptop pid 1", TTLSeconds: 60}
	renew := LockRequest{Op: LockRenew, ID: "me", Owner: "apply by me@laptop pid 1", TTLSeconds: 60}
	release := LockRequest{Op: LockRelease, ID: "me"}
	granted := &LockInfo{ID: "me", Owner: "apply by me@laptop pid 1", Acquired: t0, Expires: t0.Add(time.Minute)}
	renewed := &LockInfo{ID: "me", Owner: "apply by me@laptop pid 1", Acquired: mine.Acquired, Expires: t0.Add(time.Minute)}

	tests := []struct {
		name     string
		existing *LockInfo
		raw      *string // existing file content instead of a LockInfo
		req      LockRequest
		want     LockResponse
		wantFile *LockInfo // nil: no lock file afterwards
		wantRaw  *string   // the file is left as it was
	}{
		{name: "acquire when absent", req: acquire, want: LockResponse{Held: true}, wantFile: granted},
		{name: "acquire held by another", existing: other, req: acquire, want: LockResponse{Holder: *other}, wantFile: other},
		{name: "acquire takes over an expired lock", existing: expired, req: acquire, want: LockResponse{Held: true}, wantFile: granted},
		{name: "acquire at the expiry instant takes over", existing: expiresNow, req: acquire, want: LockResponse{Held: true}, wantFile: granted},
		{name: "acquire with our id renews and keeps the start", existing: mine, req: acquire, want: LockResponse{Held: true}, wantFile: renewed},
		{name: "renew ours", existing: mine, req: renew, want: LockResponse{Held: true}, wantFile: renewed},
		{name: "renew ours after expiry while nobody took it", existing: mineExpired, req: renew, want: LockResponse{Held: true},
			wantFile: &LockInfo{ID: "me", Owner: mine.Owner, Acquired: mineExpired.Acquired, Expires: t0.Add(time.Minute)}},
		{name: "renew after takeover fails", existing: other, req: renew, want: LockResponse{Holder: *other}, wantFile: other},
		{name: "renew when gone fails and does not grab it", req: renew, want: LockResponse{}},
		{name: "renew of an expired other lock does not grab it", existing: expired, req: renew, want: LockResponse{}, wantFile: expired},
		{name: "release ours", existing: mine, req: release, want: LockResponse{}},
		{name: "release by another id is a no-op", existing: other, req: release, want: LockResponse{Holder: *other}, wantFile: other},
		{name: "release when absent", req: release, want: LockResponse{}},
		{name: "corrupt file is taken over with a warning", raw: ptr("{\"id\":"), req: acquire,
			want:     LockResponse{Held: true, Warning: `lock file LOCK is not a reconcile lock ("{\"id\":"); treated as free`},
			wantFile: granted},
		{name: "empty file is taken over with a warning", raw: ptr(""), req: acquire,
			want:     LockResponse{Held: true, Warning: `lock file LOCK is not a reconcile lock (""); treated as free`},
			wantFile: granted},
		{name: "corrupt file is not released", raw: ptr("garbage"), req: release,
			want:    LockResponse{Warning: `lock file LOCK is not a reconcile lock ("garbage"); treated as free`},
			wantRaw: ptr("garbage")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state", "lock")
			switch {
			case tc.existing != nil:
				writeLockFile(t, path, *tc.existing)
			case tc.raw != nil:
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, []byte(*tc.raw), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := applyLock(path, tc.req, t0)
			if err != nil {
				t.Fatal(err)
			}
			got.Warning = strings.ReplaceAll(got.Warning, path, "LOCK")
			tc.want.Now = t0
			if !lockResponseEqual(got, tc.want) {
				t.Errorf("response:\n got %+v\nwant %+v", got, tc.want)
			}
			b, err := os.ReadFile(path)
			switch {
			case tc.wantRaw != nil:
				if string(b) != *tc.wantRaw {
					t.Errorf("lock file = %q, want it untouched (%q)", b, *tc.wantRaw)
				}
			case tc.wantFile == nil:
				if err == nil {
					t.Errorf("lock file left behind: %s", b)
				}
			default:
				var li LockInfo
				if err := json.Unmarshal(b, &li); err != nil {
					t.Fatalf("lock file %q: %v", b, err)
				}
				if !lockInfoEqual(li, *tc.wantFile) {
					t.Errorf("lock file:\n got %+v\nwant %+v", li, *tc.wantFile)
				}
			}
		})
	}
}

func TestApplyLockRejectsBadRequests(t *testing.T) {
	tests := []struct {
		name string
		path string
		req  LockRequest
		want string
	}{
		{"unknown op", "/x/lock", LockRequest{Op: "steal", ID: "a"}, `lock: op "steal": want acquire, renew or release`},
		{"no id", "/x/lock", LockRequest{Op: LockRelease}, `lock release: id is required`},
		{"no ttl", "/x/lock", LockRequest{Op: LockAcquire, ID: "a"}, `lock acquire: ttlSeconds 0: want at least 1`},
		{"relative path", "lock", LockRequest{Op: LockRelease, ID: "a"}, `lock release: path "lock" must be absolute`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := applyLock(tc.path, tc.req, time.Now())
			if err == nil || err.Error() != tc.want {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

// Many agents racing for one lock file: exactly one is granted it.
func TestApplyLockConcurrentAcquire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	const n = 16
	var wg sync.WaitGroup
	held := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("run-%d", i)
			res, err := applyLock(path, LockRequest{Op: LockAcquire, ID: id, Owner: id, TTLSeconds: 60}, time.Now())
			if err != nil {
				t.Error(err)
				return
			}
			if res.Held {
				held <- id
			} else if res.Holder.ID == "" {
				t.Errorf("%s refused without a holder", id)
			}
		}()
	}
	wg.Wait()
	close(held)
	var winners []string
	for id := range held {
		winners = append(winners, id)
	}
	if len(winners) != 1 {
		t.Fatalf("winners = %v, want exactly one", winners)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `"id":"`+winners[0]+`"`) {
		t.Errorf("lock file %s does not name the winner %s", b, winners[0])
	}
}

func writeLockFile(t *testing.T, path string, li LockInfo) {
	t.Helper()
	b, _ := json.Marshal(li)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func lockInfoEqual(a, b LockInfo) bool {
	return a.ID == b.ID && a.Owner == b.Owner && a.Acquired.Equal(b.Acquired) && a.Expires.Equal(b.Expires)
}

func lockResponseEqual(a, b LockResponse) bool {
	return a.Held == b.Held && lockInfoEqual(a.Holder, b.Holder) && a.Now.Equal(b.Now) && a.Warning == b.Warning
}

// The lock's directory is root's alone and its files are 0600: a user who
// can open the flock sibling, even read-only, can flock it and block every
// run (issue 9 item 8).
func TestLockFilesPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lock")
	if err := os.MkdirAll(dir, 0o755); err != nil { // as an older version left it
		t.Fatal(err)
	}
	path := filepath.Join(dir, "lock")
	if err := os.WriteFile(path+".flock", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := applyLock(path, LockRequest{Op: LockAcquire, ID: "a", Owner: "a", TTLSeconds: 60}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want os.FileMode
	}{{dir, 0o700 | os.ModeDir}, {path, 0o600}, {path + ".flock", 0o600}} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != tc.want {
			t.Errorf("%s: mode %v, want %v", tc.path, fi.Mode(), tc.want)
		}
	}
}

// A process that holds the flock (here: on a read-only fd, as any user who
// can open the file could) does not hang the agent: the wait ends with ctx.
func TestLockWaitIsBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	if err := os.WriteFile(path+".flock", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path + ".flock")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := lockOp(ctx, path, LockRequest{Op: LockAcquire, ID: "a", Owner: "a", TTLSeconds: 60}, time.Now())
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "another process holds "+path+".flock") {
			t.Errorf("error %v, want one naming the held flock", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("gave up after %s, want about 300ms", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the lock operation still waits for the flock after 5s")
	}
}

// Fenced lets a write through only for the run that holds the lock now.
func TestFenced(t *testing.T) {
	now := time.Now()
	live := LockInfo{ID: "a", Owner: "apply by ci pid 1", Acquired: now.Add(-time.Minute), Expires: now.Add(time.Minute)}
	expired := LockInfo{ID: "a", Owner: "apply by ci pid 1", Acquired: now.Add(-2 * time.Minute), Expires: now.Add(-time.Minute)}
	other := LockInfo{ID: "b", Owner: "sync by cron pid 2", Acquired: now.Add(-time.Minute), Expires: now.Add(time.Minute)}
	tests := []struct {
		name    string
		lock    *LockInfo
		id      string
		wantErr string
	}{
		{name: "holder writes", lock: &live, id: "a"},
		{name: "no lock, no run", id: ""},
		{name: "taken over", lock: &other, id: "a",
			wantErr: "refused: the lock is held by sync by cron pid 2 since " + other.Acquired.Format(time.RFC3339) + ", not by this run; nothing was changed"},
		{name: "expired", lock: &expired, id: "a",
			wantErr: "refused: the run's lock a is no longer held on this host (expired or released); nothing was changed"},
		{name: "released", id: "a",
			wantErr: "refused: the run's lock a is no longer held on this host (expired or released); nothing was changed"},
		{name: "by hand while a run holds it", lock: &other, id: "",
			wantErr: "refused: the lock is held by sync by cron pid 2 since " + other.Acquired.Format(time.RFC3339) + ", not by this run; nothing was changed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lock")
			if tc.lock != nil {
				writeLockFile(t, path, *tc.lock)
			}
			wrote := false
			err := Fenced(context.Background(), path, tc.id, func() error { wrote = true; return nil })
			if got := errString(err); got != tc.wantErr {
				t.Errorf("error %q, want %q", got, tc.wantErr)
			}
			var fe *FenceError
			if wrote != (tc.wantErr == "") || (err != nil && !errors.As(err, &fe)) {
				t.Errorf("wrote %v, error %T", wrote, err)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
