package cli

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/reconcile"
)

// lockHost answers lock requests only; the rest of Host is not called.
type lockHost struct {
	reconcile.Host
	mu     sync.Mutex
	holder *rnet.LockInfo
	ops    []string
}

func (h *lockHost) Lock(_ context.Context, req rnet.LockRequest) (*rnet.LockResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, req.Op)
	if h.holder != nil {
		return &rnet.LockResponse{Holder: *h.holder, Now: h.holder.Acquired}, nil
	}
	return &rnet.LockResponse{Held: req.Op != rnet.LockRelease}, nil
}

func TestTakeLock(t *testing.T) {
	held := &rnet.LockInfo{ID: "other", Owner: "sync by cron@ops-1 pid 7",
		Acquired: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Expires: time.Date(2025, 3, 1, 12, 1, 0, 0, time.UTC)}
	tests := []struct {
		name     string
		holder   *rnet.LockInfo
		wantCode int
		wantErr  string
		wantOps  []string
	}{
		{name: "free", wantOps: []string{"acquire", "release"}},
		{name: "held", holder: held, wantCode: ExitLocked, wantOps: []string{"acquire"},
			wantErr: "lock held by sync by cron@ops-1 pid 7 since 2025-03-01T12:00:00Z (expires 2025-03-01T12:01:00Z) on node-1: another reconcile is running; retry later or pass --wait-for-lock 5m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &lockHost{holder: tc.holder}
			ios, _, errOut := Test()
			_, release, err := takeLock(context.Background(), ios, map[string]reconcile.Host{"node-1": h}, 1, "apply", 0, time.Minute)
			if code := exitCode(err); code != tc.wantCode {
				t.Fatalf("exit code %d (%v), want %d", code, err, tc.wantCode)
			}
			if err != nil && err.Error() != tc.wantErr {
				t.Errorf("error\n got %s\nwant %s", err, tc.wantErr)
			}
			if err == nil {
				release()
			}
			if got, want := strings.Join(h.ops, " "), strings.Join(tc.wantOps, " "); got != want {
				t.Errorf("lock ops %q, want %q", got, want)
			}
			if errOut.Len() > 0 {
				t.Errorf("stderr: %q", errOut.String())
			}
		})
	}
}

func TestLockFlagsRejected(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"apply", "-f", examples, "--wait-for-lock", "-1s"}, "error: --wait-for-lock -1s: must not be negative\nSee 'reconcile apply --help'.\n"},
		{[]string{"apply", "-f", examples, "--lock-ttl", "500ms"}, "error: --lock-ttl 500ms: must be at least 1s\nSee 'reconcile apply --help'.\n"},
	}
	for _, tc := range tests {
		t.Run(tc.args[len(tc.args)-2], func(t *testing.T) {
			ios, out, errOut := Test()
			if code := Run(tc.args, ios); code != ExitError {
				t.Errorf("exit %d, want %d", code, ExitError)
			}
			if out.Len() > 0 || errOut.String() != tc.want {
				t.Errorf("stdout %q\nstderr %q\nwant   %q", out.String(), errOut.String(), tc.want)
			}
		})
	}
}
