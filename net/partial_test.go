package net

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// ourChains is every chain of ours in nat and filter with its rules in
// order, chains sorted: iptables-save may list chains in any order.
func ourChains(save []byte) string {
	var b strings.Builder
	for _, tbl := range []string{"filter", "nat"} {
		lt := parseTable(save, tbl)
		for _, ch := range slices.Sorted(func(yield func(string) bool) {
			for k := range lt.chains {
				if !yield(k) {
					return
				}
			}
		}) {
			fmt.Fprintf(&b, "%s :%s\n", tbl, ch)
			for _, r := range lt.rules[ch] {
				b.WriteString(tbl + " " + r + "\n")
			}
		}
	}
	return b.String()
}

// fullRestore is what a full render gives on a host that never had rules:
// the render restored into a fresh scratch namespace, read back.
func fullRestore(t *testing.T, c NodeConfig) string {
	t.Helper()
	const scratch = "rcntest-scratch"
	_ = exec.Command("ip", "netns", "del", scratch).Run()
	run(t, "ip", "netns", "add", scratch)
	defer func() { _ = exec.Command("ip", "netns", "del", scratch).Run() }()
	cmd := exec.Command("ip", "netns", "exec", scratch, "iptables-restore")
	cmd.Stdin = strings.NewReader(string(RenderFilter(c)) + string(RenderNAT(c)))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("restore into the scratch namespace: %v: %s", err, out)
	}
	return ourChains([]byte(run(t, "ip", "netns", "exec", scratch, "iptables-save")))
}

// mutate changes c the way the planner does between passes: Services come
// and go, endpoints come and go, ports and node ports change.
func mutate(r *rand.Rand, c *NodeConfig, next *int) string {
	switch op := r.IntN(9); {
	case op == 0 || len(c.Services) < 3:
		*next++
		s := Service{Namespace: []string{"default", "shop"}[r.IntN(2)], Name: fmt.Sprintf("svc-%d", *next),
			ClusterIP: fmt.Sprintf("198.19.%d.%d", 100+*next/250, 1+*next%250), ClientIPAffinity: r.IntN(4) == 0}
		for p := range 1 + r.IntN(2) {
			sp := ServicePort{Name: fmt.Sprintf("p%d", p), Port: 80 + p, Protocol: []string{"TCP", "UDP"}[r.IntN(2)]}
			if r.IntN(3) == 0 {
				sp.NodePort = 30000 + *next*2 + p
			}
			for e := range r.IntN(4) {
				sp.Endpoints = append(sp.Endpoints, Endpoint{IP: fmt.Sprintf("198.18.%d.%d", 1+e, 2+r.IntN(200)), Port: 8080})
			}
			s.Ports = append(s.Ports, sp)
		}
		c.Services = append(c.Services, s)
		return "add " + s.Name
	case op == 1:
		i := r.IntN(len(c.Services))
		name := c.Services[i].Name
		c.Services = slices.Delete(c.Services, i, i+1)
		return "remove " + name
	case op == 2:
		s := &c.Services[r.IntN(len(c.Services))]
		p := &s.Ports[r.IntN(len(s.Ports))]
		p.Endpoints = nil
		return "no endpoints " + s.Name
	case op == 3:
		s := &c.Services[r.IntN(len(c.Services))]
		s.ClientIPAffinity = !s.ClientIPAffinity
		return "affinity " + s.Name
	case op == 4:
		// External traffic: load-balancer addresses (198.51.100.0/24,
		// documentation space, never routed), source ranges, Local.
		s := &c.Services[r.IntN(len(c.Services))]
		s.LoadBalancerIPs, s.SourceRanges = nil, nil
		if r.IntN(3) > 0 {
			s.LoadBalancerIPs = []string{fmt.Sprintf("198.51.100.%d", 1+r.IntN(200))}
			if r.IntN(2) == 0 {
				s.SourceRanges = []string{"203.0.113.0/24"}
			}
		}
		return "load balancer " + s.Name
	case op == 5:
		s := &c.Services[r.IntN(len(c.Services))]
		s.LocalTraffic = !s.LocalTraffic
		for i := range s.Ports {
			s.Ports[i].Endpoints = slices.Clone(s.Ports[i].Endpoints)
			for j := range s.Ports[i].Endpoints {
				s.Ports[i].Endpoints[j].Local = r.IntN(2) == 0
			}
		}
		return "local traffic " + s.Name
	default:
		s := &c.Services[r.IntN(len(c.Services))]
		p := &s.Ports[r.IntN(len(s.Ports))]
		if len(p.Endpoints) > 0 && r.IntN(2) == 0 {
			p.Endpoints = slices.Delete(slices.Clone(p.Endpoints), 0, 1)
			return "endpoint gone " + s.Name
		}
		p.Endpoints = append(slices.Clone(p.Endpoints), Endpoint{IP: fmt.Sprintf("198.18.%d.%d", 1+r.IntN(3), 2+r.IntN(200)), Port: 9090})
		return "endpoint added " + s.Name
	}
}

// After any sequence of changes, partial syncs leave exactly the rules a
// full render gives, and drift in a chain the config did not change is
// found and repaired by the next pass, even when the last pass recorded
// the ruleset as verified.
func TestPartialSyncEqualsFullRender(t *testing.T) { partialSyncEqualsFullRender(t, "rcntest-partial") }

// The same with every chain of two rules or more edited in place (in the
// product, only long chains are): the rule numbers of each -R, -D and -I
// are right whatever changed.
func TestPartialSyncEditsInPlace(t *testing.T) {
	saved, savedMax := editMinRules, maxEdits
	editMinRules, maxEdits = 2, 16
	defer func() { editMinRules, maxEdits = saved, savedMax }()
	partialSyncEqualsFullRender(t, "rcntest-partial-ed")
}

func partialSyncEqualsFullRender(t *testing.T, ns string) {
	needRoot(t)
	newHost(t, ns)
	cfg := manyServices(30, 2)
	cfg.StateFile = ownedTempDir(t) + "/state.json"
	applyIn(t, ns, cfg, false)
	ipt := func(args ...string) {
		t.Helper()
		run(t, append([]string{"ip", "netns", "exec", ns, "iptables"}, args...)...)
	}
	seed := uint64(20261202)
	r := rand.New(rand.NewPCG(seed, 0))
	next := 0
	for step := range 40 {
		what := mutate(r, &cfg, &next)
		res := applyIn(t, ns, cfg, false)
		got := ourChains([]byte(run(t, "ip", "netns", "exec", ns, "iptables-save")))
		if want := fullRestore(t, cfg); got != want {
			t.Fatalf("seed %d step %d (%s): live rules differ from a full render\nchanges: %q\nlive:\n%s\nfull render:\n%s", seed, step, what, changeSet(res), got, want)
		}
		// Our restore was the only change since the last verified pass,
		// so the next pass trusts the rendering instead of reading back.
		if v := readVIPVerified(cfg.StateFile); v.ConfigHash != ConfigHash(cfg) {
			t.Errorf("step %d (%s): the pass did not record the ruleset it left as verified", step, what)
		}
		if step%5 != 4 {
			continue
		}
		// The pass after a change verifies and records the ruleset; then
		// someone edits a chain this config did not touch.
		inNetns(t, ns, func() {
			if st, err := Status(context.Background(), cfg.StateFile); err != nil || len(st.Drift) != 0 {
				t.Fatalf("step %d: status before the edit: %v %v", step, err, st)
			}
		})
		var drift string
		switch step / 5 % 3 {
		case 0:
			ipt("-t", "nat", "-F", "RECONCILE-SERVICES")
			drift = "nat/RECONCILE-SERVICES"
		case 1:
			ipt("-t", "filter", "-I", "RECONCILE-FORWARD", "1", "-j", "DROP")
			drift = "filter/RECONCILE-FORWARD"
		default:
			sp := servicePorts(cfg)
			for _, p := range sp {
				if len(p.seps) > 0 {
					ipt("-t", "nat", "-F", p.seps[0])
					drift = "nat/" + p.seps[0]
					break
				}
			}
		}
		var st *Applied
		inNetns(t, ns, func() { st, _ = Status(context.Background(), cfg.StateFile) })
		if st == nil || len(st.Drift) != 1 || st.Drift[0].Target != drift {
			t.Fatalf("step %d: status after editing %s: %+v", step, drift, st)
		}
		res = applyIn(t, ns, cfg, false)
		if got := strings.Join(changeSet(res), ","); got != "rules update "+drift || !res.Drift {
			t.Errorf("step %d: repair of %s: drift=%v changes %q", step, drift, res.Drift, got)
		}
		if got := ourChains([]byte(run(t, "ip", "netns", "exec", ns, "iptables-save"))); got != fullRestore(t, cfg) {
			t.Fatalf("step %d: not repaired:\n%s", step, got)
		}
	}
}

// A record written by another agent build proves nothing (it may render
// the same config differently): the pass reads the rules and records anew.
func TestVIPRecordOfAnotherBuild(t *testing.T) {
	needRoot(t)
	const ns = "rcntest-build"
	newHost(t, ns)
	cfg := manyServices(3, 2)
	cfg.StateFile = ownedTempDir(t) + "/state.json"
	applyIn(t, ns, cfg, false) // inserts hooks, so records nothing
	status := func() {
		t.Helper()
		inNetns(t, ns, func() {
			if st, err := Status(context.Background(), cfg.StateFile); err != nil || len(st.Drift) != 0 {
				t.Fatalf("status: %v %+v", err, st)
			}
		})
	}
	status()
	v := readVIPVerified(cfg.StateFile)
	if v.ConfigHash != ConfigHash(cfg) || v.Agent == "" {
		t.Fatalf("record after apply: %+v", v)
	}
	v.Agent = "/var/lib/reconcile/bin/reconcile-000000000000 1 1"
	if err := writeVIPVerified(cfg.StateFile, v); err != nil {
		t.Fatal(err)
	}
	status()
	if got, want := readVIPVerified(cfg.StateFile).Agent, func() string { a, _ := agentBuild(); return a }(); got != want {
		t.Errorf("record's agent %q after a full check, want %q", got, want)
	}
}

// lineEdits, applied as iptables applies them, turn the old rules into
// the new ones; a chain that is short or changes too much is rewritten.
func TestLineEdits(t *testing.T) {
	const ch = "RECONCILE-SERVICES"
	rules := func(ids ...int) []string {
		var out []string
		for _, id := range ids {
			out = append(out, fmt.Sprintf("-A %s -d 198.19.0.%d/32 -j RECONCILE-SVC-%d", ch, id, id))
		}
		return out
	}
	seq := func(from, to int, extra ...int) []int {
		var out []int
		for i := from; i < to; i++ {
			out = append(out, i)
		}
		return append(out, extra...)
	}
	base := rules(seq(0, 100)...)
	tests := []struct {
		name    string
		want    []string
		rewrite bool
	}{
		{"one replaced", slices.Concat(base[:7], rules(1007), base[8:]), false},
		{"one inserted", slices.Concat(base[:50], rules(1050), base[50:]), false},
		{"one removed", slices.Concat(base[:50], base[51:]), false},
		{"one appended", slices.Concat(base, rules(1100)), false},
		{"the last removed", base[:99], false},
		{"the first removed", base[1:], false},
		{"two replaced by three", slices.Concat(base[:10], rules(2000, 2001, 2002), base[12:]), false},
		{"too many", rules(seq(200, 300)...), true},
		{"unchanged", base, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			edits := lineEdits(ch, base, tc.want)
			if (edits == nil) != tc.rewrite {
				t.Fatalf("edits %q, want a rewrite: %v", edits, tc.rewrite)
			}
			if edits == nil {
				return
			}
			got := slices.Clone(base)
			for _, e := range edits {
				f := strings.SplitN(e, " ", 4)
				switch f[0] {
				case "-A":
					got = append(got, e)
				case "-R", "-I", "-D":
					var n int
					fmt.Sscan(f[2], &n)
					line := ""
					if len(f) == 4 {
						line = "-A " + ch + " " + f[3]
					}
					switch f[0] {
					case "-R":
						got[n-1] = line
					case "-I":
						got = slices.Insert(got, n-1, line)
					default:
						got = slices.Delete(got, n-1, n)
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("edits %q give\n%q", edits, got)
			}
		})
	}
	if lineEdits(ch, base[:10], slices.Concat(base[:3], base[4:10])) != nil {
		t.Error("a short chain is edited in place")
	}
}
