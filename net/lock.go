package net

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/reconcile-dev/reconcile/internal/atomicfile"
)

// DefaultLockFile is where a host keeps the lock of the run acting on it.
const DefaultLockFile = "/var/lib/reconcile/state/lock"

// Lock operations.
const (
	LockAcquire = "acquire"
	LockRenew   = "renew"
	LockRelease = "release"
)

// LockRequest is what `reconcile node lock` reads on stdin.
type LockRequest struct {
	Op         string `json:"op"`    // acquire, renew or release
	ID         string `json:"id"`    // random per run: who holds it, for renew and release
	Owner      string `json:"owner"` // for people: "apply by ci@runner-3 pid 4711"
	TTLSeconds int    `json:"ttlSeconds,omitempty"`
	Path       string `json:"path,omitempty"` // default DefaultLockFile
}

// LockInfo is the content of a lock file. Times are the host's, so clock
// skew between the machines reconcile runs on does not matter.
type LockInfo struct {
	ID       string    `json:"id"`
	Owner    string    `json:"owner"`
	Acquired time.Time `json:"acquired"`
	Expires  time.Time `json:"expires"`
}

// LockResponse is what `reconcile node lock` writes on stdout.
type LockResponse struct {
	Held   bool     `json:"held"`            // the requester holds the lock now
	Holder LockInfo `json:"holder,omitzero"` // who holds it, when not the requester
	// Now is the host's clock, so a caller can tell how long Holder has left
	// without trusting its own clock.
	Now time.Time `json:"now"`
	// Warning reports an unreadable lock file that was taken over.
	Warning string `json:"warning,omitempty"`
}

// LockAgent reads a LockRequest as JSON, applies it and writes the
// LockResponse as JSON.
func LockAgent(_ context.Context, in io.Reader, out io.Writer) error {
	var req LockRequest
	if err := json.NewDecoder(in).Decode(&req); err != nil {
		return fmt.Errorf("read lock request from stdin: %w", err)
	}
	path := req.Path
	if path == "" {
		path = DefaultLockFile
	}
	res, err := applyLock(path, req, time.Now())
	if err != nil {
		return err
	}
	if err := json.NewEncoder(out).Encode(res); err != nil {
		return fmt.Errorf("write lock response: %w", err)
	}
	return nil
}

// applyLock does one lock operation as an atomic read-modify-write: an
// flock on a sibling file serializes the agents of concurrent runs, and
// the lock file itself is replaced atomically so a crash never leaves half
// of one. The sibling is never removed: removing it would let two agents
// hold flocks on different inodes.
//
// A lock whose expiry has passed is free: that is how the lock of a run that
// was killed is taken over. A lock file that cannot be parsed is free too
// (with a warning), since nobody could ever release it.
func applyLock(path string, req LockRequest, now time.Time) (LockResponse, error) {
	res := LockResponse{Now: now}
	if err := checkLockRequest(path, req); err != nil {
		return res, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return res, fmt.Errorf("lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path+".flock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return res, fmt.Errorf("lock %s: %w", path, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return res, fmt.Errorf("lock %s: flock: %w", path, err)
	}
	// Closing f drops the flock.

	cur, present, err := readLock(path)
	if err != nil {
		res.Warning = err.Error()
		present = false
	}
	ours := present && cur.ID == req.ID
	free := !present || !now.Before(cur.Expires)

	switch req.Op {
	case LockRelease:
		if ours {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return res, fmt.Errorf("release lock %s: %w", path, err)
			}
		} else if present && !free {
			res.Holder = cur
		}
		return res, nil
	case LockRenew:
		if !ours {
			// Expired and taken over, or released by hand: the run no
			// longer holds it and must not grab it back unseen.
			if present && !free {
				res.Holder = cur
			}
			return res, nil
		}
	case LockAcquire:
		if !ours && !free {
			res.Holder = cur
			return res, nil
		}
	}
	next := LockInfo{ID: req.ID, Owner: req.Owner, Acquired: now, Expires: now.Add(time.Duration(req.TTLSeconds) * time.Second)}
	if ours {
		next.Acquired = cur.Acquired
	}
	b, err := json.Marshal(next)
	if err != nil {
		return res, err
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o644); err != nil {
		return res, fmt.Errorf("lock %s: write: %w", path, err)
	}
	res.Held = true
	return res, nil
}

func checkLockRequest(path string, req LockRequest) error {
	var errs []error
	switch req.Op {
	case LockAcquire, LockRenew:
		if req.TTLSeconds < 1 {
			errs = append(errs, fmt.Errorf("lock %s: ttlSeconds %d: want at least 1", req.Op, req.TTLSeconds))
		}
	case LockRelease:
	default:
		errs = append(errs, fmt.Errorf("lock: op %q: want acquire, renew or release", req.Op))
	}
	if req.ID == "" {
		errs = append(errs, fmt.Errorf("lock %s: id is required", req.Op))
	}
	if !filepath.IsAbs(path) {
		errs = append(errs, fmt.Errorf("lock %s: path %q must be absolute", req.Op, path))
	}
	return errors.Join(errs...)
}

// readLock returns the lock in path and whether there is one. An error
// means the file exists but is not a lock reconcile wrote.
func readLock(path string) (LockInfo, bool, error) {
	var li LockInfo
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return li, false, nil
	}
	if err != nil {
		return li, false, fmt.Errorf("lock file %s unreadable (%v); treated as free", path, err)
	}
	if err := json.Unmarshal(b, &li); err != nil || li.ID == "" || li.Expires.IsZero() {
		return LockInfo{}, false, fmt.Errorf("lock file %s is not a reconcile lock (%q); treated as free", path, truncateBytes(b, 80))
	}
	return li, true, nil
}

func truncateBytes(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
