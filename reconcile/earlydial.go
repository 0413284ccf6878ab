package reconcile

import (
	"context"
	"slices"
	"sync"

	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// EarlyDial is a dial of the hosts a run expects, started before its
// manifests are loaded so that the SSH handshakes, and the read-only look
// for the agent binary (runtime.Host.CheckAgent), overlap the git fetch
// and the decoding instead of following them. It only connects and reads:
// nothing is installed or written on a host until Connect, which runs after the
// load succeeded, and Connect uses these connections only when the loaded
// inventory names exactly the targets that were dialled (otherwise they
// are closed and the loaded inventory is dialled, as without this).
type EarlyDial struct {
	targets []runtime.Target
	ssh     runtime.SSHOptions
	cancel  context.CancelFunc
	done    chan struct{}

	mu      sync.Mutex
	conns   map[string]*runtime.Host
	errs    map[string]error
	checks  map[string]*runtime.AgentCheck // by node, for the hosts dialled
	adopted bool
}

// StartEarlyDial dials targets in the background with the SSH options of
// o. Nil targets start nothing (and a nil *EarlyDial is valid everywhere).
func StartEarlyDial(ctx context.Context, targets []runtime.Target, o ConnectOptions) *EarlyDial {
	if len(targets) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	e := &EarlyDial{targets: slices.Clone(targets), ssh: o.SSH, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		conns, errs := runtime.DialAll(ctx, e.targets, e.ssh)
		checks := make(map[string]*runtime.AgentCheck, len(conns))
		if o.Agents != nil {
			var mu sync.Mutex
			var wg sync.WaitGroup
			for name, h := range conns {
				wg.Go(func() {
					c := h.CheckAgent(ctx, o.Agents)
					mu.Lock()
					checks[name] = c
					mu.Unlock()
				})
			}
			wg.Wait()
		}
		e.mu.Lock()
		e.conns, e.errs, e.checks = conns, errs, checks
		e.mu.Unlock()
	}()
	return e
}

// adopt hands over the dial's connections when it dialled exactly targets
// with the same SSH options; ok false means the caller dials itself.
func (e *EarlyDial) adopt(targets []runtime.Target, o runtime.SSHOptions) (map[string]*runtime.Host, map[string]error, bool) {
	if e == nil || !slices.Equal(e.targets, targets) || !sameSSHOptions(e.ssh, o) {
		return nil, nil, false
	}
	<-e.done
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.adopted {
		return nil, nil, false
	}
	e.adopted = true
	return e.conns, e.errs, true
}

// check is what the early look found of the agent on node, or nil. Only
// for adopted connections, once the dial is done.
func (e *EarlyDial) check(node string) *runtime.AgentCheck {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.checks[node]
}

// Close stops a dial still under way and closes the connections nobody
// adopted; it waits for the dials, which the cancel ends at once.
func (e *EarlyDial) Close() {
	if e == nil {
		return
	}
	e.cancel()
	<-e.done
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.adopted {
		for _, h := range e.conns {
			h.Close()
		}
		e.adopted = true // nothing left to hand over
	}
}

func sameSSHOptions(a, b runtime.SSHOptions) bool {
	return a.ConfigFile == b.ConfigFile && slices.Equal(a.KeyFiles, b.KeyFiles) &&
		a.KnownHostsFile == b.KnownHostsFile && a.UseAgent == b.UseAgent && a.Timeout == b.Timeout
}

// Targets are what Connect dials for the nodes of c, in inventory order.
func Targets(c *resources.Cluster) []runtime.Target {
	targets := make([]runtime.Target, 0, len(c.Spec.Nodes))
	for _, n := range c.Spec.Nodes {
		targets = append(targets, runtime.Target{Name: n.Name, SSH: n.SSH, DockerHost: n.Docker})
	}
	return targets
}
