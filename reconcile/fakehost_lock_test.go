package reconcile

import (
	"context"
	"fmt"
	"sync"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
)

// fakeLocks is each fake host's lock, in memory, with the agent's rules:
// free when absent or expired, renewed and released only by its ID.
var fakeLocks = struct {
	sync.Mutex
	m     map[*fakeHost]*rnet.LockInfo
	calls map[*fakeHost]int
}{m: map[*fakeHost]*rnet.LockInfo{}, calls: map[*fakeHost]int{}}

func (f *fakeHost) Lock(_ context.Context, req rnet.LockRequest) (*rnet.LockResponse, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return nil, fmt.Errorf("connection refused")
	}
	fakeLocks.Lock()
	defer fakeLocks.Unlock()
	fakeLocks.calls[f]++
	now := time.Now()
	res := &rnet.LockResponse{Now: now}
	cur := fakeLocks.m[f]
	ours := cur != nil && cur.ID == req.ID
	held := cur != nil && now.Before(cur.Expires)
	switch {
	case req.Op == rnet.LockRelease:
		if ours {
			delete(fakeLocks.m, f)
		}
		return res, nil
	case ours, req.Op == rnet.LockAcquire && !held:
		next := &rnet.LockInfo{ID: req.ID, Owner: req.Owner, Acquired: now, Expires: now.Add(time.Duration(req.TTLSeconds) * time.Second)}
		if ours {
			next.Acquired = cur.Acquired
		}
		fakeLocks.m[f] = next
		res.Held = true
	case held:
		res.Holder = *cur
	}
	return res, nil
}

// lockOf returns who holds the fake host's lock, or nil.
func (f *fakeHost) lockOf() *rnet.LockInfo {
	fakeLocks.Lock()
	defer fakeLocks.Unlock()
	if li := fakeLocks.m[f]; li != nil {
		c := *li
		return &c
	}
	return nil
}

// setLock puts a lock on the fake host as another run would.
func (f *fakeHost) setLock(li rnet.LockInfo) {
	fakeLocks.Lock()
	defer fakeLocks.Unlock()
	fakeLocks.m[f] = &li
}

func (f *fakeHost) lockCalls() int {
	fakeLocks.Lock()
	defer fakeLocks.Unlock()
	return fakeLocks.calls[f]
}
