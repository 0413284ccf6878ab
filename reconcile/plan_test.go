package reconcile

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
)

// dryRunCounter counts the network configs a host was sent for a dry run.
type dryRunCounter struct {
	*fakeHost
	dryRuns *atomic.Int32
}

func (h dryRunCounter) NodeApply(ctx context.Context, c rnet.NodeConfig, dryRun bool) (*rnet.Result, error) {
	if dryRun {
		h.dryRuns.Add(1)
	}
	return h.fakeHost.NodeApply(ctx, c, dryRun)
}

// A diff of hosts whose recorded config is the desired one sends no
// config: each host's status already says what a dry run would (its
// drift). A host with another config still gets the dry run.
func TestDiffTrustsRecordedConfig(t *testing.T) {
	d := loadDesired(t, deployment("my-nginx", "nginx", 2, ""), seedService)
	hosts, fs := fakeHosts()
	ctx := context.Background()
	if _, err := Apply(ctx, d, hosts, map[string]error{}, ApplyOptions{Prune: true, PollInterval: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	var dryRuns atomic.Int32
	counted := map[string]Host{}
	for _, f := range fs {
		counted[f.name] = dryRunCounter{f, &dryRuns}
	}
	drift := rnet.Change{Kind: rnet.KindRules, Action: rnet.ActionUpdate, Target: "nat/RECONCILE-SERVICES"}
	fs[1].drift = []rnet.Change{drift}
	plan, err := ComputePlan(ctx, d, counted, map[string]error{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if n := dryRuns.Load(); n != 0 {
		t.Errorf("%d dry runs for hosts that record the desired config, want 0", n)
	}
	var changes []string
	for _, np := range plan.Nodes {
		for _, c := range np.Net {
			changes = append(changes, np.Node+" "+c.Kind+" "+c.Target)
		}
	}
	if want := "node-2 rules nat/RECONCILE-SERVICES"; len(changes) != 1 || changes[0] != want {
		t.Errorf("plan's network changes %q, want [%s]", changes, want)
	}

	// node-3 recorded another config: it gets the dry run.
	fs[2].mu.Lock()
	fs[2].configs = append(fs[2].configs, rnet.NodeConfig{Node: "node-3"})
	fs[2].mu.Unlock()
	if _, err := ComputePlan(ctx, d, counted, map[string]error{}, true); err != nil {
		t.Fatal(err)
	}
	if n := dryRuns.Load(); n != 1 {
		t.Errorf("%d dry runs, want 1 (node-3)", n)
	}
}
