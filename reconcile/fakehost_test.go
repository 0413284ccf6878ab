package reconcile

import (
	"context"
	"fmt"
	"sync"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/runtime"
	"github.com/reconcile-dev/reconcile/runtime/agent"
)

// fakeHost is an in-memory Docker host for planning and rollout tests. Pods
// become ready on the poll after they are created unless their image is in
// neverReady.
type fakeHost struct {
	mu         sync.Mutex
	name       string
	subnet     int
	pods       map[string]*runtime.Pod
	seq        int
	network    bool
	neverReady map[string]bool
	configs    []rnet.NodeConfig
	down       bool
	onList     func() // called on every ListPods, e.g. to sample readiness
	drift      []rnet.Change
	events     chan PodEvent
	fenced     bool                          // refuse writes as a host whose lock another run took
	fences     []string                      // the lock id each write carried
	teardowns  int                           // NodeTeardown calls that were not dry runs
	claims     map[string]runtime.Claim      // claim volumes by namespace/name (fakehost_claims_test.go)
	mounts     map[string][]runtime.ClaimRef // pod ID -> the claims it mounts
	claimErr   error                         // EnsureClaim's answer, when set
}

func newFakeHost(name string, subnet int) *fakeHost {
	return &fakeHost{name: name, subnet: subnet, pods: map[string]*runtime.Pod{}, neverReady: map[string]bool{}, events: make(chan PodEvent, 16)}
}

func (f *fakeHost) Name() string { return f.name }
func (f *fakeHost) Close() error { return nil }

func (f *fakeHost) ListPods(context.Context) ([]runtime.Pod, error) {
	if f.onList != nil {
		f.onList()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, fmt.Errorf("connection refused")
	}
	var out []runtime.Pod
	for _, p := range f.pods {
		out = append(out, *p)
		// Promote after being seen once, like a probe passing.
		if p.State == "running" && !p.Ready && !f.neverReady[p.Image] {
			p.Ready = true
		}
	}
	return out, nil
}

func (f *fakeHost) InspectPod(_ context.Context, id string) (runtime.Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.pods[id]; ok {
		return *p, nil
	}
	return runtime.Pod{}, fmt.Errorf("no such pod %s", id)
}

func (f *fakeHost) EnsureNetwork(context.Context, string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	created := !f.network
	f.network = true
	return created, nil
}

func (f *fakeHost) HasNetwork(context.Context, string) (bool, error) { return f.network, nil }

func (f *fakeHost) RemoveNetwork(_ context.Context, dryRun bool) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	had := f.network
	if !dryRun {
		f.network = false
	}
	return had, nil
}

// NodeTeardown forgets the configs, as the agent removes its records.
func (f *fakeHost) NodeTeardown(ctx context.Context, files []string, dryRun bool) (*rnet.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !dryRun && f.fenced {
		return nil, &agent.Error{Node: f.name, Verb: "teardown", Fenced: true, Stderr: "refused: the lock is held by another run"}
	}
	res := &rnet.Result{Node: f.name, Changes: []rnet.Change{}}
	if len(f.configs) > 0 {
		res.Changes = append(res.Changes, rnet.Change{Kind: rnet.KindChain, Action: rnet.ActionDelete, Target: "nat/RECONCILE-SERVICES"})
	}
	if !dryRun {
		f.fences = append(f.fences, fenceOf(ctx))
		f.configs = nil
		f.teardowns++
	}
	return res, nil
}

func (f *fakeHost) CreatePod(_ context.Context, s runtime.PodSpec) (runtime.Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return runtime.Pod{}, fmt.Errorf("connection refused")
	}
	f.seq++
	p := &runtime.Pod{ID: fmt.Sprintf("%s-c%d", f.name, f.seq), Name: s.Name, Namespace: s.Namespace, Source: s.Source,
		Deployment: s.Deployment, TemplateHash: s.TemplateHash, Node: f.name, Image: s.Container.Image,
		IP: fmt.Sprintf("198.18.%d.%d", f.subnet, f.seq+1), Labels: s.Labels, State: "running", Immutable: s.Immutable,
		Created: time.Unix(int64(1000+f.seq), 0)}
	for _, v := range s.Volumes {
		if v.Claim == nil {
			continue
		}
		if _, ok := f.claims[v.Claim.String()]; !ok {
			return runtime.Pod{}, &runtime.PodError{Node: f.name, Pod: s.Name, Reason: runtime.ReasonCreateContainerConfig, Err: fmt.Errorf("claim %s has no volume on %s", v.Claim, f.name)}
		}
		if f.mounts == nil {
			f.mounts = map[string][]runtime.ClaimRef{}
		}
		f.mounts[p.ID] = append(f.mounts[p.ID], *v.Claim)
	}
	f.pods[p.ID] = p
	return *p, nil
}

func (f *fakeHost) DeletePod(_ context.Context, id string, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.pods, id)
	return nil
}

func (f *fakeHost) PodLogs(context.Context, string, int) (string, error) {
	return "listening on :80\nreadiness: failing on purpose", nil
}

func (f *fakeHost) NodeApply(ctx context.Context, c rnet.NodeConfig, dryRun bool) (*rnet.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !dryRun && f.fenced {
		return nil, &agent.Error{Node: f.name, Verb: "apply", Fenced: true,
			Stderr: "refused: the lock is held by sync by cron pid 3 since 2025-03-01T12:00:00Z, not by this run; nothing was changed"}
	}
	if !dryRun {
		f.fences = append(f.fences, fenceOf(ctx))
		f.configs = append(f.configs, c)
	}
	return &rnet.Result{Node: f.name}, nil
}

func (f *fakeHost) ReadFiles(_ context.Context, paths []string) (map[string][]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]byte{}
	if len(f.configs) == 0 {
		return out, nil
	}
	last := f.configs[len(f.configs)-1]
	for _, p := range paths {
		for _, file := range last.Files {
			if file.Path == p {
				out[p] = file.Content
			}
		}
	}
	return out, nil
}

// readyCounts returns, per deployment template hash, how many ready pods
// the host has.
func (f *fakeHost) podsOf(dep string) []runtime.Pod {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []runtime.Pod
	for _, p := range f.pods {
		if p.Deployment == dep {
			out = append(out, *p)
		}
	}
	return out
}
