package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/resources"
)

// SyncOptions configure a Syncer. Connect and Lock are injected so the
// caller decides how hosts are reached and how the lock is taken.
type SyncOptions struct {
	Source  SourceOptions
	Connect func(ctx context.Context, c *resources.Cluster) (map[string]Host, map[string]error)
	// Lock takes the hosts' lock before a pass changes anything; nil
	// means no lock. nodes is the inventory's size (the lock needs a
	// majority); wait false means give up at once (the daemon's fast path
	// must not queue behind another run). The pass acts under the returned
	// context, which ends when the lock is lost; release gives it back.
	Lock  func(ctx context.Context, hosts map[string]Host, nodes int, wait bool) (context.Context, func(), error)
	Apply ApplyOptions
	Log   *slog.Logger
}

// Pass outcomes.
const (
	OutcomeInSync  = "in-sync"
	OutcomeApplied = "applied"
	OutcomeFailed  = "failed"
	OutcomeLocked  = "locked"
)

// PassReport says what one sync pass found and did.
type PassReport struct {
	Start    time.Time
	Duration time.Duration
	Commit   string // the git commit, or tree-<hash> of a local tree
	Outcome  string
	Calls    int64 // round trips to hosts
	Writes   int64 // changes made on hosts
	Drift    []NodeChange
	Result   *Result // set when the pass applied
	Pods     int     // pods seen
	Ready    int     // of which ready
	Services int
	Err      error
	// EndpointsFile is the endpoints file content the hosts hold after the
	// pass (nil when the pass failed before reading them).
	EndpointsFile []byte
}

// NodeChange is a change on one node, e.g. drift found there.
type NodeChange struct {
	Node string `json:"node"`
	rnet.Change
}

// Syncer converges the hosts again and again. It keeps SSH connections
// between passes, but no state that another runner lacks: whether a pass
// has anything to do is decided from the hosts alone.
type Syncer struct {
	o        SyncOptions
	counters hostCounters

	mu          sync.Mutex
	hosts       map[string]Host
	unreachable map[string]error
	retryAt     map[string]time.Time
	backoff     map[string]time.Duration
	inventory   string // the Cluster's nodes, to notice inventory changes

	// For the daemon's fast path: the last pods seen and what they served.
	last      *Observed
	lastSet   *Desired
	lastAlloc Allocations

	// checkedRev is each host's revision record as the pass's check read
	// it, to notice a run that converged the hosts while the pass waited.
	checkedRev map[string]string

	// loaded is the last desired state fetched, whose manifests the next
	// pass reuses when the remote is at the same commit.
	loaded *Desired
}

func NewSyncer(o SyncOptions) *Syncer {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Syncer{o: o, hosts: map[string]Host{}, unreachable: map[string]error{},
		retryAt: map[string]time.Time{}, backoff: map[string]time.Duration{}}
}

// Close ends every host connection.
func (s *Syncer) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.hosts {
		h.Close()
	}
	s.hosts = map[string]Host{}
}

// Pass fetches the desired state, checks the hosts with one round trip
// each, and applies only when the commit, the pods or the hosts' networking
// differ from what was last converged.
func (s *Syncer) Pass(ctx context.Context) *PassReport {
	rep := &PassReport{Start: time.Now()}
	calls0, writes0 := s.counters.calls.Load(), s.counters.writes.Load()
	defer func() {
		rep.Duration = time.Since(rep.Start)
		rep.Calls = s.counters.calls.Load() - calls0
		rep.Writes = s.counters.writes.Load() - writes0
	}()
	fail := func(err error) *PassReport {
		rep.Outcome, rep.Err = OutcomeFailed, err
		return rep
	}
	s.mu.Lock()
	prev := s.loaded
	s.mu.Unlock()
	d, err := loadDesiredSince(ctx, s.o.Source, prev)
	if err != nil {
		return fail(err)
	}
	s.mu.Lock()
	s.loaded = d
	s.mu.Unlock()
	rep.Commit = revision(d) // the commit, or tree-<hash> for -f
	if err := d.RequireCluster(); err != nil {
		return fail(err)
	}
	s.connect(ctx, d.Cluster)

	idle, err := s.check(ctx, d, rep)
	if err != nil {
		return fail(err)
	}
	if idle {
		rep.Outcome = OutcomeInSync
		return rep
	}
	hosts, unreachable := s.snapshot()
	release, actx := func() {}, ctx
	if s.o.Lock != nil {
		if actx, release, err = s.o.Lock(ctx, hosts, len(d.Cluster.Spec.Nodes), true); err != nil {
			rep.Outcome, rep.Err = OutcomeLocked, err
			return rep
		}
		// The desired state was fetched before the wait. If the source
		// moved on meanwhile (CI pushed and applied a newer commit),
		// applying what we fetched would roll the hosts back: fetch again,
		// and leave it to the next pass when the revision changed.
		if again, err := LoadDesired(ctx, s.o.Source); err == nil && revision(again) != revision(d) {
			release()
			rep.Outcome = OutcomeLocked
			rep.Err = fmt.Errorf("the source moved to %s while this pass waited for the lock; the next pass applies it", revision(again))
			return rep
		}
		// Another run may also have converged the hosts to a revision
		// this source does not have (e.g. another checkout).
		if why := s.movedSinceCheck(ctx, d, hosts); why != "" {
			release()
			rep.Outcome = OutcomeLocked
			rep.Err = fmt.Errorf("another run converged the hosts while this pass waited for the lock (%s); the next pass fetches again", why)
			return rep
		}
	}
	res, err := Apply(actx, d, hosts, unreachable, s.o.Apply)
	// Release before dropping failed hosts: the lock is on them too.
	release()
	rep.Result = res
	if res != nil {
		// Drift that appeared after the check and that apply repaired.
		rep.Drift = mergeDrift(rep.Drift, res.DriftFound)
		s.remember(d, res.final, res.alloc)
		s.dropHosts(res.Unreachable)
		rep.Pods, rep.Ready = countPods(res.final)
		rep.EndpointsFile = res.EndpointsFile
	}
	switch {
	case err != nil:
		return fail(err)
	case res.Err() != nil:
		rep.Outcome, rep.Err = OutcomeFailed, res.Err()
	default:
		rep.Outcome = OutcomeApplied
	}
	return rep
}

func countPods(obs *Observed) (pods, ready int) {
	if obs == nil {
		return 0, 0
	}
	for _, ps := range obs.Pods {
		for _, p := range ps {
			pods++
			if p.Ready {
				ready++
			}
		}
	}
	return pods, ready
}

// check reads every host's status (one call each) and reports whether the
// hosts are exactly what d asks for: no pod to change, the allocations as
// recorded, every host's network config the one it would get, no drift.
func (s *Syncer) check(ctx context.Context, d *Desired, rep *PassReport) (bool, error) {
	if err := d.withClusterDNS(); err != nil {
		return false, err
	}
	hosts, unreachable := s.snapshot()
	obs, applied := observeStatus(ctx, hosts, []string{AllocationsFile, RevisionFile, TemplateHistoryFile})
	s.dropHosts(nodeErrors(obs.Unreachable))
	for n, err := range unreachable {
		obs.Unreachable[n] = err
	}
	obs, foreign := ownPods(obs, d.Source)
	d.recordHistory(obs)

	upkeep := false // host changes that are due but are not drift
	for _, n := range obs.Reachable() {
		for _, c := range rnet.DriftOnly(applied[n].Drift) {
			rep.Drift = append(rep.Drift, NodeChange{Node: n, Change: c})
		}
		upkeep = upkeep || len(applied[n].Drift) > 0
	}
	prev, alloc, err := allocations(d, obs, foreign)
	if err != nil {
		return false, err
	}
	rep.Pods, rep.Ready = countPods(obs)
	rep.Services = len(d.Services)
	s.remember(d, obs, alloc)
	checked := map[string]string{}
	for _, n := range obs.Reachable() {
		checked[n] = string(obs.Files[n][RevisionFile])
	}
	s.mu.Lock()
	s.checkedRev = checked
	s.mu.Unlock()

	actions, statuses := Step(d.Deployments, d.Cluster, obs, s.o.Apply.Prune, true)
	rep.Drift = append(rep.Drift, podDrift(d, obs, actions)...)
	why := ""
	switch {
	case len(obs.Unreachable) > 0:
		why = "unreachable nodes"
	case len(rep.Drift) > 0:
		why = "drift"
	case upkeep:
		why = "host upkeep (hairpin on new bridge ports)"
	case len(actions) > 0:
		why = fmt.Sprintf("%d pod changes", len(actions))
	case len(allocationChanges(prev, alloc)) > 0:
		why = "service allocations"
	}
	for _, st := range statuses {
		if why == "" && !st.Complete {
			why = "deployment " + st.Name + " not available"
		}
	}
	if why == "" && tearsDown(d, foreign, s.o.Apply.Prune) {
		// Removing everything: done once no host records a config (the
		// teardown removes the record last).
		rep.EndpointsFile = desiredNetwork(d, alloc, obs, nil).endpoints
		for _, n := range obs.Reachable() {
			if applied[n].ConfigHash != "" {
				why = "teardown of " + n
				break
			}
		}
	} else if why == "" {
		dn := desiredNetwork(d, alloc, obs, nil)
		rep.EndpointsFile = dn.endpoints
		for _, n := range d.Cluster.Spec.Nodes {
			if rnet.ConfigHash(dn.configs[n.Name]) != applied[n.Name].ConfigHash {
				why = "network config of " + n.Name
				break
			}
		}
	}
	if why != "" {
		s.o.Log.Debug("pass has work", "reason", why)
	}
	return why == "", nil
}

// movedSinceCheck reads the hosts' revision records again and names a host
// that now records a revision that is neither what the check read nor d's.
func (s *Syncer) movedSinceCheck(ctx context.Context, d *Desired, hosts map[string]Host) string {
	s.mu.Lock()
	checked := s.checkedRev
	s.mu.Unlock()
	rev := revision(d) + "\n"
	var mu sync.Mutex
	var why string
	var wg sync.WaitGroup
	for name, h := range hosts {
		wg.Go(func() {
			files, err := h.ReadFiles(ctx, []string{RevisionFile})
			if err != nil {
				return // the apply finds it unreachable and says so
			}
			got := string(files[RevisionFile])
			if got != checked[name] && got != rev {
				mu.Lock()
				why = fmt.Sprintf("%s now records revision %s", name, strings.TrimSpace(got))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return why
}

// mergeDrift adds b's changes that a does not already name.
func mergeDrift(a, b []NodeChange) []NodeChange {
	seen := map[string]bool{}
	for _, c := range a {
		seen[c.Node+" "+c.Kind+" "+c.Target] = true
	}
	for _, c := range b {
		if !seen[c.Node+" "+c.Kind+" "+c.Target] {
			a = append(a, c)
		}
	}
	return a
}

// podDrift reports pod changes as drift when every host was already
// converged to this very revision: the pods were changed by hand.
func podDrift(d *Desired, obs *Observed, actions []Action) []NodeChange {
	rev := revision(d) + "\n"
	for _, n := range obs.Reachable() {
		if string(obs.Files[n][RevisionFile]) != rev {
			return nil
		}
	}
	var drift []NodeChange
	for _, a := range actions {
		c := NodeChange{Node: a.Node, Change: rnet.Change{Kind: "pod", Action: string(a.Kind), Detail: a.Reason}}
		switch a.Kind {
		case ActionDelete:
			c.Target = a.Pod.Namespace + "/" + a.Pod.Name
		case ActionCreate:
			c.Target = a.Namespace + "/" + a.Deployment
			c.Detail = "missing pod (" + a.Reason + ")"
		}
		drift = append(drift, c)
	}
	return drift
}

// remember keeps the last observation for the daemon's fast path.
func (s *Syncer) remember(d *Desired, obs *Observed, alloc Allocations) {
	if obs == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last, s.lastSet, s.lastAlloc = obs, d, alloc
}

func (s *Syncer) snapshot() (map[string]Host, map[string]error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hosts := make(map[string]Host, len(s.hosts))
	for n, h := range s.hosts {
		hosts[n] = h
	}
	unreachable := make(map[string]error, len(s.unreachable))
	for n, e := range s.unreachable {
		unreachable[n] = e
	}
	return hosts, unreachable
}

// dropHosts closes hosts that failed, so the next pass reconnects them.
func (s *Syncer) dropHosts(failed []NodeError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range failed {
		if h, ok := s.hosts[f.Node]; ok {
			h.Close()
			delete(s.hosts, f.Node)
		}
		s.unreachable[f.Node] = errors.New(f.Error)
	}
}

// connect dials nodes that are not connected, each no sooner than its
// backoff allows (1s doubling to 1m), so a host that is down costs little.
func (s *Syncer) connect(ctx context.Context, c *resources.Cluster) {
	key := fmt.Sprint(c.Name, c.Spec.Nodes)
	s.mu.Lock()
	if key != s.inventory {
		for _, h := range s.hosts {
			h.Close()
		}
		s.hosts, s.unreachable = map[string]Host{}, map[string]error{}
		s.retryAt, s.backoff = map[string]time.Time{}, map[string]time.Duration{}
		s.inventory = key
	}
	now := time.Now()
	var todo []resources.Node
	for _, n := range c.Spec.Nodes {
		if _, ok := s.hosts[n.Name]; !ok && !now.Before(s.retryAt[n.Name]) {
			todo = append(todo, n)
		}
	}
	s.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	sub := *c
	sub.Spec.Nodes = todo
	hosts, errs := s.o.Connect(ctx, &sub)
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, h := range hosts {
		s.hosts[n] = countingHost{Host: h, c: &s.counters}
		delete(s.unreachable, n)
		delete(s.backoff, n)
		delete(s.retryAt, n)
	}
	for n, err := range errs {
		s.unreachable[n] = err
		b := min(max(s.backoff[n]*2, time.Second), time.Minute)
		s.backoff[n], s.retryAt[n] = b, now.Add(b)
		s.o.Log.Warn("node unreachable", "node", n, "retry_in", b.String(), "err", err)
	}
}
