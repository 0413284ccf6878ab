package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
	"github.com/reconcile-dev/reconcile/runtime/agent"
)

// Pods is a host's Docker as the planner uses it: our pods and the pod
// network.
type Pods interface {
	ListPods(ctx context.Context) ([]runtime.Pod, error)
	// InspectPod returns one pod with its restart count and start time.
	InspectPod(ctx context.Context, id string) (runtime.Pod, error)
	EnsureNetwork(ctx context.Context, subnet string) (created bool, err error)
	// HasNetwork reports whether our pod network exists with that subnet.
	HasNetwork(ctx context.Context, subnet string) (bool, error)
	// RemoveNetwork removes the cluster's infrastructure containers and
	// our pod network (never one reconcile did not create); with dryRun
	// it only reports whether there is one of ours to remove.
	RemoveNetwork(ctx context.Context, dryRun bool) (removed bool, err error)
	CreatePod(ctx context.Context, spec runtime.PodSpec) (runtime.Pod, error)
	DeletePod(ctx context.Context, id string, grace time.Duration) error
	PodLogs(ctx context.Context, id string, lines int) (string, error)
	// Events streams the host's pod container events until ctx ends.
	Events(ctx context.Context) (<-chan PodEvent, <-chan error)
}

// Agent is a host's node agent: its networking, our files, its lock.
type Agent interface {
	// NodeApply converges the host's routes, VIP rules and files; with
	// dryRun it only reports what would change. A write is fenced by the
	// run lock held in ctx (see Lock.Context).
	NodeApply(ctx context.Context, c rnet.NodeConfig, dryRun bool) (*rnet.Result, error)
	// NodeTeardown removes the host's routes, VIP rules, sysctl changes
	// and files of ours, plus the files named (see net.Teardown); fenced
	// like NodeApply.
	NodeTeardown(ctx context.Context, files []string, dryRun bool) (*rnet.Result, error)
	// ReadFiles returns the contents of those files that exist on the host.
	ReadFiles(ctx context.Context, paths []string) (map[string][]byte, error)
	// Status reads the host's pods, our files and its network drift in one
	// round trip, for sync passes that usually find nothing to do.
	Status(ctx context.Context, paths []string) (*NodeStatus, error)
	Locker
}

// Claims are a host's PersistentVolumeClaim volumes (claims.go). Their
// writes go through the node agent, which checks the volume is ours.
type Claims interface {
	// ListClaims lists the cluster's claim volumes; with usage the agent
	// measures the bytes each holds (bounded in time).
	ListClaims(ctx context.Context, usage bool) ([]runtime.Claim, error)
	// EnsureClaim makes the claim's volume unless the host holds it;
	// fenced like NodeApply.
	EnsureClaim(ctx context.Context, c runtime.ClaimRef, source string) (created bool, err error)
	// RemoveClaim removes the claim's volume if no container mounts it;
	// with dryRun it only says whether it would. Fenced like NodeApply.
	RemoveClaim(ctx context.Context, c runtime.ClaimRef, dryRun bool) (removed bool, err error)
}

// Host is one Docker host: its pods and its agent. The real one talks
// Docker's API and runs the node agent over one SSH connection; unit tests
// of planning and rollout use an in-memory fake.
type Host interface {
	Name() string
	Pods
	Claims
	Agent
	Close() error
}

// NodeStatus is the agent's answer to Status.
type NodeStatus = agent.StatusResponse

// sshHost is a Host reached over SSH.
type sshHost struct {
	h       *runtime.Host
	pods    *runtime.Pods
	cluster string
	docker  string // the node's Docker socket, as the agent reaches it
	agent   agent.Client
	held    heldFiles
}

// ConnectOptions say how to reach the hosts and which binary to install as
// their node agent.
type ConnectOptions struct {
	SSH    runtime.SSHOptions
	Agents runtime.AgentFinder // the agent binary for each host architecture (AgentLookup.Find)
	// Early, when set, is a dial started before the load; Connect uses its
	// connections if it dialled the same targets (EarlyDial).
	Early *EarlyDial
}

// Connect dials every node of the cluster in parallel and installs the node
// agent where it is missing or of another build. Nodes that cannot be
// reached are returned in the error map; the others are usable.
func Connect(ctx context.Context, c *resources.Cluster, o ConnectOptions) (map[string]Host, map[string]error) {
	targets := Targets(c)
	dockerHosts := map[string]string{}
	for _, n := range c.Spec.Nodes {
		dockerHosts[n.Name] = n.Docker
	}
	conns, errs, ok := o.Early.adopt(targets, o.SSH)
	early := o.Early
	if !ok {
		o.Early.Close()
		early = nil
		conns, errs = runtime.DialAll(ctx, targets, o.SSH)
	}
	if errs == nil {
		errs = map[string]error{}
	}
	hosts := map[string]Host{}
	type installed struct {
		name, path string
		err        error
	}
	ch := make(chan installed, len(conns))
	for name, h := range conns {
		go func(name string, h *runtime.Host) {
			// The look the early dial made stands for the first half of
			// EnsureAgent; one that failed is made again here.
			chk := early.check(name)
			if chk == nil || chk.Err() != nil {
				chk = h.CheckAgent(ctx, o.Agents)
			}
			p, _, err := h.EnsureChecked(ctx, chk)
			ch <- installed{name, p, err}
		}(name, h)
	}
	for range conns {
		r := <-ch
		h := conns[r.name]
		if r.err != nil {
			errs[r.name] = &opError{r.name, "install node agent", r.err}
			h.Close()
			continue
		}
		hosts[r.name] = &sshHost{h: h, pods: runtime.NewPods(h.Name, h.Docker()), cluster: c.Name, docker: dockerHosts[r.name],
			agent: agent.Client{Node: r.name, Runner: h, Bin: r.path}}
	}
	return hosts, errs
}

func (s *sshHost) Name() string { return s.h.Name }
func (s *sshHost) Close() error { return s.h.Close() }

func (s *sshHost) ListPods(ctx context.Context) ([]runtime.Pod, error) {
	return s.pods.List(ctx, s.cluster)
}

func (s *sshHost) InspectPod(ctx context.Context, id string) (runtime.Pod, error) {
	return s.pods.Inspect(ctx, id)
}

func (s *sshHost) EnsureNetwork(ctx context.Context, subnet string) (bool, error) {
	return s.pods.EnsureNetwork(ctx, s.cluster, subnet)
}

func (s *sshHost) HasNetwork(ctx context.Context, subnet string) (bool, error) {
	return s.pods.HasNetwork(ctx, s.cluster, subnet)
}

func (s *sshHost) RemoveNetwork(ctx context.Context, dryRun bool) (bool, error) {
	return s.pods.RemoveNetwork(ctx, s.cluster, dryRun)
}

func (s *sshHost) CreatePod(ctx context.Context, spec runtime.PodSpec) (runtime.Pod, error) {
	if err := checkLease(ctx); err != nil {
		return runtime.Pod{}, err
	}
	spec.ProbeBinary = s.agent.Bin
	return s.pods.Create(ctx, spec)
}

func (s *sshHost) DeletePod(ctx context.Context, id string, grace time.Duration) error {
	if err := checkLease(ctx); err != nil {
		return err
	}
	return s.pods.Delete(ctx, id, grace)
}

func (s *sshHost) PodLogs(ctx context.Context, id string, lines int) (string, error) {
	return s.pods.Logs(ctx, id, lines)
}

// ListClaims reads the claim volumes through the Docker API, or, to
// measure them, from the agent, which walks each volume on the host.
func (s *sshHost) ListClaims(ctx context.Context, usage bool) ([]runtime.Claim, error) {
	if !usage {
		return s.pods.ListClaims(ctx, s.cluster)
	}
	res, err := agent.Call(ctx, s.agent, agent.Claims, agent.ClaimsRequest{Cluster: s.cluster, DockerHost: s.docker, Op: agent.ClaimsList, Usage: true})
	for i := range res.Claims {
		res.Claims[i].Node = s.h.Name
	}
	return res.Claims, err
}

func (s *sshHost) EnsureClaim(ctx context.Context, c runtime.ClaimRef, source string) (bool, error) {
	if err := checkLease(ctx); err != nil {
		return false, err
	}
	res, err := agent.Call(ctx, s.agent, agent.Claims, agent.ClaimsRequest{Cluster: s.cluster, DockerHost: s.docker, Op: agent.ClaimsEnsure,
		Claim: c, Source: source, Fence: fenceOf(ctx)})
	return res.Changed, err
}

func (s *sshHost) RemoveClaim(ctx context.Context, c runtime.ClaimRef, dryRun bool) (bool, error) {
	if !dryRun {
		if err := checkLease(ctx); err != nil {
			return false, err
		}
	}
	res, err := agent.Call(ctx, s.agent, agent.Claims, agent.ClaimsRequest{Cluster: s.cluster, DockerHost: s.docker, Op: agent.ClaimsRemove,
		Claim: c, DryRun: dryRun, Fence: fenceOf(ctx)})
	return res.Changed, err
}

// NodeApply runs `reconcile node apply` on the host: one SSH round trip that
// carries the whole desired node state, its files by digest where the host
// may hold them (see applyWithheld).
func (s *sshHost) NodeApply(ctx context.Context, c rnet.NodeConfig, dryRun bool) (*rnet.Result, error) {
	return applyWithheld(c, &s.held, dryRun, func(c rnet.NodeConfig) (rnet.Result, error) {
		return agent.Call(ctx, s.agent, agent.Apply, agent.ApplyRequest{Config: c, DryRun: dryRun, Fence: fenceOf(ctx), DockerHost: s.docker})
	})
}

// heldFiles are the digests of the files this process last wrote to a host,
// and the chunk ids of the large ones (net/chunks.go).
type heldFiles struct {
	mu     sync.Mutex
	m      map[string]string          // path -> SHA-256
	chunks map[string]map[string]bool // path -> chunk ids of that content
}

const chunkedSize = rnet.ChunkedSize

// applyWithheld sends c with its files by digest only where the host may
// hold them already (the endpoints file of 2,000 Services is 2 MB, and a
// no-op pass would send it to every host). A file this process wrote
// another content of to that host before (a rollout changes the endpoints
// file at every step) goes with its content, a large one as chunks, only
// those it did not write last time with their bytes. When a write needs
// more, the host changes nothing and names the files with the chunks it
// holds of them; they go again as the chunks it lacks (small ones whole),
// which costs one more round trip at most once per file and run.
func applyWithheld(c rnet.NodeConfig, held *heldFiles, dryRun bool, call func(rnet.NodeConfig) (rnet.Result, error)) (*rnet.Result, error) {
	full := c.Files
	c.Files = make([]rnet.File, len(full))
	held.mu.Lock()
	for i, f := range full {
		f = f.WithDigest()
		if f.HostSearchAt != 0 {
			// The host merges its search domains into it: it needs the
			// content, which is a few hundred bytes.
			c.Files[i] = f
			continue
		}
		h, ok := held.m[f.Path]
		switch ids := held.chunks[f.Path]; {
		case dryRun || !ok || h == f.SHA256:
			f = f.Withheld()
		case ids != nil && len(f.Content) >= chunkedSize:
			f = f.Chunked(ids)
		}
		c.Files[i] = f
	}
	held.mu.Unlock()
	res, err := call(c)
	if err == nil && len(res.NeedContent) > 0 {
		// Everything that was asked for, and the rest as before.
		need := map[string]bool{}
		for _, p := range res.NeedContent {
			need[p] = true
		}
		c.Files = slices.Clone(c.Files)
		for i, f := range full {
			if !need[f.Path] {
				continue
			}
			if ids, ok := res.HeldChunks[f.Path]; ok && len(f.Content) >= chunkedSize {
				c.Files[i] = f.Chunked(idSet(ids))
			} else {
				c.Files[i] = f.WithDigest()
			}
		}
		res, err = call(c)
	}
	if err != nil {
		return nil, err
	}
	if len(res.NeedContent) > 0 {
		// The files changed on the host between the two calls.
		return nil, fmt.Errorf("%s: agent apply still needs the content of %s; nothing was changed, the next pass tries again", c.Node, strings.Join(res.NeedContent, ", "))
	}
	if !dryRun {
		held.mu.Lock()
		if held.m == nil {
			held.m, held.chunks = map[string]string{}, map[string]map[string]bool{}
		}
		for i, f := range c.Files {
			held.m[f.Path] = f.SHA256
			if len(full[i].Content) >= chunkedSize {
				held.chunks[f.Path] = chunkSet(full[i])
			} else {
				delete(held.chunks, f.Path)
			}
		}
		held.mu.Unlock()
	}
	return &res, nil
}

func idSet(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// chunkSets are the chunk ids of recent contents by digest: every host of
// a pass gets the same files, so each is cut once.
var chunkSets struct {
	mu sync.Mutex
	m  map[string]map[string]bool
}

func chunkSet(f rnet.File) map[string]bool {
	f = f.WithDigest()
	chunkSets.mu.Lock()
	s, ok := chunkSets.m[f.SHA256]
	chunkSets.mu.Unlock()
	if ok {
		return s
	}
	s = idSet(rnet.ChunkIDs(f.Content))
	chunkSets.mu.Lock()
	defer chunkSets.mu.Unlock()
	if chunkSets.m == nil || len(chunkSets.m) >= 16 {
		chunkSets.m = map[string]map[string]bool{}
	}
	chunkSets.m[f.SHA256] = s
	return s
}

// NodeTeardown runs `reconcile node teardown` on the host.
func (s *sshHost) NodeTeardown(ctx context.Context, files []string, dryRun bool) (*rnet.Result, error) {
	res, err := agent.Call(ctx, s.agent, agent.Teardown, agent.TeardownRequest{Node: s.h.Name, Files: files, DryRun: dryRun, Fence: fenceOf(ctx)})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

func (s *sshHost) ReadFiles(ctx context.Context, paths []string) (map[string][]byte, error) {
	res, err := agent.Call(ctx, s.agent, agent.Read, agent.ReadRequest{Paths: paths})
	return res.Files, err
}

// ReadFilesNoting is ReadFiles that also learns, in the same round trip,
// what the host holds of the files in held, and of those it reads: the
// run's first write then sends what differs at once (a large file as the
// chunks the host lacks), where it would otherwise send digests only and
// be asked for the content, one more round trip with the whole config.
func (s *sshHost) ReadFilesNoting(ctx context.Context, paths, held []string) (map[string][]byte, error) {
	res, err := agent.Call(ctx, s.agent, agent.Read, agent.ReadRequest{Paths: paths, Held: held})
	if err != nil {
		return res.Files, err
	}
	if res.Held == nil {
		res.Held = map[string]rnet.HeldFile{}
	}
	for p, b := range res.Files {
		res.Held[p] = rnet.DescribeHeld(b)
	}
	s.held.note(res.Held)
	return res.Files, nil
}

// note records what the host holds, as if this process had written it.
func (h *heldFiles) note(held map[string]rnet.HeldFile) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m, h.chunks = map[string]string{}, map[string]map[string]bool{}
	}
	for p, f := range held {
		h.m[p] = f.SHA256
		if f.Chunks != nil {
			h.chunks[p] = idSet(f.Chunks)
		} else {
			delete(h.chunks, p)
		}
	}
}

// Status asks the host's agent for its NodeStatus: one SSH round trip.
func (s *sshHost) Status(ctx context.Context, paths []string) (*NodeStatus, error) {
	st, err := agent.Call(ctx, s.agent, agent.Status, agent.StatusRequest{Cluster: s.cluster, DockerHost: s.docker, Paths: paths})
	if err != nil {
		return nil, err
	}
	for i := range st.Pods {
		st.Pods[i].Node = s.h.Name
	}
	for i := range st.Claims {
		st.Claims[i].Node = s.h.Name
	}
	return &st, nil
}

// Lock runs `reconcile node lock` on the host: the lock file is read and
// written there, under the host's own clock.
func (s *sshHost) Lock(ctx context.Context, req rnet.LockRequest) (*rnet.LockResponse, error) {
	res, err := agent.Call(ctx, s.agent, agent.Lock, req)
	if err != nil {
		return nil, err
	}
	return &res, nil
}
