package reconcile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	mrand "math/rand/v2"
	"os"
	"os/user"
	"slices"
	"sync"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
)

// Locker is a host that can hold the run lock: a file on the host, so
// runs from different machines (a CI apply, a cron sync) exclude each other
// without a shared service.
type Locker interface {
	Lock(ctx context.Context, req rnet.LockRequest) (*rnet.LockResponse, error)
}

// LockOptions tune AcquireLock.
type LockOptions struct {
	Owner string // shown to runs that find the lock held; default DefaultOwner("reconcile")
	// TTL is how long a host keeps the lock without hearing from us; the
	// lock renews itself every TTL/3, so only a crashed run's lock expires.
	TTL      time.Duration // default 60s
	Wait     time.Duration // how long to wait for a held lock; 0 fails at once
	Progress func(string)  // waiting and warnings (may be nil)
	// Nodes is the size of the inventory. The lock is held only while it
	// is held on a majority of it, so two runners that each reach a
	// different part of the fleet cannot both hold it. Default: the hosts
	// given to AcquireLock.
	Nodes int
}

// DefaultLockTTL is the lock's lifetime without renewal.
const DefaultLockTTL = 60 * time.Second

// LockedError says another run holds the lock.
type LockedError struct {
	Node   string
	Holder rnet.LockInfo
	Waited time.Duration // how long we waited before giving up (0: did not wait)
}

func (e *LockedError) Error() string {
	s := fmt.Sprintf("lock held by %s since %s (expires %s) on %s: ", e.Holder.Owner,
		e.Holder.Acquired.Format(time.RFC3339), e.Holder.Expires.Format(time.RFC3339), e.Node)
	if e.Waited > 0 {
		return s + fmt.Sprintf("another reconcile is still running after waiting %s; retry later or pass a longer --wait-for-lock", e.Waited.Round(time.Second))
	}
	return s + "another reconcile is running; retry later or pass --wait-for-lock 5m"
}

// NoQuorumError says too few hosts could be reached to hold the lock on a
// majority of the inventory.
type NoQuorumError struct {
	Reachable, Nodes int
}

func (e *NoQuorumError) Error() string {
	return fmt.Sprintf("the run lock needs a majority of the cluster's %d nodes (%d), but only %d could be reached: nothing was changed; fix the unreachable nodes or remove them from the inventory",
		e.Nodes, e.Nodes/2+1, e.Reachable)
}

// ErrLockLost ends a run's context when the run no longer holds the lock
// everywhere it took it (it stalled past the TTL and another run took the
// lock over, or a host could not be renewed in time).
var ErrLockLost = errors.New("lost the run lock: another run may be acting on the hosts; this run stopped changing them")

// DefaultOwner names this process for people who find the lock held:
// "apply by ci@runner-3 pid 4711".
func DefaultOwner(cmd string) string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%s by %s@%s pid %d", cmd, name, host, os.Getpid())
}

// Lock is the run lock held on a set of hosts. It renews itself until
// Release.
type Lock struct {
	id, owner string
	ttl       time.Duration
	hosts     map[string]Locker
	progress  func(string)
	quorum    int // hosts the lock must be held on

	stop    chan struct{}
	done    chan struct{}
	lostCh  chan struct{} // closed when the lock is lost
	release sync.Once
	mu      sync.Mutex
	lost    bool
	renewed map[string]time.Time // per host: when it last confirmed the lock
}

// AcquireLock takes the run lock on every host. Hosts that could not be
// reached are not in hosts, so the lock is on the reachable ones. When
// another run holds it, AcquireLock waits up to o.Wait, then returns a
// *LockedError.
//
// The first host by name is taken before the others: two runs that start
// together contend for it first, so one of them wins outright instead of
// each taking some hosts and both backing off.
func AcquireLock(ctx context.Context, hosts map[string]Host, o LockOptions) (*Lock, error) {
	if o.Owner == "" {
		o.Owner = DefaultOwner("reconcile")
	}
	if o.TTL <= 0 {
		o.TTL = DefaultLockTTL
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	if o.Nodes <= 0 {
		o.Nodes = len(hosts)
	}
	quorum := 0
	if o.Nodes > 0 {
		quorum = o.Nodes/2 + 1
	}
	if len(hosts) < quorum {
		return nil, &NoQuorumError{Reachable: len(hosts), Nodes: o.Nodes}
	}
	names := slices.Sorted(maps.Keys(hosts))
	lockers := make(map[string]Locker, len(names))
	for _, n := range names {
		lockers[n] = hosts[n]
	}
	l := &Lock{id: newLockID(), owner: o.Owner, ttl: o.TTL, hosts: lockers, progress: o.Progress, quorum: quorum,
		stop: make(chan struct{}), done: make(chan struct{}), lostCh: make(chan struct{}), renewed: map[string]time.Time{}}

	start := time.Now()
	backoff := 250 * time.Millisecond
	announced := map[string]bool{}
	for {
		sent := time.Now() // the hosts' expiry counts from after this
		refused, err := l.tryAll(ctx, names)
		if err != nil {
			return nil, err
		}
		if refused == nil {
			now := sent
			for _, n := range names {
				l.renewed[n] = now
			}
			go l.renewLoop()
			return l, nil
		}
		waited := time.Since(start)
		if waited >= o.Wait {
			e := &LockedError{Node: refused.node, Holder: refused.res.Holder}
			if o.Wait > 0 {
				e.Waited = waited
			}
			return nil, e
		}
		if h := refused.res.Holder; !announced[h.ID] {
			announced[h.ID] = true
			left := h.Expires.Sub(refused.res.Now).Round(time.Second)
			o.Progress(fmt.Sprintf("waiting for lock held by %s since %s (expires in %s) on %s",
				h.Owner, h.Acquired.Format(time.RFC3339), left, refused.node))
		}
		sleep := backoff/2 + mrand.N(backoff/2+1)
		sleep = min(sleep, o.Wait-waited)
		backoff = min(2*backoff, 2*time.Second)
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for lock held by %s on %s: %w", refused.res.Holder.Owner, refused.node, ctx.Err())
		case <-t.C:
		}
	}
}

// refusal is a host that another run holds the lock on.
type refusal struct {
	node string
	res  *rnet.LockResponse
}

// tryAll takes the lock on the first host, then on the others in parallel.
// When any host refuses or fails, it gives back what it took.
func (l *Lock) tryAll(ctx context.Context, names []string) (*refusal, error) {
	if len(names) == 0 {
		return nil, nil
	}
	req := l.request(rnet.LockAcquire)
	first := names[0]
	res, err := l.hosts[first].Lock(ctx, req)
	if err != nil {
		return nil, &opError{first, "take the run lock", err}
	}
	l.warn(first, res)
	if !res.Held {
		return &refusal{first, res}, nil
	}
	type answer struct {
		res *rnet.LockResponse
		err error
	}
	answers := make([]answer, len(names))
	var wg sync.WaitGroup
	for i, n := range names[1:] {
		wg.Go(func() {
			res, err := l.hosts[n].Lock(ctx, req)
			answers[i+1] = answer{res, err}
		})
	}
	wg.Wait()
	answers[0] = answer{res: res}

	var refused *refusal
	var errs []error
	var held []string
	for i, n := range names {
		a := answers[i]
		switch {
		case a.err != nil:
			errs = append(errs, &opError{n, "take the run lock", a.err})
		case a.res.Held:
			held = append(held, n)
		case refused == nil:
			refused = &refusal{n, a.res}
		}
		if a.err == nil && i > 0 {
			l.warn(n, a.res)
		}
	}
	if refused == nil && len(errs) == 0 {
		return nil, nil
	}
	// Give back what we took so the holder's peers are not blocked by us.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := l.releaseOn(rctx, held); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return refused, nil
}

func (l *Lock) request(op string) rnet.LockRequest {
	return rnet.LockRequest{Op: op, ID: l.id, Owner: l.owner, TTLSeconds: int(math.Ceil(l.ttl.Seconds()))}
}

func (l *Lock) warn(node string, res *rnet.LockResponse) {
	if res.Warning != "" {
		l.progress(fmt.Sprintf("warning: %s: %s", node, res.Warning))
	}
}

func (l *Lock) renewLoop() {
	defer close(l.done)
	every := l.ttl / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), every)
			l.renew(ctx)
			cancel()
		}
	}
}

// renew extends the lock on every host. A host that refuses has had the
// lock taken over (we were silent past the TTL), and one that could not be
// renewed for a whole TTL may have been: either way the run is no longer
// exclusive there, so the lock is lost and the run's context ends.
func (l *Lock) renew(ctx context.Context) {
	var wg sync.WaitGroup
	req := l.request(rnet.LockRenew)
	for n, h := range l.hosts {
		wg.Go(func() {
			sent := time.Now()
			res, err := h.Lock(ctx, req)
			l.mu.Lock()
			defer l.mu.Unlock()
			switch {
			case err == nil && res.Held:
				l.renewed[n] = sent
			case err != nil && time.Since(l.renewed[n]) < l.ttl:
				// Transient: the next renewal may get through before the TTL.
				l.progress(fmt.Sprintf("warning: renew lock: %v", err))
			case err != nil:
				l.loseLocked(fmt.Sprintf("warning: %s: could not renew the lock for %s (%v); another run may act at the same time", n, l.ttl, err))
			default:
				who := "nobody (it was removed)"
				if res.Holder.Owner != "" {
					who = res.Holder.Owner
				}
				l.loseLocked(fmt.Sprintf("warning: %s: lost the lock to %s; another run may act at the same time", n, who))
			}
		})
	}
	wg.Wait()
}

// loseLocked marks the lock lost, once; l.mu is held.
func (l *Lock) loseLocked(msg string) {
	if l.lost {
		return
	}
	l.lost = true
	close(l.lostCh)
	l.progress(msg)
}

// Lost reports whether another run may have taken the lock over on some
// host while this one held it.
func (l *Lock) Lost() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// Context returns a context for the run's work under the lock: it carries
// the lock, whose ID every agent write sends so the host can refuse a run
// that lost its lock, and it ends with cause ErrLockLost once the lock is
// lost, so the run stops acting.
func (l *Lock) Context(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.WithValue(parent, lockKey{}, l))
	go func() {
		select {
		case <-l.lostCh:
			cancel(ErrLockLost)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

type lockKey struct{}

// fenceOf is the ID of the run lock ctx acts under, or "".
func fenceOf(ctx context.Context) string {
	if l, ok := ctx.Value(lockKey{}).(*Lock); ok {
		return l.id
	}
	return ""
}

// checkLease is called before every write the hosts cannot fence (Docker's
// pod creates and deletes): it fails with ErrLockLost when ctx acts under a
// lock that this process can no longer vouch for. A run that stalled (a
// paused VM, SIGSTOP) past most of its TTL may have lost the lock without
// its renewals having noticed yet, so it must not act before they do.
func checkLease(ctx context.Context) error {
	if l, ok := ctx.Value(lockKey{}).(*Lock); ok && l.leaseExpired() {
		return ErrLockLost
	}
	return nil
}

// leaseExpired reports whether some host's lock may have expired: its last
// confirmed renewal is older than the TTL less a margin for clock rate and
// round trips. It marks the lock lost when so.
func (l *Lock) leaseExpired() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost {
		return true
	}
	for n, t := range l.renewed {
		if time.Since(t) >= l.ttl-l.ttl/6 {
			l.loseLocked(fmt.Sprintf("warning: %s: the lock was last renewed %s ago, too close to its %s TTL (this run stalled); another run may act at the same time",
				n, time.Since(t).Round(time.Millisecond), l.ttl))
			return true
		}
	}
	return false
}

// Owner is the owner string the hosts record.
func (l *Lock) Owner() string { return l.owner }

// Release stops the renewals and removes the lock from every host. A host
// where another run has since taken it over is left alone. Safe to call
// more than once.
func (l *Lock) Release(ctx context.Context) error {
	var err error
	l.release.Do(func() {
		close(l.stop)
		<-l.done
		err = l.releaseOn(ctx, slices.Sorted(maps.Keys(l.hosts)))
	})
	return err
}

func (l *Lock) releaseOn(ctx context.Context, names []string) error {
	req := l.request(rnet.LockRelease)
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() {
			if _, err := l.hosts[n].Lock(ctx, req); err != nil {
				errs[i] = fmt.Errorf("%w (it expires by itself after %s)", &opError{n, "release the run lock", err}, l.ttl)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func newLockID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
