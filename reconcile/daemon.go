package reconcile

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/reconcile-dev/reconcile/runtime"
)

// Run passes every interval until ctx ends. Between passes it watches each
// host's Docker events: a pod that dies or turns unhealthy leaves every
// host's VIP rules and endpoints file at once (fastRemove), and a pass
// follows right away to start its replacement.
func (s *Syncer) Run(ctx context.Context, interval time.Duration, report func(*PassReport)) {
	events := make(chan PodEvent, 256)
	go s.watch(ctx, events)
	next := time.NewTimer(0)
	defer next.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-next.C:
			report(s.Pass(ctx))
			next.Reset(interval)
		case e := <-events:
			if e.gone() {
				s.fastRemove(ctx, e)
			}
			// Debounce bursts (a rollout emits many events) into one pass.
			next.Reset(300 * time.Millisecond)
		}
	}
}

// watch keeps one event stream per connected host, restarting a stream
// that ended after a backoff, with the host's current connection.
func (s *Syncer) watch(ctx context.Context, out chan<- PodEvent) {
	var mu sync.Mutex
	active := map[Host]bool{}
	retry := map[string]time.Time{}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		hosts, _ := s.snapshot()
		now := time.Now()
		for name, h := range hosts {
			mu.Lock()
			skip := active[h] || now.Before(retry[name])
			if !skip {
				active[h] = true
			}
			mu.Unlock()
			if skip {
				continue
			}
			go func(name string, h Host) {
				events, errs := h.Events(ctx)
				for e := range events {
					select {
					case out <- e:
					case <-ctx.Done():
						return
					}
				}
				err := <-errs
				mu.Lock()
				delete(active, h)
				retry[name] = time.Now().Add(2 * time.Second)
				mu.Unlock()
				if ctx.Err() == nil {
					s.o.Log.Warn("event stream ended; reconnecting", "node", name, "err", err)
				}
			}(name, h)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// fastRemove takes a pod that stopped serving out of every host's rules and
// endpoints file, in one round trip per host after a fresh read. It takes
// the lock without waiting: a run holding it converges anyway.
//
// It never writes state older than what the hosts record: the daemon's
// last observation may be of an older commit than a run (CI) applied
// since, so under the lock it reads the hosts again and only acts when
// every host records the revision the daemon last converged to; it then
// removes the pod from the hosts' current pods and allocations, not from
// its own memory of them. Otherwise the pass that follows converges.
func (s *Syncer) fastRemove(ctx context.Context, e PodEvent) {
	start := time.Now()
	s.mu.Lock()
	last, d := s.last, s.lastSet
	s.mu.Unlock()
	if last == nil || d == nil || !last.serving(e.ID) {
		return
	}
	s.mu.Lock()
	s.last = last.without(e.ID)
	s.mu.Unlock()
	hosts, _ := s.snapshot()
	if s.o.Lock != nil {
		lctx, release, err := s.o.Lock(ctx, hosts, len(d.Cluster.Spec.Nodes), false)
		if err != nil {
			s.o.Log.Info("pod gone; another run holds the lock and will update endpoints", "node", e.Node, "pod", e.Pod, "event", e.Action)
			return
		}
		defer release()
		ctx = lctx
	}
	fresh, _ := ownPods(observe(ctx, hosts, []string{AllocationsFile, RevisionFile, TemplateHistoryFile}), d.Source)
	d.recordHistory(fresh)
	if why := staleFor(d, fresh); why != "" {
		s.o.Log.Info("pod gone; the hosts moved on since the last pass, leaving it to the next pass", "node", e.Node, "pod", e.Pod, "event", e.Action, "reason", why)
		return
	}
	alloc, err := recordedAllocations(fresh)
	if err != nil {
		s.o.Log.Warn("pod gone; allocation records disagree, leaving it to the next pass", "err", err)
		return
	}
	obs := fresh.without(e.ID)
	dn := desiredNetwork(d, alloc, obs, nil)
	var wg sync.WaitGroup
	for _, n := range d.Cluster.Spec.Nodes {
		h, ok := hosts[n.Name]
		if !ok || obs.Pods[n.Name] == nil {
			continue // not read under the lock: not written either
		}
		cfg := dn.configs[n.Name]
		wg.Go(func() {
			if _, err := h.NodeApply(ctx, cfg, false); err != nil {
				s.o.Log.Warn("removing a dead pod from endpoints", "node", h.Name(), "err", err)
			}
		})
	}
	wg.Wait()
	s.o.Log.Info("pod left the endpoints", "node", e.Node, "pod", e.Pod, "event", e.Action, "took", time.Since(start).Round(time.Millisecond).String())
}

// staleFor says why d must not be written over the hosts as obs found them
// ("" when it may): a host could not be read, or records another revision
// than d (a newer run converged it, or an interrupted one half did).
func staleFor(d *Desired, obs *Observed) string {
	if len(obs.Unreachable) > 0 {
		return "a host could not be read"
	}
	// A node missing from the daemon's connections (its event stream
	// reconnecting) is not unreachable, yet unread: endpoints computed
	// without its pods would drop them from every other host.
	for _, n := range d.Cluster.Spec.Nodes {
		if _, ok := obs.Pods[n.Name]; !ok {
			return n.Name + " was not read"
		}
	}
	rev := revision(d) + "\n"
	for _, n := range obs.Reachable() {
		if got := string(obs.Files[n][RevisionFile]); got != rev {
			return n + " records revision " + strings.TrimSpace(got) + ", not " + strings.TrimSpace(rev)
		}
	}
	return ""
}

// serving reports whether pod id is live in o; once fastRemove took it out,
// the events that follow (die after kill, destroy) have nothing to do.
func (o *Observed) serving(id string) bool {
	for _, ps := range o.Pods {
		for _, p := range ps {
			if p.Holds(id) {
				return isLive(p)
			}
		}
	}
	return false
}

// without returns a copy of o in which pod id no longer serves.
func (o *Observed) without(id string) *Observed {
	c := &Observed{Pods: map[string][]runtime.Pod{}, Claims: o.Claims, Files: o.Files, Unreachable: o.Unreachable}
	for n, ps := range o.Pods {
		cp := make([]runtime.Pod, len(ps))
		copy(cp, ps)
		for i := range cp {
			if cp[i].Holds(id) {
				cp[i].State, cp[i].Ready = "exited", false
			}
		}
		c.Pods[n] = cp
	}
	return c
}
