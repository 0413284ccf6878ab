package net

import (
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// Real-kernel tests run in network namespaces named rcntest-*, created and
// deleted here; the root namespace's routes and iptables are never touched.

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, iptables)")
	}
	for _, bin := range []string{"ip", "iptables", "iptables-save", "iptables-restore"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s: %v", bin, err)
		}
	}
}

func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newNetns creates an empty namespace with lo up and deletes it at cleanup,
// removing a leftover of a crashed run first.
func newNetns(t testing.TB, name string) {
	t.Helper()
	_ = exec.Command("ip", "netns", "del", name).Run()
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("delete netns %s: %v: %s", name, err, out)
		}
	})
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
}

// inNetns runs fn on a thread switched into the namespace; commands fn
// executes inherit it.
func inNetns(t testing.TB, name string, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer orig.Close()
	h, err := netns.GetFromName(name)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer h.Close()
	if err := netns.Set(h); err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer func() {
		// A thread left in the wrong namespace must die with the goroutine:
		// stay locked if switching back fails.
		if err := netns.Set(orig); err != nil {
			t.Errorf("switch back to the original netns: %v", err)
			return
		}
		runtime.UnlockOSThread()
	}()
	fn()
}

func applyIn(t testing.TB, ns string, c NodeConfig, dryRun bool) *Result {
	t.Helper()
	var res *Result
	var err error
	inNetns(t, ns, func() { res, err = Apply(context.Background(), c, dryRun) })
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return res
}

// newHost makes a namespace that looks like a lab host: eth0 on the host
// link, the pod bridge rcn0 with one port, no default route.
func newHost(t testing.TB, name string) {
	t.Helper()
	newNetns(t, name)
	run(t, "ip", "-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
	run(t, "ip", "-n", name, "link", "set", "eth0p", "up")
	run(t, "ip", "-n", name, "addr", "add", "198.51.100.11/24", "dev", "eth0")
	run(t, "ip", "-n", name, "link", "set", "eth0", "up")
	run(t, "ip", "-n", name, "link", "add", "rcn0", "type", "bridge")
	run(t, "ip", "-n", name, "addr", "add", "198.18.1.1/24", "dev", "rcn0")
	run(t, "ip", "-n", name, "link", "set", "rcn0", "up")
	run(t, "ip", "-n", name, "link", "add", "vethpod1", "type", "veth", "peer", "name", "vethpod1p")
	run(t, "ip", "-n", name, "link", "set", "vethpod1", "master", "rcn0", "up")
	run(t, "ip", "-n", name, "link", "set", "vethpod1p", "up")
}

func changeSet(res *Result) []string {
	var out []string
	for _, c := range res.Changes {
		out = append(out, c.Kind+" "+c.Action+" "+c.Target)
	}
	return out
}

func ourLines(save string) string {
	var b strings.Builder
	for _, l := range strings.Split(save, "\n") {
		if strings.Contains(l, "RECONCILE-") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func foreignLines(save string) string {
	var b strings.Builder
	for _, l := range strings.Split(save, "\n") {
		if strings.Contains(l, "DOCKERISH") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func TestApplyInNetns(t *testing.T) {
	needRoot(t)
	const ns = "rcntest-apply"
	newHost(t, ns)
	dir := ownedTempDir(t)

	// Someone else's state that must survive every pass.
	run(t, "ip", "netns", "exec", ns, "iptables", "-t", "nat", "-N", "DOCKERISH")
	run(t, "ip", "netns", "exec", ns, "iptables", "-t", "nat", "-A", "DOCKERISH", "-p", "tcp", "--dport", "8000", "-j", "DNAT", "--to-destination", "198.18.1.50:80")
	run(t, "ip", "netns", "exec", ns, "iptables", "-t", "nat", "-A", "PREROUTING", "-j", "DOCKERISH")
	run(t, "ip", "netns", "exec", ns, "iptables", "-t", "filter", "-N", "DOCKERISH")
	run(t, "ip", "netns", "exec", ns, "iptables", "-t", "filter", "-A", "DOCKERISH", "-j", "RETURN")
	run(t, "ip", "netns", "exec", ns, "iptables", "-t", "filter", "-A", "FORWARD", "-j", "DOCKERISH")
	run(t, "ip", "-n", ns, "route", "add", "198.18.200.0/24", "via", "198.51.100.14", "proto", "static")
	foreignBefore := foreignLines(run(t, "ip", "netns", "exec", ns, "iptables-save"))

	cfg := withServices(
		Service{Namespace: "default", Name: "web", ClusterIP: "198.19.0.10", Ports: []ServicePort{{Name: "http", Port: 80, NodePort: 30080,
			Endpoints: []Endpoint{{IP: "198.18.1.5", Port: 8080}, {IP: "198.18.2.5", Port: 8080}}}}},
		Service{Namespace: "default", Name: "old", ClusterIP: "198.19.0.11", Ports: []ServicePort{{Name: "dns", Protocol: "UDP", Port: 53,
			Endpoints: []Endpoint{{IP: "198.18.3.5", Port: 53}}}}},
		Service{Namespace: "default", Name: "empty", ClusterIP: "198.19.0.12", Ports: []ServicePort{{Port: 80}}},
		Service{Namespace: "default", Name: "sticky", ClusterIP: "198.19.0.13", ClientIPAffinity: true,
			Ports: []ServicePort{{Port: 443, Endpoints: []Endpoint{{IP: "198.18.1.6", Port: 8443}, {IP: "198.18.2.6", Port: 8443}, {IP: "198.18.3.6", Port: 8443}}}}},
	)
	cfg.StateFile = dir + "/state/node-applied.json"
	endpoints := dir + "/endpoints.json"
	cfg.Files = []File{{Path: endpoints, Content: []byte(`{"web":["198.18.1.5:8080"]}` + "\n")}}

	t.Run("dry run changes nothing", func(t *testing.T) {
		res := applyIn(t, ns, cfg, true)
		if len(res.Changes) == 0 {
			t.Fatal("dry run reported no changes on a fresh host")
		}
		if got := ourLines(run(t, "ip", "netns", "exec", ns, "iptables-save")); got != "" {
			t.Errorf("dry run wrote rules:\n%s", got)
		}
		if got := run(t, "ip", "-n", ns, "route", "show", "proto", "82"); got != "" {
			t.Errorf("dry run added routes:\n%s", got)
		}
		if _, err := os.Stat(endpoints); err == nil {
			t.Error("dry run wrote the endpoints file")
		}
	})

	t.Run("first apply", func(t *testing.T) {
		res := applyIn(t, ns, cfg, false)
		if res.Drift {
			t.Error("first apply reported drift")
		}
		t.Logf("changes: %q", changeSet(res))
		wantRoutes := "198.18.2.0/24 via 198.51.100.12 dev eth0 \n198.18.3.0/24 via 198.51.100.13 dev eth0 \n198.19.0.0/16 dev rcn0 scope link \n"
		if got := run(t, "ip", "-n", ns, "route", "show", "proto", "82"); got != wantRoutes {
			t.Errorf("routes with proto 82:\n%s\nwant:\n%s", got, wantRoutes)
		}
		if got := run(t, "ip", "-n", ns, "route", "show", "198.18.200.0/24"); got != "198.18.200.0/24 via 198.51.100.14 dev eth0 proto static \n" {
			t.Errorf("foreign route changed: %q", got)
		}
		if got := run(t, "ip", "netns", "exec", ns, "cat", "/proc/sys/net/ipv4/ip_forward"); got != "1\n" {
			t.Errorf("ip_forward = %q", got)
		}
		if got := run(t, "ip", "-n", ns, "-d", "link", "show", "vethpod1"); !strings.Contains(got, "hairpin on") {
			t.Errorf("hairpin not on:\n%s", got)
		}
		save := run(t, "ip", "netns", "exec", ns, "iptables-save", "-t", "nat")
		if want := ourRules(RenderNAT(cfg)); ourRules([]byte(save)) != want {
			t.Errorf("nat rules differ from the rendering:\n%s\nwant:\n%s", ourRules([]byte(save)), want)
		}
	})

	stat := func(p string) os.FileInfo {
		t.Helper()
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	t.Run("second apply changes nothing", func(t *testing.T) {
		before, stBefore := stat(endpoints), stat(cfg.StateFile)
		saveBefore := run(t, "ip", "netns", "exec", ns, "iptables-save")
		res := applyIn(t, ns, cfg, false)
		if len(res.Changes) != 0 || res.Drift {
			t.Errorf("second apply: drift=%v changes %q", res.Drift, changeSet(res))
		}
		if after := stat(endpoints); !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
			t.Error("endpoints file rewritten")
		}
		if after := stat(cfg.StateFile); !os.SameFile(stBefore, after) {
			t.Error("state file rewritten")
		}
		if after := run(t, "ip", "netns", "exec", ns, "iptables-save"); stripComments(after) != stripComments(saveBefore) {
			t.Error("iptables changed")
		}
	})

	t.Run("drift is repaired", func(t *testing.T) {
		run(t, "ip", "netns", "exec", ns, "iptables", "-t", "nat", "-D", "RECONCILE-SERVICES", "1")
		run(t, "ip", "netns", "exec", ns, "iptables", "-t", "nat", "-D", "OUTPUT", "-m", "comment", "--comment", "reconcile service portals", "-j", "RECONCILE-SERVICES")
		// A route of ours with the wrong gateway; a foreign one with our
		// destination is left alone (TestForeignRouteWithOurDestination).
		run(t, "ip", "-n", ns, "route", "replace", "198.18.2.0/24", "via", "198.51.100.99", "proto", "82")
		run(t, "ip", "-n", ns, "route", "del", "198.18.3.0/24")
		if err := os.WriteFile(endpoints, []byte("edited\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		res := applyIn(t, ns, cfg, false)
		want := []string{
			"route update 198.18.2.0/24",
			"route add 198.18.3.0/24",
			"rules update nat/RECONCILE-SERVICES",
			"hook add nat/OUTPUT",
			"file update " + endpoints,
		}
		if got := changeSet(res); strings.Join(got, "\n") != strings.Join(want, "\n") || !res.Drift {
			t.Errorf("drift=%v changes:\n%s\nwant:\n%s", res.Drift, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if res := applyIn(t, ns, cfg, false); len(res.Changes) != 0 {
			t.Errorf("after repair: %q", changeSet(res))
		}
		if b, _ := os.ReadFile(endpoints); !bytes.Equal(b, cfg.Files[0].Content) {
			t.Errorf("endpoints file = %q", b)
		}
	})

	t.Run("deleted service is removed", func(t *testing.T) {
		next := cfg
		next.Services = cfg.Services[:1]
		next.Services = append(next.Services, cfg.Services[2:]...)
		res := applyIn(t, ns, next, false)
		if res.Drift {
			t.Error("a config change reported as drift")
		}
		save := run(t, "ip", "netns", "exec", ns, "iptables-save", "-t", "nat")
		if strings.Contains(save, "default/old") {
			t.Errorf("rules of the deleted service remain:\n%s", save)
		}
		if ourRules([]byte(save)) != ourRules(RenderNAT(next)) {
			t.Errorf("nat rules differ from the rendering")
		}
		if res := applyIn(t, ns, next, false); len(res.Changes) != 0 {
			t.Errorf("after removal: %q", changeSet(res))
		}
	})

	t.Run("300 services in one restore", func(t *testing.T) {
		many := manyServices(300, 3)
		many.StateFile = cfg.StateFile
		start := time.Now()
		res := applyIn(t, ns, many, false)
		t.Logf("300 services × 3 endpoints: %d changes in %v", len(res.Changes), time.Since(start))
		start = time.Now()
		if res := applyIn(t, ns, many, false); len(res.Changes) != 0 {
			t.Errorf("second pass: %d changes", len(res.Changes))
		}
		t.Logf("300 services, nothing to do: %v", time.Since(start))
		applyIn(t, ns, cfg, false)
	})

	if after := foreignLines(run(t, "ip", "netns", "exec", ns, "iptables-save")); after != foreignBefore {
		t.Errorf("foreign chains changed:\n%s\nwas:\n%s", after, foreignBefore)
	}
	if got := run(t, "ip", "-n", ns, "route", "show", "198.18.200.0/24"); got != "198.18.200.0/24 via 198.51.100.14 dev eth0 proto static \n" {
		t.Errorf("foreign route changed: %q", got)
	}
}

// ourRules is the set of our chain declarations and rules, comparable
// between a rendering and iptables-save.
func ourRules(text []byte) string {
	lt := parseTable(text, "nat")
	var b strings.Builder
	for _, ch := range slices.Sorted(maps.Keys(lt.chains)) {
		b.WriteString(":" + ch + "\n")
		for _, r := range lt.rules[ch] {
			b.WriteString(r + "\n")
		}
	}
	return b.String()
}

func stripComments(save string) string {
	var b strings.Builder
	for _, l := range strings.Split(save, "\n") {
		if !strings.HasPrefix(l, "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// A route reconcile did not create with exactly our destination is never
// replaced or deleted: the apply reports it as a conflict naming it, and
// everything else is still converged.
func TestForeignRouteWithOurDestination(t *testing.T) {
	needRoot(t)
	const ns = "rcntest-foreign"
	newHost(t, ns)
	cfg := baseConfig()
	cfg.StateFile = ownedTempDir(t) + "/state.json"
	run(t, "ip", "-n", ns, "route", "add", "198.18.3.0/24", "via", "198.51.100.99", "proto", "static")
	var err error
	inNetns(t, ns, func() { _, err = Apply(context.Background(), cfg, false) })
	if err == nil || !strings.Contains(err.Error(), "route 198.18.3.0/24 (pod subnet of node-3): a route reconcile did not create has this destination (198.18.3.0/24 via 198.51.100.99 dev eth0 proto 4)") {
		t.Errorf("err = %v", err)
	}
	if got := run(t, "ip", "-n", ns, "route", "show", "198.18.3.0/24"); got != "198.18.3.0/24 via 198.51.100.99 dev eth0 proto static \n" {
		t.Errorf("foreign route changed: %q", got)
	}
	if got := run(t, "ip", "-n", ns, "route", "show", "198.18.2.0/24"); got != "198.18.2.0/24 via 198.51.100.12 dev eth0 proto 82 \n" {
		t.Errorf("our other route: %q", got)
	}
	// Once the admin removes it, ours goes in.
	run(t, "ip", "-n", ns, "route", "del", "198.18.3.0/24")
	res := applyIn(t, ns, cfg, false)
	if got := strings.Join(changeSet(res), ","); got != "route add 198.18.3.0/24" {
		t.Errorf("changes %q", got)
	}
}

// Our FORWARD hooks go below the jump to DOCKER-USER, where Docker tells
// admins to put their own filtering, and stay there when dockerd restarts
// and puts its jumps back at the top.
func TestForwardHooksBelowDockerUser(t *testing.T) {
	needRoot(t)
	const ns = "rcntest-dockeruser"
	newHost(t, ns)
	ipt := func(args ...string) string {
		t.Helper()
		return run(t, append([]string{"ip", "netns", "exec", ns, "iptables"}, args...)...)
	}
	forward := func() string {
		t.Helper()
		var b strings.Builder
		for _, l := range strings.Split(ipt("-S", "FORWARD"), "\n") {
			if strings.HasPrefix(l, "-A ") {
				b.WriteString(l + "\n")
			}
		}
		return b.String()
	}
	// What dockerd leaves: DOCKER-USER first, the admin's rule in it.
	ipt("-N", "DOCKER-USER")
	ipt("-A", "DOCKER-USER", "-s", "198.18.9.0/24", "-j", "DROP")
	ipt("-N", "DOCKER-ISOLATION-STAGE-1")
	ipt("-A", "FORWARD", "-j", "DOCKER-USER")
	ipt("-A", "FORWARD", "-j", "DOCKER-ISOLATION-STAGE-1")
	cfg := baseConfig()
	cfg.StateFile = ownedTempDir(t) + "/state.json"
	applyIn(t, ns, cfg, false)
	want := `-A FORWARD -j DOCKER-USER
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "reconcile service portals" -j RECONCILE-SERVICES
-A FORWARD -m comment --comment "reconcile forwarding rules" -j RECONCILE-FORWARD
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
`
	if got := forward(); got != want {
		t.Errorf("FORWARD after apply:\n%s\nwant:\n%s", got, want)
	}

	// dockerd restarts: it deletes its jumps and inserts them at the top.
	ipt("-D", "FORWARD", "-j", "DOCKER-USER")
	ipt("-D", "FORWARD", "-j", "DOCKER-ISOLATION-STAGE-1")
	ipt("-I", "FORWARD", "1", "-j", "DOCKER-ISOLATION-STAGE-1")
	ipt("-I", "FORWARD", "1", "-j", "DOCKER-USER")
	if res := applyIn(t, ns, cfg, false); len(res.Changes) != 0 {
		t.Errorf("after a dockerd restart: %q", changeSet(res))
	}

	// Ours above DOCKER-USER (what older versions did) are moved below it.
	ipt("-D", "FORWARD", "-m", "comment", "--comment", "reconcile forwarding rules", "-j", "RECONCILE-FORWARD")
	ipt("-I", "FORWARD", "1", "-m", "comment", "--comment", "reconcile forwarding rules", "-j", "RECONCILE-FORWARD")
	res := applyIn(t, ns, cfg, false)
	if got := strings.Join(changeSet(res), ","); got != "hook update filter/FORWARD,hook update filter/FORWARD" {
		t.Errorf("changes %q", got)
	}
	want = `-A FORWARD -j DOCKER-USER
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "reconcile service portals" -j RECONCILE-SERVICES
-A FORWARD -m comment --comment "reconcile forwarding rules" -j RECONCILE-FORWARD
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
`
	if got := forward(); got != want {
		t.Errorf("FORWARD after the move:\n%s\nwant:\n%s", got, want)
	}
	if res := applyIn(t, ns, cfg, false); len(res.Changes) != 0 {
		t.Errorf("after the move: %q", changeSet(res))
	}
}

// A control character in a name must not end the rule in the restore
// input (it would let a name inject rules); the rules still read back
// from iptables-save exactly as rendered, so no endless drift.
func TestCommentControlCharactersInNetns(t *testing.T) {
	needRoot(t)
	const ns = "rcntest-comment"
	newHost(t, ns)
	cfg := withServices(Service{Namespace: "default", Name: "web\n-A RECONCILE-FORWARD -j ACCEPT\t\"q\"", ClusterIP: "198.19.0.10",
		Ports: []ServicePort{{Name: strings.Repeat("p", 300), Port: 80, Endpoints: []Endpoint{{IP: "198.18.1.5", Port: 8080}}}}})
	cfg.StateFile = ownedTempDir(t) + "/state.json"
	applyIn(t, ns, cfg, false)
	save := run(t, "ip", "netns", "exec", ns, "iptables-save")
	if strings.Contains(save, "\n-A RECONCILE-FORWARD -j ACCEPT") {
		t.Errorf("a name injected a rule:\n%s", ourLines(save))
	}
	if res := applyIn(t, ns, cfg, false); len(res.Changes) != 0 {
		t.Errorf("second pass: %q", changeSet(res))
	}
}
