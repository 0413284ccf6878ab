package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Removing everything (an empty tree, with --allow-empty) tears the hosts
// down: pods, then the agent's rules, routes and files, then the pod
// network. diff shows it as a plan first, and is clean after.
func TestApplyEmptyTreeTearsDown(t *testing.T) {
	hosts, fs := fakeHosts()
	apply(t, loadDesired(t, deployment("my-nginx", "nginx", 2, ""), seedService), hosts)
	empty := loadDesired(t)

	p := plan(t, empty, hosts)
	var text []string
	for _, n := range p.Nodes {
		if n.RemoveNetwork {
			text = append(text, n.Node+" - network")
		}
		for _, c := range n.Net {
			text = append(text, n.Node+" "+c.Action+" "+c.Kind+" "+c.Target)
		}
	}
	if got := strings.Join(text, "\n"); !strings.Contains(got, "node-1 - network") || !strings.Contains(got, "node-3 delete chain nat/RECONCILE-SERVICES") {
		t.Errorf("plan of an empty tree does not show the teardown:\n%s", got)
	}
	for _, f := range fs {
		if !f.network || f.teardowns != 0 {
			t.Fatalf("%s: the plan changed the host (network %v, teardowns %d)", f.name, f.network, f.teardowns)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Apply(ctx, empty, hosts, map[string]error{}, ApplyOptions{Prune: true, AllowEmpty: true, PollInterval: time.Millisecond})
	if err != nil || res.Err() != nil {
		t.Fatalf("apply --allow-empty: %v %v", err, res.Err())
	}
	for _, f := range fs {
		if len(f.pods) != 0 || f.network || f.teardowns != 1 || len(f.configs) != 0 {
			t.Errorf("%s after removing everything: %d pods, network %v, %d teardowns, %d configs", f.name, len(f.pods), f.network, f.teardowns, len(f.configs))
		}
	}
	if p := plan(t, empty, hosts); p.HasChanges() {
		t.Errorf("plan after the teardown still has changes: %+v", p.Nodes)
	}
	// An empty tree on clean hosts needs no flag, and creates nothing.
	if _, err := Apply(ctx, empty, hosts, map[string]error{}, ApplyOptions{Prune: true, PollInterval: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.network || len(f.configs) != 0 {
			t.Errorf("%s: an empty tree on a clean host made network %v, %d configs", f.name, f.network, len(f.configs))
		}
	}
}

// No teardown while something still needs the networking: pods of another
// source, a Service alone, or a run that does not prune.
func TestNoTeardownWhileInUse(t *testing.T) {
	tests := []struct {
		name   string
		other  *Desired // applied first by another source
		mine   *Desired
		prune  bool
		allow  bool
		wantNW bool
	}{
		{name: "another source's pods", other: fromSource(loadDesired(t, deployment("theirs", "nginx", 3, "")), "repo//b"),
			mine: fromSource(loadDesired(t), "repo//a"), prune: true, allow: true, wantNW: true},
		{name: "a Service without pods", mine: loadDesired(t, seedService), prune: true, allow: true, wantNW: true},
		{name: "no prune", other: loadDesired(t, deployment("mine", "nginx", 3, "")), mine: loadDesired(t), prune: false, wantNW: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hosts, fs := fakeHosts()
			if tt.other != nil {
				apply(t, tt.other, hosts)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := Apply(ctx, tt.mine, hosts, map[string]error{}, ApplyOptions{Prune: tt.prune, AllowEmpty: tt.allow, PollInterval: time.Millisecond})
			if err != nil || res.Err() != nil {
				t.Fatalf("apply: %v %v", err, res.Err())
			}
			for _, f := range fs {
				if f.network != tt.wantNW || f.teardowns != 0 {
					t.Errorf("%s: network %v (want %v), %d teardowns", f.name, f.network, tt.wantNW, f.teardowns)
				}
			}
		})
	}
}

// A sync of an empty tree tears down once, then is idle: no host records
// a config any more, and nothing is written again.
func TestSyncEmptyTreeTearsDownOnce(t *testing.T) {
	hosts, fs := fakeHosts()
	apply(t, loadDesired(t, deployment("my-nginx", "nginx", 2, ""), seedService), hosts)
	s := newTestSyncer(t, loadDesired(t), fs)
	s.o.Apply.AllowEmpty = true
	ctx := context.Background()
	if first := s.Pass(ctx); first.Outcome != OutcomeApplied || first.Err != nil {
		t.Fatalf("first pass: %s %v", first.Outcome, first.Err)
	}
	for _, f := range fs {
		if f.teardowns != 1 || f.network || len(f.pods) != 0 {
			t.Errorf("%s after the first pass: %d teardowns, network %v, %d pods", f.name, f.teardowns, f.network, len(f.pods))
		}
	}
	if idle := s.Pass(ctx); idle.Outcome != OutcomeInSync || idle.Writes != 0 {
		t.Errorf("second pass: %s, %d writes; want in sync, none", idle.Outcome, idle.Writes)
	}
}
