package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// The fault suite: runs killed at random points, hosts failing mid-apply,
// state wiped, bad input that must stay one pod's or one source's problem.
// After each fault one plain apply converges, diff exits 0, and the hosts
// hold exactly the declared pods and, for every VIP, rules and endpoints
// entries for the ready pods only.

// fleet is n Deployments of r replicas of image, each with a Service, with
// a wide surge so a rollout of all of them is quick. The pods have no
// readiness probe (ready once running): 30 probes a second, each starting
// the probe binary, saturate the lab's 2 cores and make pods flap.
func fleet(image string, n, r int) []string {
	var docs []string
	for i := range n {
		name := fmt.Sprintf("f%d", i)
		docs = append(docs, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: %[3]d
  selector: {matchLabels: {app: %[1]s}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 100%%, maxUnavailable: 50%%}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: %[2]s
        imagePullPolicy: IfNotPresent
        ports: [{name: http, containerPort: 80}]
`, name, image, r), service(name, name, ""))
	}
	return docs
}

func (e *env) allPods() []pod {
	e.t.Helper()
	r := e.mustRun(0, e.fromGit("get", "pods", "-o", "json")...)
	var list struct{ Items []pod }
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		e.t.Fatalf("get pods -o json: %v\n%s", err, r.stdout)
	}
	return list.Items
}

var dnatTo = regexp.MustCompile(`-j DNAT --to-destination ([0-9.]+):`)

// checkConverged asserts the hosts hold exactly n Deployments f0..f(n-1) of
// r ready pods at image, and that every VIP routes to those pods only, on
// every host, in rules and endpoints file alike.
func (e *env) checkConverged(t *testing.T, image string, n, r int) {
	t.Helper()
	if d := e.run(e.fromGit("diff")...); d.code != 0 {
		t.Errorf("diff after a converging apply: %s", d)
	}
	pods := e.allPods()
	ready := map[string]bool{}
	perDep := map[string]int{}
	names := map[string]bool{}
	for _, p := range pods {
		dep := p.Metadata.Labels["app"]
		perDep[dep]++
		if names[p.Metadata.Name] {
			t.Errorf("pod %s listed twice", p.Metadata.Name)
		}
		names[p.Metadata.Name] = true
		if !p.ready() || len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].Image != image {
			t.Errorf("pod %s on %s: ready=%v %+v; want ready at %s", p.Metadata.Name, p.Spec.NodeName, p.ready(), p.Status.ContainerStatuses, image)
		}
		if ready[p.Status.PodIP] {
			t.Errorf("pod IP %s used twice", p.Status.PodIP)
		}
		ready[p.Status.PodIP] = true
	}
	for i := range n {
		if got := perDep[fmt.Sprintf("f%d", i)]; got != r {
			t.Errorf("deployment f%d: %d pods, want %d", i, got, r)
		}
	}
	if len(pods) != n*r {
		t.Errorf("%d pods on the hosts, want %d (orphans?): %v", len(pods), n*r, perDep)
	}
	var epFirst string
	for _, h := range e.l.Hosts {
		nat := e.mustExec(h.Name, "iptables-save", "-t", "nat")
		got := map[string]int{}
		for _, m := range dnatTo.FindAllStringSubmatch(nat, -1) {
			got[m[1]]++
		}
		for ip, c := range got {
			if !ready[ip] {
				t.Errorf("%s: stale DNAT to %s (no such ready pod)", h.Name, ip)
			} else if c != 1 {
				t.Errorf("%s: %d DNAT rules to %s, want 1", h.Name, c, ip)
			}
		}
		for ip := range ready {
			if got[ip] == 0 {
				t.Errorf("%s: no DNAT rule to ready pod %s", h.Name, ip)
			}
		}
		ep := e.mustExec(h.Name, "cat", "/var/lib/reconcile/endpoints.json")
		if epFirst == "" {
			epFirst = ep
		} else if ep != epFirst {
			t.Errorf("%s: endpoints file differs from node-1's", h.Name)
		}
		var list struct {
			Items []struct {
				Metadata struct{ Namespace string } `json:"metadata"`
				Subsets  []struct {
					Addresses []struct{ IP string } `json:"addresses"`
				} `json:"subsets"`
			} `json:"items"`
		}
		json.Unmarshal([]byte(ep), &list)
		seen := map[string]bool{}
		for _, it := range list.Items {
			if it.Metadata.Namespace == "kube-system" {
				continue // kube-dns: each host's DNS server, not pods
			}
			for _, s := range it.Subsets {
				for _, a := range s.Addresses {
					if !ready[a.IP] || seen[a.IP] {
						t.Errorf("%s: endpoints file entry %s is stale or repeated", h.Name, a.IP)
					}
					seen[a.IP] = true
				}
			}
		}
		if len(seen) != len(ready) {
			t.Errorf("%s: endpoints file lists %d pods, want %d", h.Name, len(seen), len(ready))
		}
		routes := e.mustExec(h.Name, "ip", "-4", "route", "show", "proto", "static")
		if c := strings.Count(routes, "198.18."); c > len(e.l.Hosts)-1 {
			t.Errorf("%s: %d pod routes, want %d:\n%s", h.Name, c, len(e.l.Hosts)-1, routes)
		}
	}
	vips := e.clusterIPs()
	for i := range n {
		name := fmt.Sprintf("f%d", i)
		if out, err := e.getFromHost("node-1", "http://"+vips[name]+"/", 3); vips[name] == "" || err != nil {
			t.Errorf("GET VIP of %s (%q): %v\n%s", name, vips[name], err, out)
		}
	}
}

// clusterIPs reads every Service's ClusterIP with one get svc -o json.
func (e *env) clusterIPs() map[string]string {
	e.t.Helper()
	r := e.mustRun(0, e.fromGit("get", "svc", "-o", "json")...)
	var list struct {
		Items []struct {
			Metadata struct{ Name string } `json:"metadata"`
			Spec     struct {
				ClusterIP string `json:"clusterIP"`
			} `json:"spec"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		e.t.Fatalf("get svc -o json: %v\n%s", err, r.stdout)
	}
	m := map[string]string{}
	for _, it := range list.Items {
		m[it.Metadata.Name] = it.Spec.ClusterIP
	}
	return m
}

// converge is the plain apply after a fault; it may have to wait for the
// lock of a killed run to expire.
func (e *env) converge(t *testing.T) {
	t.Helper()
	e.mustRun(0, e.fromGit("apply", "--wait-for-lock", "1m")...)
}

// kill -9 of apply at random points of a rollout of 30 pods with Services,
// first alone, then with a `sync --interval` daemon running that started
// on the older commit: after each, one plain apply converges, diff exits 0,
// and every VIP routes to the ready pods only.
func TestFaultKillApplyMidRollout(t *testing.T) {
	e := newEnv(t)
	e.clearLocks()
	const deps, replicas = 5, 6
	start := time.Now()
	e.applyGit(fleet("nginx:1.0", deps, replicas)...)
	first := time.Since(start)
	t.Logf("first rollout of %d pods: %s", deps*replicas, first.Round(time.Millisecond))
	trials, withDaemon := 10, 5
	if testing.Short() {
		trials, withDaemon = 2, 1
	}
	images := []string{"nginx:2.0", "nginx:1.0"}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	var d *daemon
	for i := range trials {
		if i == trials-withDaemon {
			d = e.startDaemon("20s")
			d.waitPasses(t, 1, time.Minute)
		}
		image := images[i%2]
		e.push(fleet(image, deps, replicas)...)
		run := e.start(e.fromGit("apply", "--lock-ttl", "3s", "--wait-for-lock", "1m")...)
		// Anywhere from fetching the commit to the last pods' rules.
		delay := 200*time.Millisecond + time.Duration(rng.Int64N(int64(first*8/10)))
		time.Sleep(delay)
		run.cmd.Process.Kill()
		killed := run.wait(t, 30*time.Second)
		t0 := time.Now()
		e.converge(t)
		t.Logf("trial %d (daemon %v): killed after %s (exit %d), converged in %s",
			i+1, d != nil, delay, killed.code, time.Since(t0).Round(time.Millisecond))
		e.checkConverged(t, image, deps, replicas)
		if t.Failed() {
			if d != nil {
				t.Logf("daemon log:\n%s", d.log())
			}
			t.FailNow()
		}
	}
	t.Logf("%d kill trials (%d with a daemon): %s", trials, withDaemon, time.Since(start).Round(time.Second))
}

// A host that becomes unreachable, or whose dockerd restarts, in the middle
// of an apply, and a host whose /var/lib/reconcile is wiped: each converges
// on the next apply, and the other hosts keep their VIPs and pods.
func TestFaultHostsMidApply(t *testing.T) {
	e := newEnv(t)
	e.clearLocks()
	const deps, replicas = 3, 4
	e.applyGit(fleet("nginx:1.0", deps, replicas)...)
	vips := e.clusterIPs()

	t.Run("unreachable", func(t *testing.T) {
		e.push(fleet("nginx:2.0", deps, replicas)...)
		// A short lock ttl: the run cannot release its lock on the host it
		// lost, and the next apply would wait out the default minute.
		run := e.start(e.fromGit("apply", "--lock-ttl", "5s")...)
		time.Sleep(1500 * time.Millisecond)
		block := []string{"INPUT", "-p", "tcp", "--dport", "22", "-j", "REJECT", "--reject-with", "tcp-reset"}
		e.mustExec("node-3", append([]string{"iptables", "-I"}, block...)...)
		unblocked := false
		t.Cleanup(func() {
			if !unblocked {
				e.exec("node-3", append([]string{"iptables", "-D"}, block...)...)
			}
		})
		r := run.wait(t, 3*time.Minute)
		t.Logf("apply with node-3 cut off mid-run: exit %d", r.code)
		e.mustExec("node-3", append([]string{"iptables", "-D"}, block...)...)
		unblocked = true
		e.converge(t)
		e.checkConverged(t, "nginx:2.0", deps, replicas)
	})
	t.Run("dockerd restarted", func(t *testing.T) {
		e.push(fleet("nginx:1.0", deps, replicas)...)
		run := e.start(e.fromGit("apply")...)
		time.Sleep(1500 * time.Millisecond)
		if err := e.l.StopDocker(e.ctx(time.Minute), "node-2"); err != nil {
			t.Fatal(err)
		}
		if err := e.l.StartDocker(e.ctx(2*time.Minute), "node-2"); err != nil {
			t.Fatal(err)
		}
		r := run.wait(t, 3*time.Minute)
		t.Logf("apply with node-2's dockerd restarted mid-run: exit %d", r.code)
		e.converge(t)
		e.checkConverged(t, "nginx:1.0", deps, replicas)
	})
	t.Run("state wiped", func(t *testing.T) {
		e.mustExec("node-1", "sh", "-c", "rm -rf /var/lib/reconcile/* /var/lib/reconcile/.[!.]*")
		e.converge(t)
		e.checkConverged(t, "nginx:1.0", deps, replicas)
		now := e.clusterIPs()
		for name, vip := range vips {
			if got := now[name]; got != vip {
				t.Errorf("service %s: ClusterIP %s after node-1's state was wiped, was %s", name, got, vip)
			}
		}
	})
}

// One image that cannot be pulled is that Deployment's problem: the other
// Deployments roll out spread over every host, the run exits 5 naming the
// pod, the host and the pull error, and get pods shows the reason.
func TestFaultBadImageIsThePodsProblem(t *testing.T) {
	e := newEnv(t)
	e.push(web("good", "nginx:1.0", 3, "", ""), service("good", "good", ""),
		web("bad", "nosuch.invalid/image:1", 2, "", ""))
	start := time.Now()
	r := e.run(e.fromGit("apply")...)
	t.Logf("apply with a bad image: exit %d after %s", r.code, time.Since(start).Round(time.Millisecond))
	if r.code != 5 {
		t.Fatalf("apply with a bad image: want exit 5, got %s", r)
	}
	for _, want := range []string{"deployment default/bad: pod bad-", " on node-", "ErrImagePull", "nosuch.invalid/image:1"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("apply's error does not say %q:\n%s", want, r.stderr)
		}
	}
	if regexp.MustCompile(`(?m)^(error: )?node node-[0-9]+: |: unreachable: `).MatchString(r.stderr) {
		t.Errorf("a host was called unreachable for a pod's image:\n%s", r.stderr)
	}
	nodes := map[string]int{}
	for _, p := range e.pods("app=good") {
		if p.ready() {
			nodes[p.Spec.NodeName]++
		}
	}
	if len(nodes) != 3 {
		t.Errorf("good pods by node %v; want one on each of the 3 nodes", nodes)
	}
	out := e.mustRun(0, e.fromGit("get", "pods", "-l", "app=bad")...).stdout
	if !strings.Contains(out, "ImagePullBackOff") && !strings.Contains(out, "ErrImagePull") {
		t.Errorf("get pods does not show why bad has no pod:\n%s", out)
	}
}

// pushTree commits a tree of several paths, each holding the Cluster plus
// its documents.
func (e *env) pushTree(paths map[string][]string) {
	e.t.Helper()
	dir := e.t.TempDir()
	cluster, err := os.ReadFile(e.l.ClusterFile)
	if err != nil {
		e.t.Fatal(err)
	}
	for p, docs := range paths {
		d := filepath.Join(dir, p)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "cluster.yaml"), cluster, 0o644)
		for i, doc := range docs {
			os.WriteFile(filepath.Join(d, fmt.Sprintf("m%02d.yaml", i)), []byte(doc), 0o644)
		}
	}
	if _, err := e.l.PushGit(e.ctx(time.Minute), dir, e.t.Name()); err != nil {
		e.t.Fatalf("push: %v", err)
	}
}

// Two paths of one repository applying to one Cluster prune only their own
// pods; the other's are shown as foreign, and taking over its Deployment
// is refused.
func TestFaultTwoSources(t *testing.T) {
	e := newEnv(t)
	other := func(args ...string) []string { return append(args, "--repo", e.l.GitURL, "--path", "other") }
	e.pushTree(map[string][]string{
		"app":   {web("mine", "nginx:1.0", 2, "", "")},
		"other": {web("theirs", "nginx:1.0", 2, "", "")},
	})
	e.mustRun(0, e.fromGit("apply")...)
	e.mustRun(0, other("apply")...)
	t.Cleanup(func() {
		// Leave nothing of the second source for the tests that follow.
		e.pushTree(map[string][]string{"app": nil, "other": nil})
		e.run(e.fromGit("apply", "--allow-empty")...)
		e.run(other("apply", "--allow-empty")...)
	})
	if n := len(e.pods("app=mine")); n != 2 {
		t.Errorf("source other pruned source app's pods: %d of 2 left", n)
	}
	d := e.mustRun(0, e.fromGit("diff")...)
	if !strings.Contains(d.stdout, "of other sources, left alone") || !strings.Contains(d.stdout, "theirs-") {
		t.Errorf("diff of app does not show other's pods as foreign:\n%s", d.stdout)
	}
	if n := len(e.pods("app=theirs")); n != 2 {
		t.Errorf("source app pruned other's pods: %d of 2 left", n)
	}
	e.pushTree(map[string][]string{
		"app":   {web("mine", "nginx:1.0", 2, "", "")},
		"other": {web("theirs", "nginx:1.0", 2, "", ""), web("mine", "nginx:1.0", 3, "", "")},
	})
	r := e.run(other("apply")...)
	if r.code != 3 || !strings.Contains(r.stderr, "Deployment default/mine: its pods are managed by source") {
		t.Errorf("other declaring mine: want exit 3 naming the conflict, got %s", r)
	}
	if n := len(e.pods("app=mine")); n != 2 {
		t.Errorf("after the refused run: %d pods of mine, want 2", n)
	}
	// The nodes' VIP rules are one whole state: with app's Service on the
	// hosts, other may not write its own (that would delete app's VIP).
	e.pushTree(map[string][]string{
		"app":   {web("mine", "nginx:1.0", 2, "", ""), service("mine", "mine", "")},
		"other": {web("theirs", "nginx:1.0", 2, "", "")},
	})
	e.mustRun(0, e.fromGit("apply")...)
	vip := e.clusterIP("mine")
	r = e.run(other("apply")...)
	if r.code != 3 || !strings.Contains(r.stderr, "Service default/mine: managed by source") {
		t.Errorf("other over app's Service: want exit 3 naming the Service, got %s", r)
	}
	if out, err := e.getFromHost("node-1", "http://"+vip+"/", 3); err != nil {
		t.Errorf("app's VIP after other's refused run: %v\n%s", err, out)
	}
}

// hostSnapshot is what removing everything must leave as it was before
// the first apply: containers, networks, routes, every iptables table, the
// sysctls reconcile sets, and every file under /var/lib/reconcile except
// two that are kept on purpose: bin/ (the agent binary, named by its hash:
// the next run reuses it, and it is reconcile's program, not the host's
// state) and lock/ (the run lock, which the removing run itself holds
// until it ends and which a later run needs to be safe). The state records
// (state/) and the endpoints file must be gone: left behind, they would
// make the next run believe something is deployed.
//
// Three of dockerd's own rules are left out of iptables-save: its jumps
// from PREROUTING, OUTPUT and FORWARD into its DOCKER and
// DOCKER-ISOLATION-STAGE-1 chains. dockerd adds them when the first bridge
// network appears (the lab runs it with --bridge=none, so a fresh lab host
// has none; a host with docker0 has them before reconcile ever runs) and
// keeps them after the last one goes. They are dockerd's, not reconcile's,
// and reconcile never edits Docker's rules. Docker's rules for the pod
// bridge itself (rcn0) are compared: they must be gone.
func (e *env) hostSnapshot(node string) string {
	var b strings.Builder
	for _, cmd := range [][]string{
		{"docker", "ps", "-a", "--format", "{{.Names}} {{.Image}}"},
		{"docker", "network", "ls", "--format", "{{.Name}} {{.Driver}}"},
		{"ip", "-4", "route"},
		{"sh", "-c", "iptables-save | grep -v '^#' | sed 's/\\[[0-9:]*\\]//' | grep -Ev '^-A (PREROUTING|OUTPUT|FORWARD) (.* )?-j DOCKER(-ISOLATION-STAGE-1)?$'"},
		{"cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv4/conf/all/send_redirects"},
		{"sh", "-c", "find /var/lib/reconcile -path /var/lib/reconcile/bin -prune -o -path /var/lib/reconcile/lock -prune -o -print | sort"},
	} {
		out, _ := e.exec(node, cmd...)
		fmt.Fprintf(&b, "$ %s\n%s", strings.Join(cmd, " "), out)
	}
	return b.String()
}

// snapshots is every host's snapshot.
func (e *env) snapshots() map[string]string {
	m := map[string]string{}
	for _, h := range e.l.Hosts {
		m[h.Name] = e.hostSnapshot(h.Name)
	}
	return m
}

// sameHosts reports how each host differs from want.
func sameHosts(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	for n, w := range want {
		if got[n] != w {
			t.Errorf("%s: %s:\n%s", n, what, lineDiff(w, got[n]))
		}
	}
}

// Removing everything (an empty tree with --allow-empty) leaves each host
// as the lab made it, before the package's first apply; without the flag
// it is refused and nothing changes; diff and apply --dry-run show the
// teardown as a plan and change nothing.
func TestFaultRemoveEverything(t *testing.T) {
	e := newEnv(t)
	pristine := e.pristine()
	e.push() // only the Cluster
	e.mustRun(0, e.fromGit("apply", "--allow-empty")...)
	sameHosts(t, "an empty tree applied to clean hosts made something", pristine, e.snapshots())

	e.applyGit(fleet("nginx:1.0", 2, 3)...)
	e.push()
	r := e.run(e.fromGit("apply")...)
	if r.code != 3 || !strings.Contains(r.stderr, "--allow-empty") || !strings.Contains(r.stderr, "pod node-1: default/f0-") {
		t.Errorf("apply of an empty tree: want exit 3 naming the pods and --allow-empty, got %s", r)
	}
	if n := len(e.allPods()); n != 6 {
		t.Errorf("the refused apply left %d pods, want 6", n)
	}
	deployed := e.snapshots()
	d := e.run(e.fromGit("diff")...)
	if d.code != 1 || !strings.Contains(d.stdout, "Apply would refuse this plan") {
		t.Errorf("diff of an empty tree: want exit 1 and the refusal, got %s", d)
	}
	for _, want := range []string{"  - network reconcile-pods\n", "  - chain nat/RECONCILE-SERVICES\n", "  - hook filter/FORWARD: ",
		"  - route 198.18.", "  - file /var/lib/reconcile/endpoints.json\n", "  - pod default/f0-"} {
		if !strings.Contains(d.stdout, want) {
			t.Errorf("diff of an empty tree does not show %q:\n%s", want, d.stdout)
		}
	}
	dry := e.mustRun(0, e.fromGit("apply", "--allow-empty", "--dry-run")...)
	if !strings.Contains(dry.stdout, "  - network reconcile-pods\n") || strings.Contains(dry.stdout, "Apply would refuse") {
		t.Errorf("apply --allow-empty --dry-run: want the teardown plan without the refusal:\n%s", dry.stdout)
	}
	sameHosts(t, "diff or apply --dry-run changed the host", deployed, e.snapshots())

	r = e.mustRun(0, e.fromGit("apply", "--allow-empty")...)
	t.Logf("removing everything: %s", strings.TrimSpace(r.stderr[strings.LastIndex(strings.TrimSpace(r.stderr), "\n")+1:]))
	sameHosts(t, "after removing everything, differs from before the first apply", pristine, e.snapshots())
	if d := e.run(e.fromGit("diff")...); d.code != 0 {
		t.Errorf("diff after removing everything: want exit 0, got %s", d)
	}
}

// lineDiff lists the lines only in a (-) or only in b (+).
func lineDiff(a, b string) string {
	count := map[string]int{}
	for _, l := range strings.Split(a, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(b, "\n") {
		count[l]--
	}
	var out []string
	for l, c := range count {
		switch {
		case c > 0:
			out = append(out, "- "+l)
		case c < 0:
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
