package reconcile

import (
	"bytes"
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/reconcile-dev/reconcile/runtime"
)

func apply(t *testing.T, d *Desired, hosts map[string]Host) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Apply(ctx, d, hosts, map[string]error{}, ApplyOptions{Prune: true, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

func plan(t *testing.T, d *Desired, hosts map[string]Host) *Plan {
	t.Helper()
	p, err := ComputePlan(context.Background(), d, hosts, map[string]error{}, true)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

func nodesOf(fs []*fakeHost, dep string) []string {
	var nodes []string
	for _, f := range fs {
		for range f.podsOf(dep) {
			nodes = append(nodes, f.name)
		}
	}
	sort.Strings(nodes)
	return nodes
}

func TestApplySeedSpreadsAndConverges(t *testing.T) {
	d := loadDesired(t, deployment("my-nginx", "nginx", 2, ""), seedService)
	hosts, fs := fakeHosts()
	if p := plan(t, d, hosts); !p.HasChanges() {
		t.Fatal("plan of an empty cluster has no changes")
	}
	res := apply(t, d, hosts)
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(nodesOf(fs, "my-nginx"), ","); got != "node-1,node-2" {
		t.Errorf("pods on %s, want one on node-1 and one on node-2", got)
	}
	if p := plan(t, d, hosts); p.HasChanges() {
		t.Errorf("second plan is not empty: %+v", p)
	}
	// Every node holds the VIP with both ready endpoints.
	for _, f := range fs {
		c := f.configs[len(f.configs)-1]
		if len(c.Services) != 1 || len(c.Services[0].Ports[0].Endpoints) != 2 {
			t.Errorf("%s: last config %+v, want 1 service with 2 endpoints", f.name, c.Services)
		}
		if len(c.Routes) != 2 {
			t.Errorf("%s: %d routes, want 2", f.name, len(c.Routes))
		}
	}
}

func TestApplyScaleSpreadsAcrossHosts(t *testing.T) {
	hosts, fs := fakeHosts()
	apply(t, loadDesired(t, deployment("my-nginx", "nginx", 2, "")), hosts)
	apply(t, loadDesired(t, deployment("my-nginx", "nginx", 4, "")), hosts)
	if got := strings.Join(nodesOf(fs, "my-nginx"), ","); got != "node-1,node-1,node-2,node-3" {
		t.Errorf("scaled to 4: pods on %s", got)
	}
	apply(t, loadDesired(t, deployment("my-nginx", "nginx", 1, "")), hosts)
	if got := len(nodesOf(fs, "my-nginx")); got != 1 {
		t.Errorf("scaled to 1: %d pods", got)
	}
}

func TestRollingUpdateKeepsAvailability(t *testing.T) {
	tests := []struct {
		name     string
		strategy string
		minReady int
		maxTotal int
	}{
		{"defaults 25%/25% of 4", "", 3, 5},
		{"surge 0 unavailable 1", "  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}\n", 3, 4},
		{"surge 2 unavailable 0", "  strategy: {rollingUpdate: {maxSurge: 2, maxUnavailable: 0}}\n", 4, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hosts, fs := fakeHosts()
			apply(t, loadDesired(t, deployment("web", "nginx:1.0", 4, tt.strategy)), hosts)
			minReady, maxTotal := 99, 0
			sample := func() {
				ready, total := 0, 0
				for _, f := range fs {
					for _, p := range f.podsOf("web") {
						total++
						if p.Ready {
							ready++
						}
					}
				}
				minReady, maxTotal = min(minReady, ready), max(maxTotal, total)
			}
			for _, f := range fs {
				f.onList = func() {} // sampled below, outside the host's lock
			}
			fs[0].onList = sample
			apply(t, loadDesired(t, deployment("web", "nginx:2.0", 4, tt.strategy)), hosts)
			if minReady < tt.minReady {
				t.Errorf("ready pods fell to %d during rollout, want >= %d", minReady, tt.minReady)
			}
			if maxTotal > tt.maxTotal {
				t.Errorf("%d pods at once during rollout, want <= %d", maxTotal, tt.maxTotal)
			}
			for _, f := range fs {
				for _, p := range f.podsOf("web") {
					if p.Image != "nginx:2.0" {
						t.Errorf("old pod %s left on %s", p.Name, f.name)
					}
				}
			}
		})
	}
}

func TestRolloutHaltsWhenNeverReady(t *testing.T) {
	hosts, fs := fakeHosts()
	apply(t, loadDesired(t, deployment("web", "nginx:1.0", 2, "")), hosts)
	for _, f := range fs {
		f.neverReady["nginx:bad"] = true
	}
	d := loadDesired(t, deployment("web", "nginx:bad", 2, "  progressDeadlineSeconds: 1\n"))
	ctx := context.Background()
	res, err := Apply(ctx, d, hosts, map[string]error{}, ApplyOptions{Prune: true, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) == 0 {
		t.Fatal("no failure reported for a rollout that never becomes ready")
	}
	f := res.Failures[0]
	if !strings.HasPrefix(f.Pod, "web-") || f.Node == "" || !strings.Contains(f.Reason, "progress deadline") || !strings.Contains(f.Logs, "failing on purpose") {
		t.Errorf("failure %+v lacks pod, node, reason or logs", f)
	}
	old := 0
	for _, h := range fs {
		for _, p := range h.podsOf("web") {
			if p.Image == "nginx:1.0" && p.Ready {
				old++
			}
		}
	}
	if old < 1 {
		t.Errorf("%d old pods still serving, want at least replicas-maxUnavailable=1", old)
	}
}

func TestUnreachableHostPodsMoveAndComeBack(t *testing.T) {
	hosts, fs := fakeHosts()
	d := loadDesired(t, deployment("my-nginx", "nginx", 2, ""))
	apply(t, d, hosts)
	fs[1].down = true // node-2 held one pod
	res := apply(t, d, hosts)
	if len(res.Unreachable) != 1 || res.Unreachable[0].Node != "node-2" {
		t.Fatalf("unreachable = %+v, want node-2", res.Unreachable)
	}
	live := len(fs[0].podsOf("my-nginx")) + len(fs[2].podsOf("my-nginx"))
	if live != 2 {
		t.Errorf("%d pods on reachable hosts, want 2", live)
	}
	fs[1].down = false
	hosts, _ = func() (map[string]Host, []*fakeHost) {
		m := map[string]Host{}
		for _, f := range fs {
			m[f.name] = f
		}
		return m, fs
	}()
	apply(t, d, hosts)
	if got := len(nodesOf(fs, "my-nginx")); got != 2 {
		t.Errorf("after the host came back: %d pods, want 2", got)
	}
}

func TestPruneRemovesUndeclared(t *testing.T) {
	hosts, fs := fakeHosts()
	apply(t, loadDesired(t, deployment("a", "nginx", 1, ""), deployment("b", "nginx", 1, "")), hosts)
	apply(t, loadDesired(t, deployment("a", "nginx", 1, "")), hosts)
	if n := len(nodesOf(fs, "b")); n != 0 {
		t.Errorf("%d pods of the undeclared deployment b left", n)
	}
}

func TestClusterIPStableAndFreed(t *testing.T) {
	hosts, fs := fakeHosts()
	d := loadDesired(t, deployment("my-nginx", "nginx", 2, ""), seedService)
	apply(t, d, hosts)
	ip := fs[0].configs[len(fs[0].configs)-1].Services[0].ClusterIP
	if !strings.HasPrefix(ip, "198.19.") {
		t.Fatalf("ClusterIP %q not in serviceCIDR", ip)
	}
	apply(t, d, hosts)
	if again := fs[2].configs[len(fs[2].configs)-1].Services[0].ClusterIP; again != ip {
		t.Errorf("ClusterIP changed from %s to %s", ip, again)
	}
	apply(t, loadDesired(t, deployment("my-nginx", "nginx", 2, "")), hosts)
	if s := fs[0].configs[len(fs[0].configs)-1].Services; len(s) != 0 {
		t.Errorf("deleted service still has rules: %+v", s)
	}
}

// With no host to run pods on, apply fails at once instead of waiting out
// the progress deadline.
func TestApplyWithoutHostsFailsFast(t *testing.T) {
	d := loadDesired(t, deployment("web", "nginx", 2, ""))
	start := time.Now()
	_, err := Apply(context.Background(), d, map[string]Host{}, map[string]error{"node-1": context.DeadlineExceeded}, ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "no node of cluster test") {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
}

// The last convergence of a run is forced only when the run started pods
// (their bridge ports need hairpin mode): an apply that changes a Service
// and no pod sends each host its config once, not twice.
func TestApplyWithoutNewPodsSendsConfigOnce(t *testing.T) {
	hosts, fs := fakeHosts()
	apply(t, loadDesired(t, deployment("my-nginx", "nginx", 2, "")), hosts)
	sent := map[string]int{}
	for _, f := range fs {
		sent[f.name] = len(f.configs)
	}
	apply(t, loadDesired(t, deployment("my-nginx", "nginx", 2, ""), seedService), hosts)
	for _, f := range fs {
		if n := len(f.configs) - sent[f.name]; n != 1 {
			t.Errorf("%s: an apply that started no pod sent %d configs, want 1", f.name, n)
		}
	}
}

// The end-of-run pass reuses the desired network of the pass before when
// it would be computed from the same observation and desired state with no
// pod skipped or created; anything else computes it again.
func TestDesiredForReuse(t *testing.T) {
	d := loadWithDNS(t, seedService, deployment("my-nginx", "nginx", 1, ""))
	obs := &Observed{Pods: map[string][]runtime.Pod{
		"node-1": {{ID: "a", Name: "my-nginx-abc-aaaaa", Namespace: "default", Deployment: "my-nginx", Node: "node-1", IP: "198.18.1.2", State: "running", Ready: true, Labels: map[string]string{"run": "my-nginx"}}},
	}, Files: map[string]map[string][]byte{}, Unreachable: map[string]error{}}
	_, alloc, err := allocations(d, obs, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{d: d, alloc: alloc}
	first := r.desiredFor(obs, map[string]bool{}, nil)
	other := *obs
	rolledBack := loadWithDNS(t, seedService, deployment("my-nginx", "nginx", 1, ""))
	tests := []struct {
		name    string
		run     func() *reusedNet
		reused  bool
		skipped bool // the pod is left out of the endpoints
	}{
		{"same observation and state", func() *reusedNet { return r.desiredFor(obs, nil, nil) }, true, false},
		{"a pod skipped", func() *reusedNet { return r.desiredFor(obs, map[string]bool{"a": true}, nil) }, false, true},
		{"a pod created", func() *reusedNet { return r.desiredFor(obs, nil, []Action{{Kind: ActionCreate, Node: "node-1"}}) }, false, false},
		{"another observation", func() *reusedNet { return r.desiredFor(&other, nil, nil) }, false, false},
		{"another desired state", func() *reusedNet { r.d = rolledBack; return r.desiredFor(&other, nil, nil) }, false, false},
	}
	for _, tc := range tests {
		got := tc.run()
		if (got == first) != tc.reused {
			t.Errorf("%s: reused %v, want %v", tc.name, got == first, tc.reused)
		}
		if skipped := !bytes.Contains(got.dn.endpoints, []byte("198.18.1.2")); skipped != tc.skipped {
			t.Errorf("%s: pod left out %v, want %v", tc.name, skipped, tc.skipped)
		}
	}
}
