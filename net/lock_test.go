package net

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
