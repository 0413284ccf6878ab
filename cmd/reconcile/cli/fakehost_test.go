package cli

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/reconcile"
	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// fakeFleet stands in for the SSH hosts of a Cluster, so commands run
// in-process against in-memory hosts. Its fields say how the hosts fail.
type fakeFleet struct {
	hosts       map[string]*fakeHost
	unreachable map[string]bool // SSH fails
	noDocker    bool            // every host answers SSH but not Docker
	neverReady  bool            // pods never become ready
	holder      *rnet.LockInfo  // another run holds the lock
	files       map[string][]byte
}

// fleetMu guards the fleets' host maps (test tables copy fleets by value).
var fleetMu sync.Mutex

// use puts the fleet in place of SSH for the test.
func (f *fakeFleet) use(t interface{ Cleanup(func()) }) {
	old, oldEarly := connectHosts, startEarlyDial
	connectHosts = f.connect
	// A fake inventory's addresses must never be dialled for real.
	startEarlyDial = func(context.Context, []runtime.Target, reconcile.ConnectOptions) *reconcile.EarlyDial { return nil }
	t.Cleanup(func() { connectHosts, startEarlyDial = old, oldEarly })
}

func (f *fakeFleet) connect(_ context.Context, c *resources.Cluster, _ reconcile.ConnectOptions) (map[string]reconcile.Host, map[string]error) {
	fleetMu.Lock()
	defer fleetMu.Unlock()
	if f.hosts == nil {
		f.hosts = map[string]*fakeHost{}
	}
	hosts, errs := map[string]reconcile.Host{}, map[string]error{}
	for i, n := range c.Spec.Nodes {
		if f.unreachable[n.Name] {
			errs[n.Name] = fmt.Errorf("%s: ssh %s: dial tcp: connect: connection refused", n.Name, n.SSH)
			continue
		}
		h := f.hosts[n.Name]
		if h == nil {
			h = &fakeHost{fleet: f, name: n.Name, subnet: i + 1, pods: map[string]*runtime.Pod{}, files: map[string][]byte{}}
			for p, b := range f.files {
				h.files[p] = b
			}
			f.hosts[n.Name] = h
		}
		hosts[n.Name] = h
	}
	return hosts, errs
}

type fakeHost struct {
	fleet  *fakeFleet
	mu     sync.Mutex
	name   string
	subnet int
	seq    int
	pods   map[string]*runtime.Pod
	files  map[string][]byte
	last   *rnet.NodeConfig
	lock   *rnet.LockInfo
	claims []runtime.Claim // fakehost_claims_test.go
}

func (h *fakeHost) Name() string { return h.name }
func (h *fakeHost) Close() error { return nil }

func (h *fakeHost) docker() error {
	if h.fleet.noDocker {
		return fmt.Errorf("%s: list pods: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", h.name)
	}
	return nil
}

func (h *fakeHost) ListPods(context.Context) ([]runtime.Pod, error) {
	if err := h.docker(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []runtime.Pod
	for _, p := range h.pods {
		out = append(out, *p)
	}
	return out, nil
}

func (h *fakeHost) InspectPod(_ context.Context, id string) (runtime.Pod, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p, ok := h.pods[id]; ok {
		return *p, nil
	}
	return runtime.Pod{}, fmt.Errorf("%s: inspect pod %s: no such container", h.name, id)
}

func (h *fakeHost) EnsureNetwork(context.Context, string) (bool, error) { return false, h.docker() }
func (h *fakeHost) HasNetwork(context.Context, string) (bool, error)    { return true, h.docker() }
func (h *fakeHost) RemoveNetwork(context.Context, bool) (bool, error)   { return false, h.docker() }

func (h *fakeHost) CreatePod(_ context.Context, s runtime.PodSpec) (runtime.Pod, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	p := &runtime.Pod{ID: fmt.Sprintf("%s-c%d", h.name, h.seq), Name: s.Name, Namespace: s.Namespace,
		Deployment: s.Deployment, TemplateHash: s.TemplateHash, Node: h.name, Image: s.Container.Image,
		IP: fmt.Sprintf("198.18.%d.%d", h.subnet, h.seq+1), Labels: s.Labels, State: "running",
		Ready: !h.fleet.neverReady, Created: time.Unix(int64(1000+h.seq), 0)}
	h.pods[p.ID] = p
	return *p, nil
}

func (h *fakeHost) DeletePod(_ context.Context, id string, _ time.Duration) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.pods, id)
	return nil
}

func (h *fakeHost) PodLogs(context.Context, string, int) (string, error) { return "", nil }

func (h *fakeHost) Events(ctx context.Context) (<-chan reconcile.PodEvent, <-chan error) {
	errs := make(chan error, 1)
	go func() { <-ctx.Done(); errs <- ctx.Err() }()
	return nil, errs
}

func (h *fakeHost) NodeApply(_ context.Context, c rnet.NodeConfig, dryRun bool) (*rnet.Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	res := &rnet.Result{Node: h.name, Changes: []rnet.Change{}}
	if h.last == nil || rnet.ConfigHash(*h.last) != rnet.ConfigHash(c) {
		res.Changes = append(res.Changes, rnet.Change{Kind: "rules", Target: "nat", Action: "update"})
	}
	if !dryRun {
		h.last = &c
		for _, f := range c.Files {
			h.files[f.Path] = f.Content
		}
	}
	return res, nil
}

// NodeTeardown removes what NodeApply recorded, as the agent does.
func (h *fakeHost) NodeTeardown(_ context.Context, files []string, dryRun bool) (*rnet.Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	res := &rnet.Result{Node: h.name, Changes: []rnet.Change{}}
	if h.last != nil {
		res.Changes = append(res.Changes, rnet.Change{Kind: "chain", Target: "nat/RECONCILE-SERVICES", Action: "delete"})
	}
	for _, p := range files {
		if _, ok := h.files[p]; ok {
			res.Changes = append(res.Changes, rnet.Change{Kind: "file", Target: p, Action: "delete"})
			if !dryRun {
				delete(h.files, p)
			}
		}
	}
	if !dryRun {
		h.last = nil
	}
	return res, nil
}

func (h *fakeHost) ReadFiles(_ context.Context, paths []string) (map[string][]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string][]byte{}
	for _, p := range paths {
		if b, ok := h.files[p]; ok {
			out[p] = b
		}
	}
	return out, nil
}

func (h *fakeHost) Status(ctx context.Context, paths []string) (*reconcile.NodeStatus, error) {
	pods, err := h.ListPods(ctx)
	if err != nil {
		return nil, err
	}
	files, _ := h.ReadFiles(ctx, paths)
	claims, _ := h.ListClaims(ctx, false)
	h.mu.Lock()
	defer h.mu.Unlock()
	st := &reconcile.NodeStatus{Pods: pods, Claims: claims, Files: files}
	if h.last != nil {
		st.Applied.ConfigHash = rnet.ConfigHash(*h.last)
	}
	return st, nil
}

func (h *fakeHost) Lock(_ context.Context, req rnet.LockRequest) (*rnet.LockResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	res := &rnet.LockResponse{Now: now}
	if hold := h.fleet.holder; hold != nil {
		res.Holder = *hold
		return res, nil
	}
	switch {
	case req.Op == rnet.LockRelease:
		if h.lock != nil && h.lock.ID == req.ID {
			h.lock = nil
		}
	case h.lock == nil || h.lock.ID == req.ID:
		h.lock = &rnet.LockInfo{ID: req.ID, Owner: req.Owner, Acquired: now, Expires: now.Add(time.Minute)}
		res.Held = true
	default:
		return nil, errors.New("fake: lock held by another run of this test")
	}
	return res, nil
}
