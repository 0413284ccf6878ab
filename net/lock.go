package net

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/reconcile-dev/reconcile/internal/atomicfile"
)

// DefaultLockFile is where a host keeps the lock of the run acting on it.
// Its directory is root's alone (0700): a user who could open the flock
// sibling, even read-only, could flock it and block every run forever.
const DefaultLockFile = "/var/lib/reconcile/lock/lock"

// LockWait bounds how long one lock operation waits for the flock that
// serializes the agents of concurrent runs. Each operation holds it for
// milliseconds, so a longer wait means something else holds it: give up
// and say so rather than hang.
const LockWait = 10 * time.Second

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

// ApplyLock does one lock operation of `reconcile node lock` on this host.
// Waiting for a concurrent agent is bounded by LockWait and ends with ctx.
func ApplyLock(ctx context.Context, req LockRequest) (LockResponse, error) {
	path := req.Path
	if path == "" {
		path = DefaultLockFile
	}
	return lockOp(ctx, path, req, time.Now())
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
	return lockOp(context.Background(), path, req, now)
}

func lockOp(ctx context.Context, path string, req LockRequest, now time.Time) (LockResponse, error) {
	res := LockResponse{Now: now}
	if err := checkLockRequest(path, req); err != nil {
		return res, err
	}
	f, err := openFlock(ctx, path, syscall.LOCK_EX)
	if err != nil {
		return res, err
	}
	defer f.Close() // drops the flock

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
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return res, fmt.Errorf("lock: %w", err)
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

// openFlock opens path's flock sibling and takes the flock (LOCK_EX or
// LOCK_SH). The directory is made root-only first. The wait is a poll,
// not a blocking flock(2): it ends with ctx or after LockWait, so neither
// a stuck peer nor a hostile one can hold the agent (and SIGTERM) hostage.
func openFlock(ctx context.Context, path string, how int) (*os.File, error) {
	if err := privateDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path+".flock", os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// A sibling made by an older version was 0644.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	ctx, cancel := context.WithTimeout(ctx, LockWait)
	defer cancel()
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: flock: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: another process holds %s.flock (waited %s): %w; find it with fuser %s.flock",
				path, path, LockWait, context.Cause(ctx), path)
		case <-time.After(delay):
		}
	}
}

// privateDir makes dir exist as a directory only its owner, this process's
// user (root on a host), can enter.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case ok && int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%s belongs to uid %d, not %d: remove it so reconcile can make its own", dir, st.Uid, os.Geteuid())
	case fi.Mode().Perm()&0o077 != 0:
		return os.Chmod(dir, 0o700)
	}
	return nil
}

// FenceError is a write refused because the run sending it does not hold
// this host's lock (any more): another run took it over.
type FenceError struct {
	ID     string   // the run's lock ID, as sent
	Holder LockInfo // who holds it now; zero when nobody does
}

func (e *FenceError) Error() string {
	if e.Holder.ID == "" {
		return fmt.Sprintf("refused: the run's lock %s is no longer held on this host (expired or released); nothing was changed", e.ID)
	}
	return fmt.Sprintf("refused: the lock is held by %s since %s, not by this run; nothing was changed",
		e.Holder.Owner, e.Holder.Acquired.Format(time.RFC3339))
}

// Fenced runs write while holding a shared flock on the lock file, and only
// when the run whose lock ID is id holds the lock: a run that lost its lock
// to another (it stalled past the TTL) cannot write over the other's state.
// The lock cannot change hands during write, since taking it needs the
// exclusive flock. An empty id is a write outside any run (by hand): it is
// refused only while some run holds the lock.
func Fenced(ctx context.Context, path, id string, write func() error) error {
	if path == "" {
		path = DefaultLockFile
	}
	f, err := openFlock(ctx, path, syscall.LOCK_SH)
	if err != nil {
		return err
	}
	defer f.Close()
	cur, present, _ := readLock(path)
	live := present && time.Now().Before(cur.Expires)
	switch {
	case id != "" && (!live || cur.ID != id):
		if !live {
			cur = LockInfo{}
		}
		return &FenceError{ID: id, Holder: cur}
	case id == "" && live:
		return &FenceError{Holder: cur}
	}
	return write()
}
