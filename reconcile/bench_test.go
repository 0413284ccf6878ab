package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
	"github.com/reconcile-dev/reconcile/runtime/agent"
)

// benchNodes is the cluster size of the unit benchmarks: bigger than the
// lab, so per-node work shows.
const benchNodes = 10

func benchNodeName(i int) string { return fmt.Sprintf("node-%d", i+1) }

// benchCluster is a Cluster of n nodes; nothing dials them.
func benchCluster(n int) string {
	var b strings.Builder
	b.WriteString(`apiVersion: reconcile.dev/v1alpha1
kind: Cluster
metadata: {name: bench}
spec:
  podCIDR: 198.18.0.0/16
  serviceCIDR: 198.19.0.0/16
  nodes:
`)
	for i := range n {
		fmt.Fprintf(&b, "  - {name: %s, ssh: root@198.51.100.%d, address: 198.51.100.%d}\n", benchNodeName(i), 11+i, 11+i)
	}
	return b.String()
}

func benchService(name, selector string) string {
	return `apiVersion: v1
kind: Service
metadata: {name: ` + name + `}
spec:
  ports: [{port: 80, protocol: TCP}]
  selector: {run: ` + selector + `}
`
}

// benchDesired loads a tree of a benchNodes-node Cluster, deps Deployments
// dep-0.. of replicas pods each, and svcs Services svc-0.. that select the
// Deployments round-robin.
func benchDesired(b testing.TB, deps, replicas, svcs int) *Desired {
	b.Helper()
	dir := b.TempDir()
	docs := []string{benchCluster(benchNodes)}
	for i := range deps {
		docs = append(docs, deployment(fmt.Sprintf("dep-%d", i), "nginx:1.0", replicas, ""))
	}
	for i := range svcs {
		docs = append(docs, benchService(fmt.Sprintf("svc-%d", i), fmt.Sprintf("dep-%d", i%max(deps, 1))))
	}
	for i, d := range docs {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%04d.yaml", i)), []byte(d), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	set, err := resources.Load(dir)
	if err != nil {
		b.Fatalf("load: %v", err)
	}
	return &Desired{Set: set, Dir: dir}
}

// benchObserved is every Deployment of d running with its replicas, ready,
// spread round-robin over the nodes; hash overrides the template hash (for
// a rollout) when not empty.
func benchObserved(d *Desired, hash string) *Observed {
	obs := &Observed{Pods: map[string][]runtime.Pod{}, Files: map[string]map[string][]byte{}, Unreachable: map[string]error{}}
	for i := range benchNodes {
		obs.Pods[benchNodeName(i)] = []runtime.Pod{}
	}
	n := 0
	for _, dep := range d.Deployments {
		h := dep.TemplateHash()
		if hash != "" {
			h = hash
		}
		for r := range int(*dep.Spec.Replicas) {
			node := n % benchNodes
			seq := n/benchNodes + 2
			n++
			name := fmt.Sprintf("%s-%s-%05d", dep.Name, h, r)
			obs.Pods[benchNodeName(node)] = append(obs.Pods[benchNodeName(node)], runtime.Pod{
				ID: fmt.Sprintf("c%d", n), Name: name, Namespace: dep.Namespace, Deployment: dep.Name,
				TemplateHash: h, Node: benchNodeName(node), Image: dep.Spec.Template.Spec.Containers[0].Image,
				IP:     fmt.Sprintf("198.18.%d.%d", node+1, seq),
				Labels: dep.Spec.Template.Labels, State: "running", Ready: true,
			})
		}
	}
	return obs
}

func emptyObserved() *Observed {
	obs := &Observed{Pods: map[string][]runtime.Pod{}, Unreachable: map[string]error{}}
	for i := range benchNodes {
		obs.Pods[benchNodeName(i)] = nil
	}
	return obs
}

// BenchmarkStep plans 200 Deployments of 5 pods on 10 nodes: converged
// (what every apply and sync pass plans last), from nothing (diff of a new
// cluster) and a rollout of every Deployment at once.
func BenchmarkStep(b *testing.B) {
	d := benchDesired(b, 200, 5, 0)
	cases := []struct {
		name    string
		obs     *Observed
		final   bool
		actions int
	}{
		{"converged", benchObserved(d, ""), false, 0},
		{"from-empty-final", emptyObserved(), true, 1000},
		{"rollout-step", benchObserved(d, "oldhash"), false, -1},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var actions []Action
			for b.Loop() {
				actions, _ = Step(d.Deployments, d.Cluster, c.obs, true, c.final)
			}
			if c.actions >= 0 && len(actions) != c.actions {
				b.Fatalf("%d actions, want %d", len(actions), c.actions)
			}
			if len(actions) == 0 && c.actions < 0 {
				b.Fatal("a rollout step planned nothing")
			}
		})
	}
}

// BenchmarkServiceStatesAndNodeConfigs is the network half of every plan
// and idle pass: 500 Services over 1500 pods resolved to endpoints, the
// state files, and each of 10 nodes' config with its hash (the idle pass
// compares hashes).
func BenchmarkServiceStatesAndNodeConfigs(b *testing.B) {
	d := benchDesired(b, 300, 5, 500)
	obs := benchObserved(d, "")
	alloc, err := allocate(d.Services, d.Cluster.Spec.ServiceCIDR, Allocations{}, time.Unix(1700000000, 0).UTC())
	if err != nil {
		b.Fatal(err)
	}
	states := serviceStates(d.Set, alloc, obs, nil)
	if n := len(states[0].Ports[0].Ready); n != 5 {
		b.Fatalf("svc-0 has %d ready endpoints, want 5", n)
	}
	endpoints := endpointsJSON(d.Cluster, states)
	files := stateFiles(d, endpoints, alloc)
	configs := func(states []ServiceState, files []rnet.File) {
		for _, n := range d.Cluster.Spec.Nodes {
			rnet.ConfigHash(nodeConfig(d.Cluster, n, states, files))
		}
	}
	b.Run("serviceStates", func(b *testing.B) {
		for b.Loop() {
			serviceStates(d.Set, alloc, obs, nil)
		}
	})
	b.Run("stateFiles", func(b *testing.B) {
		for b.Loop() {
			stateFiles(d, endpoints, alloc)
		}
	})
	b.Run("endpointsJSON", func(b *testing.B) {
		for b.Loop() {
			endpointsJSON(d.Cluster, states)
		}
	})
	b.Run("nodeConfigs+hash", func(b *testing.B) {
		for b.Loop() {
			configs(states, files)
		}
	})
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			for _, c := range desiredNetwork(d, alloc, obs, nil).configs {
				rnet.ConfigHash(c)
			}
		}
	})
}

// benchHost is a fake host whose Status does not hash the applied config on
// every call: the real agent reads a stored hash, and the idle-pass
// benchmark measures the planner, not the fake.
type benchHost struct {
	*fakeHost
	hashFor int
	hash    string
}

func (h *benchHost) Status(ctx context.Context, paths []string) (*NodeStatus, error) {
	pods, err := h.ListPods(ctx)
	if err != nil {
		return nil, err
	}
	files, _ := h.ReadFiles(ctx, paths)
	h.mu.Lock()
	defer h.mu.Unlock()
	st := &NodeStatus{Pods: pods, Files: files}
	if n := len(h.configs); n > 0 {
		if h.hashFor != n {
			h.hashFor, h.hash = n, rnet.ConfigHash(h.configs[n-1])
		}
		st.Applied = rnet.Applied{ConfigHash: h.hash}
	}
	return st, nil
}

func benchHosts() []*benchHost {
	var hs []*benchHost
	for i := range benchNodes {
		hs = append(hs, &benchHost{fakeHost: newFakeHost(benchNodeName(i), i+1)})
	}
	return hs
}

func hostMap(hs []*benchHost) map[string]Host {
	m := map[string]Host{}
	for _, h := range hs {
		m[h.name] = h
	}
	return m
}

// BenchmarkSyncIdlePassFake is one `sync --once` pass that finds the hosts
// converged: load the tree, one status call per host, plan, compare. The
// hosts answer from memory, so this is the planner's cost of an idle pass.
func BenchmarkSyncIdlePassFake(b *testing.B) {
	sizes := []struct{ deps, replicas, svcs int }{{1, 2, 1}, {100, 5, 100}, {300, 5, 500}}
	for _, sz := range sizes {
		b.Run(fmt.Sprintf("pods=%d/svcs=%d", sz.deps*sz.replicas, sz.svcs), func(b *testing.B) {
			d := benchDesired(b, sz.deps, sz.replicas, sz.svcs)
			hs := benchHosts()
			s := NewSyncer(SyncOptions{
				Source: SourceOptions{Dir: d.Dir},
				Connect: func(context.Context, *resources.Cluster) (map[string]Host, map[string]error) {
					return hostMap(hs), nil
				},
				Apply: ApplyOptions{Prune: true, PollInterval: time.Millisecond},
			})
			b.Cleanup(s.Close)
			ctx := context.Background()
			if r := s.Pass(ctx); r.Outcome != OutcomeApplied {
				b.Fatalf("first pass: %s %v", r.Outcome, r.Err)
			}
			if r := s.Pass(ctx); r.Outcome != OutcomeInSync {
				b.Fatalf("second pass: %s %v", r.Outcome, r.Err)
			}
			var calls int64
			for b.Loop() {
				r := s.Pass(ctx)
				if r.Outcome != OutcomeInSync || r.Writes != 0 {
					b.Fatalf("idle pass: %s, %d writes, %v", r.Outcome, r.Writes, r.Err)
				}
				calls += r.Calls
			}
			b.ReportMetric(float64(calls)/float64(b.N), "calls/pass")
		})
	}
}

// BenchmarkApplyFake converges 100 pods (20 Deployments of 5, each with a
// Service) from nothing on 10 fake hosts: planning, the rollout loop's
// observe/step rounds and every node's config, without any I/O.
func BenchmarkApplyFake(b *testing.B) {
	d := benchDesired(b, 20, 5, 20)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		hs := benchHosts()
		b.StartTimer()
		res, err := Apply(ctx, d, hostMap(hs), map[string]error{}, ApplyOptions{Prune: true, PollInterval: time.Millisecond})
		if err != nil || res.Err() != nil {
			b.Fatalf("apply: %v %v", err, res.Err())
		}
		b.StopTimer()
		pods := 0
		for _, h := range hs {
			pods += len(h.pods)
		}
		if pods != 100 {
			b.Fatalf("%d pods after apply, want 100", pods)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "pods/s")
}

// wireHost is a benchHost that pays the CLI's side of the agent protocol
// as the real one does: each request is JSON-encoded as it would be sent,
// each answer decoded from the JSON the agent would print. Without it a
// 2,000-Service config crosses the fake for free, and the benchmarks below
// would miss the CLI's biggest cost at scale.
type wireHost struct {
	*benchHost
	sent int64 // request bytes
	held heldFiles
}

func (h *wireHost) NodeApply(ctx context.Context, c rnet.NodeConfig, dryRun bool) (*rnet.Result, error) {
	full := c
	return applyWithheld(c, &h.held, dryRun, func(c rnet.NodeConfig) (rnet.Result, error) {
		b, err := json.Marshal(agent.ApplyRequest{Config: c, DryRun: dryRun, Fence: fenceOf(ctx)})
		if err != nil {
			return rnet.Result{}, err
		}
		h.sent += int64(len(b))
		if need := h.needContent(c); !dryRun && len(need) > 0 {
			return rnet.Result{Node: h.name, NeedContent: need}, nil
		}
		res, err := h.benchHost.NodeApply(ctx, full, dryRun)
		if err != nil {
			return rnet.Result{}, err
		}
		out, err := roundTrip(res)
		return *out, err
	})
}

// needContent is the agent's check: the withheld files whose digest is
// not what the host holds.
func (h *wireHost) needContent(c rnet.NodeConfig) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	held := map[string]string{}
	if n := len(h.configs); n > 0 {
		for _, f := range h.configs[n-1].Files {
			held[f.Path] = f.WithDigest().SHA256
		}
	}
	var need []string
	for _, f := range c.Files {
		if f.Content == nil && held[f.Path] != f.SHA256 {
			need = append(need, f.Path)
		}
	}
	return need
}

func (h *wireHost) Status(ctx context.Context, paths []string) (*NodeStatus, error) {
	b, _ := json.Marshal(agent.StatusRequest{Cluster: "bench", Paths: paths})
	h.sent += int64(len(b))
	st, err := h.benchHost.Status(ctx, paths)
	if err != nil {
		return nil, err
	}
	return roundTrip(st)
}

func (h *wireHost) ReadFiles(ctx context.Context, paths []string) (map[string][]byte, error) {
	files, err := h.benchHost.ReadFiles(ctx, paths)
	if err != nil {
		return nil, err
	}
	out, err := roundTrip(&agent.ReadResponse{Files: files})
	return out.Files, err
}

func roundTrip[T any](v *T) (*T, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := new(T)
	return out, json.Unmarshal(b, out)
}

// benchLabShape is the lab bench's Service phase on fake hosts: 3 nodes,
// one 3-pod Deployment, n Services selecting it (3 endpoints each).
func benchLabShape(b *testing.B, n int) (*Desired, []*wireHost) {
	b.Helper()
	dir := b.TempDir()
	docs := []string{testCluster, deployment("ep", "nginx:1.0", 3, "")}
	for i := range n {
		docs = append(docs, benchService(fmt.Sprintf("svc-%04d", i), "ep"))
	}
	for i, d := range docs {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%04d.yaml", i)), []byte(d), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	set, err := resources.Load(dir)
	if err != nil {
		b.Fatalf("load: %v", err)
	}
	var hs []*wireHost
	for i := range 3 {
		hs = append(hs, &wireHost{benchHost: &benchHost{fakeHost: newFakeHost(fmt.Sprintf("node-%d", i+1), i+1)}})
	}
	return &Desired{Set: set, Dir: dir}, hs
}

func wireHostMap(hs []*wireHost) map[string]Host {
	m := map[string]Host{}
	for _, h := range hs {
		m[h.name] = h
	}
	return m
}

// BenchmarkServices2000Fake is the CLI's own work in the lab bench's
// Service rows (2,000 Services × 3 endpoints, 3 hosts), SSH and the
// agent's work left out: the no-op diff, the idle sync pass, and an apply
// that changes one Service's port. Profile with
//
//	go test -run '^$' -bench Services2000 -cpuprofile cpu.out ./reconcile
func BenchmarkServices2000Fake(b *testing.B) {
	const n = 2000
	d, hs := benchLabShape(b, n)
	ctx := context.Background()
	hosts := wireHostMap(hs)
	if _, err := Apply(ctx, d, hosts, map[string]error{}, ApplyOptions{Prune: true, PollInterval: time.Millisecond}); err != nil {
		b.Fatal(err)
	}
	sent := func() (s int64) {
		for _, h := range hs {
			s += h.sent
			h.sent = 0
		}
		return s
	}
	sent()
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			if _, err := LoadDesired(ctx, SourceOptions{Dir: d.Dir}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("diff", func(b *testing.B) {
		for b.Loop() {
			plan, err := ComputePlan(ctx, d, hosts, map[string]error{}, true)
			if err != nil {
				b.Fatal(err)
			}
			if plan.HasChanges() {
				b.Fatalf("no-op diff planned %+v", plan.Nodes)
			}
		}
		b.ReportMetric(float64(sent())/float64(b.N), "sent-B/op")
	})
	b.Run("sync-idle", func(b *testing.B) {
		s := NewSyncer(SyncOptions{
			Source: SourceOptions{Dir: d.Dir},
			Connect: func(context.Context, *resources.Cluster) (map[string]Host, map[string]error) {
				return hosts, nil
			},
			Apply: ApplyOptions{Prune: true, PollInterval: time.Millisecond},
		})
		// The first pass converges the revision record to the tree's.
		s.Pass(ctx)
		for b.Loop() {
			if r := s.Pass(ctx); r.Outcome != OutcomeInSync {
				b.Fatalf("idle pass: %s %v", r.Outcome, r.Err)
			}
		}
		b.ReportMetric(float64(sent())/float64(b.N), "sent-B/op")
	})
	b.Run("one-service-change", func(b *testing.B) {
		// Change svc-0007's port and back, as the lab bench does.
		one := *d.Set
		one.Services = slices.Clone(d.Set.Services)
		changed := *one.Services[7]
		changed.Spec.Ports = slices.Clone(changed.Spec.Ports)
		changed.Spec.Ports[0].Port = 8080
		one.Services[7] = &changed
		sets := []*resources.Set{&one, d.Set}
		i := 0
		for b.Loop() {
			dd := &Desired{Set: sets[i%2], Dir: d.Dir}
			i++
			res, err := Apply(ctx, dd, hosts, map[string]error{}, ApplyOptions{Prune: true, PollInterval: time.Millisecond})
			if err != nil || res.Err() != nil {
				b.Fatalf("apply: %v %v", err, res.Err())
			}
		}
		b.ReportMetric(float64(sent())/float64(b.N), "sent-B/op")
	})
}
