package reconcile

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// ApplyOptions tune a run.
type ApplyOptions struct {
	Prune bool // delete managed pods the repo no longer declares
	// PruneVolumes deletes the volumes of PersistentVolumeClaims the repo
	// no longer declares (with Prune); without it they are only reported.
	PruneVolumes bool
	AllowEmpty   bool             // let prune delete every workload when the repo declares no Deployment
	Parallel     int              // pod changes at once per host (default 8)
	PollInterval time.Duration    // how often to look again while waiting (default 500ms)
	Progress     func(Event)      // called as things happen (may be nil)
	Now          func() time.Time // for tests
	// CreateBackoff is the wait before a pod that dockerd refused (e.g. its
	// image cannot be pulled) is tried again; it doubles on each failure,
	// and after maxCreateAttempts the Deployment's rollout halts (default 1s).
	CreateBackoff time.Duration
	// RollbackOnFailure rolls a Deployment that misses its progress
	// deadline back to the previous template the hosts recorded
	// (rollback.go); the run still fails with the rollout's error.
	RollbackOnFailure bool
}

// maxCreateAttempts is how often a Deployment's pods may be refused in a
// row before its rollout halts, like kubelet giving up into ImagePullBackOff
// (but a run must end, so it reports instead of waiting forever).
const maxCreateAttempts = 3

// Event is one step of progress, for the CLI's display and logs.
type Event struct {
	Node   string
	Object string // e.g. pod/my-nginx-5c7b9f8d7-x2x7q
	Action string // create, delete, network, rules, wait, ready, halted
	Detail string
}

// Result is what a run did and where it stands.
type Result struct {
	Changes     int                `json:"changes"` // pod, network and rule changes made
	Drift       int                `json:"drift"`   // host-side changes found that the repo did not cause
	DriftFound  []NodeChange       `json:"driftFound,omitempty"`
	Deployments []DeploymentStatus `json:"deployments"`
	Failures    []RolloutFailure   `json:"failures,omitempty"`
	Unreachable []NodeError        `json:"unreachable,omitempty"`
	Rollbacks   []Rollback         `json:"rollbacks,omitempty"` // --rollback-on-failure
	// Claims are the claim volumes of claims no longer declared: kept, or
	// deleted with PruneVolumes (claims.go).
	Claims []ClaimChange `json:"claims,omitempty"`

	// EndpointsFile is the endpoints file content the hosts were left with.
	EndpointsFile []byte `json:"-"`

	final *Observed   // the pods as the run left them
	alloc Allocations // the allocations it converged to
}

// RolloutFailure says why a Deployment did not become available in time.
type RolloutFailure struct {
	Namespace  string `json:"namespace"`
	Deployment string `json:"deployment"`
	Pod        string `json:"pod,omitempty"`
	Node       string `json:"node,omitempty"`
	Reason     string `json:"reason"`         // e.g. readiness probe httpGet http://:80/healthz failing
	Logs       string `json:"logs,omitempty"` // the container's last log lines
}

// Err summarizes failures as an error (nil when the run fully succeeded):
// a *RolloutError when a Deployment failed, else an *UnreachableError when
// a node could not be reached.
func (r *Result) Err() error {
	var parts []string
	for _, f := range r.Failures {
		if f.Pod == "" {
			parts = append(parts, fmt.Sprintf("deployment %s/%s: %s", f.Namespace, f.Deployment, f.Reason))
			continue
		}
		parts = append(parts, fmt.Sprintf("deployment %s/%s: pod %s on %s: %s", f.Namespace, f.Deployment, f.Pod, f.Node, f.Reason))
	}
	for _, rb := range r.Rollbacks {
		parts = append(parts, rb.String())
	}
	for _, u := range r.Unreachable {
		parts = append(parts, "unreachable: "+u.String())
	}
	switch {
	case len(r.Failures) > 0:
		return &RolloutError{Failures: r.Failures, msg: strings.Join(parts, "\n")}
	case len(r.Unreachable) > 0:
		return &UnreachableError{Nodes: r.Unreachable, msg: strings.Join(parts, "\n")}
	}
	return nil
}

// runner holds one apply's working state.
type runner struct {
	d        *Desired
	hosts    map[string]Host
	o        ApplyOptions
	alloc    Allocations
	res      *Result
	mu       sync.Mutex
	unreach  map[string]error
	lastNet  map[string]string // per node: ConfigHash of the config last converged
	progress map[string]progressMark
	halted   map[string]bool
	fenced   error // a host refused a write: this run's lock was taken over
	started  bool  // a pod was created: its bridge port needs hairpin mode
	// refused counts, per Deployment, pods dockerd refused in a row; a
	// refused pod is that Deployment's problem, never its host's.
	refused map[string]*refusedCreates
	// hostPaths are, per node, the hostPaths its agent refused or could
	// not make in the last network apply: the pods that mount them fail
	// (hostPathRefused), the node does not.
	hostPaths map[string][]rnet.HostPathProblem
	// unschedulable are the Deployments with pods that fit no node, from
	// the last Step: recorded as Pending pods for `get pods`.
	unschedulable []DeploymentStatus
	unschedSince  map[string]time.Time
	rolledBack    map[string]bool // Deployments this run rolled back (rollback.go)
	// lastDN is the desired network syncNetwork last computed with no
	// pods skipped or created, for the observation and desired state it
	// was computed from, with each node's ConfigHash (desiredFor).
	lastDN *reusedNet
}

// reusedNet is a desired network and what it was computed from.
type reusedNet struct {
	obs  *Observed
	d    *Desired
	dn   desiredNet
	sums map[string]string // node -> ConfigHash of its config
}

// refusedCreates is a Deployment whose pods dockerd refused to create.
type refusedCreates struct {
	attempts int
	retryAt  time.Time
	last     *runtime.PodError
	node     string
	since    time.Time
}

type progressMark struct {
	sig   string
	since time.Time
}

// Apply converges the hosts to d. It returns once every Deployment is
// available, a rollout exceeded its progress deadline, or ctx ends. Hosts
// that cannot be reached are reported in the result and their pods are
// recreated on the others.
func Apply(ctx context.Context, d *Desired, hosts map[string]Host, unreachable map[string]error, o ApplyOptions) (*Result, error) {
	if err := d.RequireCluster(); err != nil {
		return nil, err
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 500 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress == nil {
		o.Progress = func(Event) {}
	}
	if o.CreateBackoff <= 0 {
		o.CreateBackoff = time.Second
	}
	p, err := prepare(ctx, d, hosts)
	if err != nil {
		return nil, err
	}
	if o.Prune && !o.AllowEmpty {
		if e := checkEmptyPrune(d, p.obs, p.prev); e != nil {
			return nil, e
		}
	}
	r := &runner{d: d, hosts: map[string]Host{}, o: o, alloc: p.alloc, res: &Result{},
		unreach: map[string]error{}, lastNet: map[string]string{}, progress: map[string]progressMark{}, halted: map[string]bool{},
		refused: map[string]*refusedCreates{}, rolledBack: map[string]bool{}}
	for n, err := range unreachable {
		r.unreach[n] = err
	}
	for n, h := range hosts {
		r.hosts[n] = h
	}
	r.dropUnreachable(p.obs.Unreachable)
	if len(allocationChanges(p.prev, p.alloc)) > 0 {
		r.res.Changes++
	}

	teardown := tearsDown(d, p.foreign, o.Prune)
	if !teardown {
		r.ensureNetworks(ctx)
	}
	obs := p.obs
	var readiness readyTracker
	for {
		readiness.note(obs, r.o.Now())
		if len(r.hosts) == 0 {
			// Nowhere to run pods: waiting for a progress deadline would
			// only delay the error.
			return r.finish(nil), fmt.Errorf("%w: no node of cluster %s could be reached or used", ErrNoHosts, d.Cluster.Name)
		}
		// r.d, not d: a rollback replaces a Deployment's template (rollback.go).
		actions, statuses := Step(r.d.Deployments, d.Cluster, obs, o.Prune, false)
		r.noteUnschedulable(statuses)
		actions = r.withoutHalted(actions)
		skip := map[string]bool{}
		for _, a := range actions {
			if a.Kind == ActionDelete {
				skip[a.Pod.ID] = true
			}
		}
		// Rules first: a pod leaves every VIP before it is deleted, and a pod
		// that became ready starts taking traffic. A teardown writes rules
		// only while it has pods to delete: on clean hosts it makes none.
		if !teardown || len(actions) > 0 {
			r.syncNetwork(ctx, obs, skip, actions, false)
		}
		if err := r.lockLost(ctx); err != nil {
			return r.finish(statuses), err
		}
		if err := r.execute(ctx, actions); err != nil {
			return r.finish(statuses), err
		}
		if len(actions) == 0 {
			if r.settled(ctx, obs, statuses) {
				r.res.Deployments = statuses
				break
			}
			select {
			case <-ctx.Done():
				if err := r.lockLost(ctx); err != nil {
					return r.finish(statuses), err
				}
				r.timeoutFailures(ctx, obs, statuses)
				return r.finish(statuses), &RolloutError{Failures: r.res.Failures, msg: "timed out waiting for rollout: " + ctx.Err().Error()}
			case <-time.After(o.PollInterval):
			}
		}
		obs, _ = ownPods(observe(ctx, r.hosts, nil), d.Source)
		r.dropUnreachable(obs.Unreachable)
	}
	if teardown {
		// The pods are gone: remove what held them (teardown.go).
		r.teardownNetworks(ctx)
		r.res.EndpointsFile = desiredNetwork(d, r.alloc, obs, nil).endpoints
	} else {
		// Converge once more at the end: pods started in this run have new
		// bridge ports that need hairpin mode even when no rule changed. A
		// run that started none sends only configs that changed since it
		// sent them (with 2,000 Services, a second `node apply` per host
		// for nothing).
		r.res.EndpointsFile = r.syncNetwork(ctx, obs, nil, nil, r.started)
	}
	r.pruneClaims(ctx, obs)
	if err := r.lockLost(ctx); err != nil {
		return r.finish(r.res.Deployments), err
	}
	r.res.final, r.res.alloc = obs, r.alloc
	return r.finish(r.res.Deployments), nil
}

// lockLost says why the run must stop acting, if it must: its lock was
// lost (ctx ended with ErrLockLost) or a host refused its write.
func (r *runner) lockLost(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fenced != nil {
		return fmt.Errorf("%w (%v)", ErrLockLost, r.fenced)
	}
	if err := context.Cause(ctx); errors.Is(err, ErrLockLost) {
		return err
	}
	return nil
}

func (r *runner) finish(statuses []DeploymentStatus) *Result {
	r.res.Deployments = statuses
	r.res.Unreachable = nodeErrors(r.unreach)
	return r.res
}

// dropUnreachable stops using hosts that failed. Their connections stay
// open: the caller owns them, and may still need one (a host whose dockerd
// is down may still answer over SSH, e.g. to release the run's lock).
func (r *runner) dropUnreachable(m map[string]error) {
	for n, err := range m {
		r.unreach[n] = err
		delete(r.hosts, n)
	}
}

func (r *runner) event(e Event) { r.o.Progress(e) }

func (r *runner) markUnreachable(node string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unreach[node] = err
}

// ensureNetworks creates the pod network on every reachable node, in parallel.
func (r *runner) ensureNetworks(ctx context.Context) {
	r.onEachHost(func(n resources.Node, h Host) {
		created, err := h.EnsureNetwork(ctx, n.PodCIDR)
		if err != nil {
			r.markUnreachable(n.Name, err)
			return
		}
		if created {
			r.mu.Lock()
			r.res.Changes++
			r.mu.Unlock()
			r.event(Event{Node: n.Name, Object: "network/" + runtime.PodNetwork, Action: "create", Detail: n.PodCIDR})
		}
	})
}

// onEachHost runs fn for every node the run still uses, all at once, then
// drops the nodes fn marked unreachable.
func (r *runner) onEachHost(fn func(n resources.Node, h Host)) {
	var wg sync.WaitGroup
	for _, n := range r.d.Cluster.Spec.Nodes {
		if h, ok := r.hosts[n.Name]; ok {
			wg.Go(func() { fn(n, h) })
		}
	}
	wg.Wait()
	r.dropUnreachable(r.unreachCopy())
}

func (r *runner) unreachCopy() map[string]error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string]error{}
	for n, e := range r.unreach {
		m[n] = e
	}
	return m
}

// syncNetwork converges every reachable node's routes, rules and files to
// the observed pods, and returns the endpoints file content they now hold.
// Unless forced, it skips a node whose desired config has not changed
// since this run last converged it.
// creates are the pods about to be created: their hosts get their
// volumes first.
func (r *runner) syncNetwork(ctx context.Context, obs *Observed, skip map[string]bool, creates []Action, force bool) []byte {
	reused := r.desiredFor(obs, skip, creates)
	dn := reused.dn
	pending := r.pending()
	var wg sync.WaitGroup
	for _, n := range r.d.Cluster.Spec.Nodes {
		h, ok := r.hosts[n.Name]
		if !ok {
			continue
		}
		cfg := dn.configs[n.Name]
		if pending != nil {
			cfg = withPending(cfg, pending)
		}
		// ConfigHash, not the JSON: files count by digest, so a 2 MB
		// endpoints file is not encoded again per node.
		sum, ok := reused.sums[n.Name]
		if pending != nil || !ok {
			sum = rnet.ConfigHash(cfg)
		}
		if pending == nil {
			reused.sums[n.Name] = sum
		}
		r.mu.Lock()
		same := r.lastNet[n.Name] == sum
		r.mu.Unlock()
		if same && !force {
			continue
		}
		wg.Go(func() {
			res, err := h.NodeApply(ctx, cfg, false)
			if err != nil {
				r.agentFailed(ctx, n.Name, err) // a fenced write stops the run
				return
			}
			r.mu.Lock()
			r.lastNet[n.Name] = sum
			if r.hostPaths == nil {
				r.hostPaths = map[string][]rnet.HostPathProblem{}
			}
			r.hostPaths[n.Name] = res.HostPathProblems
			r.res.Changes += len(res.Changes)
			if res.Drift {
				r.res.Drift += len(rnet.DriftOnly(res.Changes))
				for _, c := range rnet.DriftOnly(res.Changes) {
					r.res.DriftFound = append(r.res.DriftFound, NodeChange{Node: n.Name, Change: c})
				}
			}
			r.mu.Unlock()
			for _, c := range res.Changes {
				r.event(Event{Node: n.Name, Object: c.Kind + "/" + c.Target, Action: c.Action, Detail: c.Detail})
			}
			for _, w := range res.Warnings { // e.g. host search domains a pod resolv.conf omits
				r.event(Event{Node: n.Name, Object: "node/" + n.Name, Action: "warning", Detail: w})
			}
		})
	}
	wg.Wait()
	r.dropUnreachable(r.unreachCopy())
	return dn.endpoints
}

// desiredFor is desiredNetworkFor for the run's desired state and
// allocations. With no pods skipped or created, it reuses the last such
// result for the same observation and desired state: a run that changed no
// pod ends with a pass over the observation its first pass used, and at
// 2,000 Services computing that network again is tens of milliseconds.
func (r *runner) desiredFor(obs *Observed, skip map[string]bool, creates []Action) *reusedNet {
	plain := len(skip) == 0 && len(creates) == 0
	if plain && r.lastDN != nil && r.lastDN.obs == obs && r.lastDN.d == r.d {
		return r.lastDN
	}
	rn := &reusedNet{obs: obs, d: r.d, dn: desiredNetworkFor(r.d, r.alloc, obs, skip, creates), sums: map[string]string{}}
	if plain {
		r.lastDN = rn
	}
	return rn
}

// execute deletes, then creates, with bounded parallelism. A node that
// fails is marked unreachable; the next observation reschedules its pods.
func (r *runner) execute(ctx context.Context, actions []Action) error {
	if len(actions) == 0 {
		return nil
	}
	// Every pod of a namespace gets the same discovery variables.
	envs := map[string][]string{}
	for _, a := range actions {
		if _, ok := envs[a.Namespace]; !ok && a.Kind == ActionCreate {
			envs[a.Namespace] = serviceEnv(r.d.Services, r.alloc, a.Namespace)
		}
	}
	deps := map[string]*resources.Deployment{}
	for _, d := range r.d.Deployments {
		deps[key(d.Namespace, d.Name)] = d
	}
	for _, kind := range []ActionKind{ActionDelete, ActionCreate} {
		// Each host gets its own Parallel slots, as each has its own dockerd:
		// a host whose pulls or creates are slow must not hold the slots of
		// the others.
		perHost := map[string][]Action{}
		for _, a := range actions {
			if _, ok := r.hosts[a.Node]; ok && a.Kind == kind {
				perHost[a.Node] = append(perHost[a.Node], a)
			}
		}
		var wg sync.WaitGroup
		for node, list := range perHost {
			h := r.hosts[node]
			wg.Go(func() {
				g, gctx := errgroup.WithContext(ctx)
				g.SetLimit(r.o.Parallel)
				for _, a := range list {
					g.Go(func() error {
						r.executeOne(ctx, gctx, h, a, deps[key(a.Namespace, a.Deployment)], envs[a.Namespace])
						return nil
					})
				}
				g.Wait()
			})
		}
		wg.Wait()
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
	}
	r.dropUnreachable(r.unreachCopy())
	r.haltRefused(ctx)
	return nil
}

// executeOne deletes or creates one pod, and notes a refusal as the pod's
// and any other failure as its host's.
func (r *runner) executeOne(ctx, gctx context.Context, h Host, a Action, d *resources.Deployment, env []string) {
	var err error
	switch a.Kind {
	case ActionDelete:
		err = r.deletePod(gctx, h, a, d)
	case ActionCreate:
		err = r.createPod(gctx, h, a, d, env)
	}
	var pe *runtime.PodError
	switch {
	case err == nil || ctx.Err() != nil:
	case errors.As(err, &pe):
		r.createRefused(a, pe)
	default:
		r.markUnreachable(a.Node, err)
	}
}

// createRefused notes a pod dockerd refused; the Deployment waits out a
// backoff before its next create, and its host stays in use.
func (r *runner) createRefused(a Action, pe *runtime.PodError) {
	r.mu.Lock()
	k := key(a.Namespace, a.Deployment)
	rc := r.refused[k]
	if rc == nil {
		rc = &refusedCreates{}
		r.refused[k] = rc
	}
	rc.attempts++
	if rc.since.IsZero() {
		rc.since = r.o.Now().UTC().Truncate(time.Second)
	}
	rc.retryAt = r.o.Now().Add(r.o.CreateBackoff << (rc.attempts - 1))
	rc.last, rc.node = pe, a.Node
	r.mu.Unlock()
	r.event(Event{Node: a.Node, Object: "pod/" + pe.Pod, Action: "failed", Detail: pe.Reason + ": " + pe.Err.Error()})
}

// haltRefused halts the rollouts whose pods were refused too often, with
// the pod, its node and dockerd's answer as the failure.
func (r *runner) haltRefused(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.d.Deployments {
		k := key(d.Namespace, d.Name)
		rc := r.refused[k]
		if rc == nil || rc.attempts < maxCreateAttempts || r.halted[k] {
			continue
		}
		r.halted[k] = true
		f := RolloutFailure{Namespace: d.Namespace, Deployment: d.Name, Pod: rc.last.Pod, Node: rc.node,
			Reason: fmt.Sprintf("%s (%d attempts): %s", rc.last.Reason, rc.attempts, rc.last.Err)}
		r.res.Failures = append(r.res.Failures, f)
		r.event(Event{Node: rc.node, Object: "pod/" + rc.last.Pod, Action: "halted", Detail: f.Reason})
	}
	sort.Slice(r.res.Failures, func(i, j int) bool { return r.res.Failures[i].Pod < r.res.Failures[j].Pod })
}

func (r *runner) deletePod(ctx context.Context, h Host, a Action, d *resources.Deployment) error {
	grace := resources.DefaultGracePeriodSeconds * time.Second
	if d != nil {
		grace = d.Spec.Template.Spec.GracePeriod()
	}
	if !isLive(a.Pod) {
		grace = 0
	}
	r.event(Event{Node: a.Node, Object: "pod/" + a.Pod.Name, Action: "delete", Detail: a.Reason})
	if err := h.DeletePod(ctx, a.Pod.ID, grace); err != nil {
		return err // runtime names the node and the pod
	}
	r.mu.Lock()
	r.res.Changes++
	r.mu.Unlock()
	return nil
}

func (r *runner) createPod(ctx context.Context, h Host, a Action, d *resources.Deployment, env []string) error {
	tmpl := d.Spec.Template
	spec := runtime.PodSpec{
		Cluster: r.d.Cluster.Name, Source: r.d.Source, Namespace: d.Namespace, Deployment: d.Name, TemplateHash: a.TemplateHash,
		Name: runtime.PodName(d.Name, a.TemplateHash), Labels: tmpl.Labels, Annotations: tmpl.Annotations,
		Container: tmpl.Spec.Containers[0], Containers: tmpl.Spec.Containers, InitContainers: tmpl.Spec.InitContainers, ExtraEnv: env,
		TerminationGracePeriod: tmpl.Spec.GracePeriod(), InitDeadline: d.ProgressDeadline(),
		Security: tmpl.Spec.SecurityContext,
	}
	spec.ResolvConf, _ = podResolvConf(r.d.Cluster, d)
	spec.Volumes, spec.Env = podVolumes(r.d, d), podEnv(r.d, d, spec.Name, a.Node)
	spec.SpecHash, spec.ConfigHashes = d.SpecHash(), d.ConfigHashes()
	spec.Immutable = r.d.ImmutableRecord(d)
	spec.PullSecrets = r.d.PullSecrets(d)
	if err := r.hostPathRefused(a.Node, d, spec.Name); err != nil {
		return err
	}
	if err := r.ensureClaims(ctx, h, a, d, spec.Name); err != nil {
		return err
	}
	pod, err := h.CreatePod(ctx, spec)
	if err != nil {
		return err // runtime names the node and the pod
	}
	r.mu.Lock()
	r.res.Changes++
	r.started = true
	delete(r.refused, key(a.Namespace, a.Deployment))
	r.mu.Unlock()
	r.event(Event{Node: a.Node, Object: "pod/" + spec.Name, Action: "create", Detail: fmt.Sprintf("%s, IP %s (%s)", a.Image, pod.IP, a.Reason)})
	for _, w := range pod.Warnings {
		r.event(Event{Node: a.Node, Object: "pod/" + spec.Name, Action: "warning", Detail: w})
	}
	return nil
}

// hostPathRefused is a pod's refusal when its node's agent refused (or
// could not make) one of its hostPaths: the pod is not created, as a
// kubelet's failed mount keeps its pod from starting.
func (r *runner) hostPathRefused(node string, d *resources.Deployment, pod string) error {
	r.mu.Lock()
	problems := r.hostPaths[node]
	r.mu.Unlock()
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.HostPath == nil {
			continue
		}
		for _, p := range problems {
			if p.Path == path.Clean(v.HostPath.Path) {
				return &runtime.PodError{Node: node, Pod: pod, Reason: runtime.ReasonCreateContainerConfig,
					Err: fmt.Errorf("create pod %s: %s: volume %q: hostPath %s: %s", pod, node, v.Name, p.Path, p.Problem)}
			}
		}
	}
	return nil
}

// settled reports whether every Deployment is available or halted; it halts
// rollouts that made no progress within their deadline.
func (r *runner) settled(ctx context.Context, obs *Observed, statuses []DeploymentStatus) bool {
	now := r.o.Now()
	done := true
	for i, st := range statuses {
		k := key(st.Namespace, st.Name)
		if st.Complete || r.halted[k] {
			continue
		}
		if r.haltUnschedulable(st) {
			continue
		}
		done = false
		sig := fmt.Sprintf("%d/%d/%d", st.Updated, st.Ready, st.Old)
		m, ok := r.progress[k]
		if !ok || m.sig != sig {
			r.progress[k] = progressMark{sig: sig, since: now}
			continue
		}
		d := r.d.Deployments[i]
		deadline := d.ProgressDeadline()
		if now.Sub(m.since) >= deadline {
			r.recordFailures(ctx, d, obs, fmt.Sprintf("progress deadline exceeded (%s)", deadline))
			if !r.rollBack(i) {
				r.halted[k] = true
			}
		}
	}
	r.rollbacksDone(statuses)
	return done || r.allHalted(statuses)
}

func (r *runner) allHalted(statuses []DeploymentStatus) bool {
	for _, st := range statuses {
		if !st.Complete && !r.halted[key(st.Namespace, st.Name)] {
			return false
		}
	}
	return true
}

// withoutHalted drops the actions of halted rollouts, and the creates of
// Deployments whose pods dockerd refused until their backoff has passed.
func (r *runner) withoutHalted(actions []Action) []Action {
	now := r.o.Now()
	out := actions[:0:0]
	for _, a := range actions {
		k := key(a.Namespace, a.Deployment)
		if r.halted[k] {
			continue
		}
		r.mu.Lock()
		rc := r.refused[k]
		r.mu.Unlock()
		if a.Kind == ActionCreate && rc != nil && now.Before(rc.retryAt) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// timeoutFailures records why each unfinished Deployment was not done when
// --timeout ended the run.
func (r *runner) timeoutFailures(ctx context.Context, obs *Observed, statuses []DeploymentStatus) {
	for i, st := range statuses {
		if !st.Complete && !r.halted[key(st.Namespace, st.Name)] {
			r.recordFailures(context.WithoutCancel(ctx), r.d.Deployments[i], obs, "timed out")
		}
	}
}

// recordFailures names each pod of the current template that is not ready,
// with its probe and last log lines, so the user sees why without SSH.
func (r *runner) recordFailures(ctx context.Context, d *resources.Deployment, obs *Observed, why string) {
	hash := d.TemplateHash()
	found := false
	for _, node := range obs.Reachable() {
		for _, p := range obs.Pods[node] {
			if p.Namespace != d.Namespace || p.Deployment != d.Name || p.TemplateHash != hash || p.Ready {
				continue
			}
			found = true
			f := RolloutFailure{Namespace: d.Namespace, Deployment: d.Name, Pod: p.Name, Node: node,
				Reason: fmt.Sprintf("%s: %s", why, notReadyReason(p, d.Spec.Template.Spec.Containers[0]))}
			if h, ok := r.hosts[node]; ok {
				lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				f.Logs, _ = h.PodLogs(lctx, p.ID, 10)
				cancel()
			}
			r.res.Failures = append(r.res.Failures, f)
			r.event(Event{Node: node, Object: "pod/" + p.Name, Action: "halted", Detail: f.Reason})
		}
	}
	if !found {
		r.res.Failures = append(r.res.Failures, RolloutFailure{Namespace: d.Namespace, Deployment: d.Name, Reason: why + ": not enough pods could be created"})
	}
	sort.Slice(r.res.Failures, func(i, j int) bool { return r.res.Failures[i].Pod < r.res.Failures[j].Pod })
}

func notReadyReason(p runtime.Pod, c resources.Container) string {
	switch {
	case p.State != "running":
		return fmt.Sprintf("container %s (exit code %d)", p.State, p.ExitCode)
	case c.ReadinessProbe != nil:
		return "readiness probe " + describeProbe(c.ReadinessProbe) + " failing (health: " + orDash(p.Health) + ")"
	}
	return "not ready"
}

func describeProbe(pr *resources.Probe) string {
	switch {
	case pr.HTTPGet != nil:
		return fmt.Sprintf("httpGet %s://:%s%s", strings.ToLower(orDefault(pr.HTTPGet.Scheme, "HTTP")), pr.HTTPGet.Port.String(), orDefault(pr.HTTPGet.Path, "/"))
	case pr.TCPSocket != nil:
		return "tcpSocket :" + pr.TCPSocket.Port.String()
	case pr.Exec != nil:
		return fmt.Sprintf("exec %q", strings.Join(pr.Exec.Command, " "))
	}
	return "(none)"
}

func orDash(s string) string { return orDefault(s, "-") }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
