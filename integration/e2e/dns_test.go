package e2e

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/reconcile-dev/reconcile/integration/lab"
)

// Cluster DNS, end to end: real pods of the lab image resolve with Go's own
// stub resolver (podserver resolve), which reads the pod's resolv.conf as
// any program there would.

// The lab's cluster DNS address: the tenth of its service range.
const labDNSIP = "198.19.0.10"

// dnsManifests are the seed's my-nginx, a client pod on every host, a
// Service in a second namespace and a headless Service over my-nginx.
func dnsManifests(t *testing.T) []string {
	return []string{seedDeployment(t), seedService(t), client(), `apiVersion: apps/v1
kind: Deployment
metadata: {name: other, namespace: team}
spec:
  replicas: 1
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec:
      containers:
      - {name: web, image: "nginx:1.0", imagePullPolicy: IfNotPresent, ports: [{containerPort: 80}]}
`, `apiVersion: v1
kind: Service
metadata: {name: other, namespace: team}
spec:
  selector: {app: other}
  ports: [{port: 80}]
`, `apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {run: my-nginx}
  ports: [{name: http, port: 80}]
`}
}

// resolveIn runs `podserver resolve` in a pod and returns its line and exit
// code (0 answered, 2 not found).
func (e *env) resolveIn(node, pod string, args ...string) (string, int) {
	e.t.Helper()
	out, err := e.exec(node, append([]string{"docker", "exec", pod, "/podserver", "resolve"}, args...)...)
	switch {
	case err == nil:
		return strings.TrimSpace(out), 0
	case strings.Contains(out, "error=notfound"):
		return strings.TrimSpace(out), 2
	}
	return strings.TrimSpace(out) + " (" + err.Error() + ")", 1
}

// mustResolve fails unless name resolves in the pod to exactly want.
func (e *env) mustResolve(node, pod, want string, args ...string) {
	e.t.Helper()
	out, code := e.resolveIn(node, pod, args...)
	if code != 0 || field(out, "answer") != want {
		e.t.Errorf("%s: pod %s: resolve %v: %s, want answer=%s", node, pod, args, out, want)
	}
}

func elapsed(t *testing.T, line string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(field(line, "elapsed"))
	if err != nil {
		t.Fatalf("no elapsed= in %q", line)
	}
	return d
}

func (e *env) readyIPs(selector string) string {
	e.t.Helper()
	var ips []string
	for _, p := range e.pods(selector) {
		if p.ready() {
			ips = append(ips, p.Status.PodIP)
		}
	}
	sort.Strings(ips)
	return strings.Join(ips, ",")
}

// dnsServer is the cluster DNS container's process on a host, as Docker
// reports it.
func (e *env) dnsServer(node string) string {
	e.t.Helper()
	out, err := e.exec(node, "docker", "inspect", "-f", "{{.State.Status}} pid={{.State.Pid}} started={{.State.StartedAt}} image={{.Config.Image}}", "reconcile-dns")
	if err != nil {
		return "missing: " + err.Error()
	}
	return strings.TrimSpace(out)
}

func TestClusterDNS(t *testing.T) {
	e := newEnv(t)
	start := time.Now()
	e.applyGit(dnsManifests(t)...)
	t.Logf("apply took %s", time.Since(start).Round(time.Millisecond))
	vip := e.clusterIP("my-nginx")
	otherIP := e.clusterIPIn("team", "other")

	t.Run("kube-dns in get and describe", func(t *testing.T) {
		r := e.mustRun(0, e.fromGit("get", "svc", "-n", "kube-system")...)
		if !regexp.MustCompile(`(?m)^kube-dns\s+ClusterIP\s+` + regexp.QuoteMeta(labDNSIP) + `\s+<none>\s+53/UDP,53/TCP\s`).MatchString(r.stdout) {
			t.Errorf("get svc -n kube-system:\n%s", r.stdout)
		}
		r = e.mustRun(0, e.fromGit("describe", "svc", "kube-dns", "-n", "kube-system")...)
		if !strings.Contains(r.stdout, "IP:                "+labDNSIP+"\n") {
			t.Errorf("describe svc kube-dns:\n%s", r.stdout)
		}
	})

	t.Run("pod resolv.conf", func(t *testing.T) {
		pod := e.podOn("app=client", "node-1")
		conf := e.mustExec("node-1", "sh", "-c", "docker inspect -f '{{range .Mounts}}{{if eq .Destination \"/etc/resolv.conf\"}}{{.Source}}{{end}}{{end}}' "+pod+" | xargs cat")
		want := "nameserver " + labDNSIP + "\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
		if !strings.HasSuffix(conf, want) {
			t.Errorf("pod %s resolv.conf:\n%s\nwant it to end with\n%s", pod, conf, want)
		}
		if h := strings.TrimSpace(e.mustExec("node-1", "docker", "exec", pod, "/podserver", "get", "-timeout", "3s", "http://127.0.0.1/")); field(h, "hostname") != pod {
			t.Errorf("the pod's hostname is %q, want %s", field(h, "hostname"), pod)
		}
		// What the demo shows.
		ns := e.mustExec("node-1", "docker", "exec", pod, "/podserver", "nslookup", "my-nginx")
		if want := "Server:    " + labDNSIP + "\nAddress 1: " + labDNSIP + "\n\nName:      my-nginx.default.svc.cluster.local\nAddress 1: " + vip + "\n"; ns != want {
			t.Errorf("nslookup my-nginx:\n%s\nwant:\n%s", ns, want)
		}
	})

	t.Run("names from every host", func(t *testing.T) {
		for _, h := range e.l.Hosts {
			pod := e.podOn("app=client", h.Name)
			for _, name := range []string{"my-nginx", "my-nginx.default", "my-nginx.default.svc.cluster.local"} {
				e.mustResolve(h.Name, pod, vip, name)
			}
			out, err := e.getFromPod(h.Name, pod, "http://my-nginx/", 1)
			if err != nil || !strings.HasPrefix(field(out, "hostname"), "my-nginx-") {
				t.Errorf("%s: GET http://my-nginx/ from %s: %v\n%s", h.Name, pod, err, out)
			}
			e.mustResolve(h.Name, pod, otherIP, "other.team")
		}
	})

	pod := e.podOn("app=client", "node-2")
	t.Run("headless, SRV, PTR", func(t *testing.T) {
		e.mustResolve("node-2", pod, e.readyIPs("run=my-nginx"), "db")
		var srv []string
		for _, p := range e.pods("run=my-nginx") {
			srv = append(srv, p.Metadata.Name+".db.default.svc.cluster.local.:80")
		}
		sort.Strings(srv)
		e.mustResolve("node-2", pod, strings.Join(srv, ","), "-type", "SRV", "_http._tcp.db.default.svc.cluster.local")
		e.mustResolve("node-2", pod, "my-nginx.default.svc.cluster.local.", "-type", "PTR", vip)
		mine := e.pods("run=my-nginx")[0]
		e.mustResolve("node-2", pod, mine.Metadata.Name+".db.default.svc.cluster.local.", "-type", "PTR", mine.Status.PodIP)
	})

	t.Run("unknown cluster name is NXDOMAIN at once", func(t *testing.T) {
		// A short unknown name ends, after the search list, as a query for
		// the bare name to the upstream: only the FQDN is the cluster's alone.
		for _, name := range []string{"nope.default.svc.cluster.local.", "nope.team.svc.cluster.local."} {
			out, code := e.resolveIn("node-2", pod, name)
			if code != 2 {
				t.Fatalf("resolve %s: %s, want not found", name, out)
			}
			if d := elapsed(t, out); d > 50*time.Millisecond {
				t.Errorf("resolve %s: NXDOMAIN after %s, want under 50ms", name, d)
			}
			t.Logf("%s", out)
		}
	})
}

// clusterIPIn is clusterIP for a Service of another namespace.
func (e *env) clusterIPIn(ns, name string) string {
	e.t.Helper()
	r := e.mustRun(0, e.fromGit("get", "svc", name, "-n", ns, "-o", "json")...)
	m := regexp.MustCompile(`"clusterIP": "([^"]*)"`).FindStringSubmatch(r.stdout)
	if m == nil {
		e.t.Fatalf("get svc %s -n %s -o json:\n%s", name, ns, r.stdout)
	}
	return m[1]
}

// A name outside the cluster is forwarded to the host's resolver (its
// resolv.conf), here a dnsmasq the test starts on node-1.
func TestClusterDNSForwards(t *testing.T) {
	e := newEnv(t)
	e.applyGit(dnsManifests(t)...)
	e.upstream(t, "outside.example", "203.0.113.7")
	for _, h := range e.l.Hosts {
		pod := e.podOn("app=client", h.Name)
		e.mustResolve(h.Name, pod, "203.0.113.7", "www.outside.example")
	}
}

// upstream runs dnsmasq on the lab's upstream address (every host's
// resolv.conf names it) answering addr for every name under domain, until
// the test ends.
func (e *env) upstream(t *testing.T, domain, addr string) {
	t.Helper()
	go e.l.Exec(e.ctx(10*time.Minute), "node-1", "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
		"--listen-address="+lab.UpstreamDNS, "--bind-interfaces", "--port=53", "--pid-file=/run/lab/upstream-dns.pid",
		"--address=/"+domain+"/"+addr, "--user=root")
	t.Cleanup(func() { e.exec("node-1", "sh", "-c", "kill $(cat /run/lab/upstream-dns.pid)") })
	eventually(t, 10*time.Second, func() error {
		_, err := e.exec("node-1", e.podserver(), "resolve", "-timeout", "1s", "probe."+domain+".")
		return err
	})
}

// In daemon mode a killed pod leaves a headless Service's answers within
// 2 s, as it leaves the endpoints file.
func TestClusterDNSHeadlessDropsKilledPod(t *testing.T) {
	e := newEnv(t)
	e.applyGit(dnsManifests(t)...)
	d := e.startDaemon("5m")
	d.waitPasses(t, 1, time.Minute)
	time.Sleep(time.Second) // let the event streams open

	victim := e.pods("run=my-nginx")[0]
	asker := "node-1"
	if victim.Spec.NodeName == asker {
		asker = "node-2"
	}
	pod := e.podOn("app=client", asker)
	if out, _ := e.resolveIn(asker, pod, "db"); !strings.Contains(field(out, "answer"), victim.Status.PodIP) {
		t.Fatalf("before the kill: %s, want %s in it", out, victim.Status.PodIP)
	}
	e.mustExec(victim.Spec.NodeName, "docker", "kill", victim.Metadata.Name)
	took := timed(t, 10*time.Second, func() error {
		out, code := e.resolveIn(asker, pod, "-timeout", "1s", "db")
		if code == 0 && strings.Contains(field(out, "answer"), victim.Status.PodIP) {
			return fmt.Errorf("db still answers %s", field(out, "answer"))
		}
		return nil
	})
	t.Logf("killed pod left the headless answers on %s in %s", asker, took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("the killed pod left the headless answers after %s, want within 2s", took)
	}
}

// A pod's lookups never depend on another host: with node-3 cut off, pods
// on the other hosts keep resolving, at once.
func TestClusterDNSWithHostDown(t *testing.T) {
	e := newEnv(t)
	e.applyGit(dnsManifests(t)...)
	vip := e.clusterIP("my-nginx")
	pods := map[string]string{"node-1": e.podOn("app=client", "node-1"), "node-2": e.podOn("app=client", "node-2")}
	e.mustExec("node-3", "ip", "link", "set", "eth0", "down")
	t.Cleanup(func() { e.exec("node-3", "ip", "link", "set", "eth0", "up") })
	for node, pod := range pods {
		for range 5 {
			out, code := e.resolveIn(node, pod, "-timeout", "2s", "my-nginx")
			if code != 0 || field(out, "answer") != vip {
				t.Errorf("%s with node-3 down: %s, want %s", node, out, vip)
			} else if d := elapsed(t, out); d > 100*time.Millisecond {
				t.Errorf("%s with node-3 down: answered after %s", node, d)
			}
		}
	}
}

// The DNS server is reconcile's, not the CLI's: the same process across
// applies that change nothing, back by itself after a dockerd restart, and
// answering with no CLI run since.
func TestClusterDNSServerSurvives(t *testing.T) {
	e := newEnv(t)
	e.applyGit(dnsManifests(t)...)
	vip := e.clusterIP("my-nginx")
	before := map[string]string{}
	for _, h := range e.l.Hosts {
		before[h.Name] = e.dnsServer(h.Name)
		if !strings.HasPrefix(before[h.Name], "running pid=") {
			t.Fatalf("%s: DNS server %s", h.Name, before[h.Name])
		}
	}
	e.mustRun(0, e.fromGit("apply")...)
	e.mustRun(0, e.fromGit("diff")...)
	for _, h := range e.l.Hosts {
		if got := e.dnsServer(h.Name); got != before[h.Name] {
			t.Errorf("%s: DNS server after a no-op apply: %s, was %s", h.Name, got, before[h.Name])
		}
	}
	// get pods and prune leave it alone.
	if r := e.mustRun(0, e.fromGit("get", "pods", "-A")...); strings.Contains(r.stdout, "reconcile-dns") {
		t.Errorf("get pods -A lists the DNS server:\n%s", r.stdout)
	}

	if err := e.l.StopDocker(e.ctx(time.Minute), "node-2"); err != nil {
		t.Fatal(err)
	}
	if err := e.l.StartDocker(e.ctx(time.Minute), "node-2"); err != nil {
		t.Fatal(err)
	}
	// No CLI from here on.
	eventually(t, 60*time.Second, func() error {
		got := e.dnsServer("node-2")
		if !strings.HasPrefix(got, "running pid=") || got == before["node-2"] {
			return fmt.Errorf("DNS server on node-2 after dockerd restart: %s", got)
		}
		pod := ""
		for _, line := range strings.Split(e.mustExec("node-2", "docker", "ps", "--format", "{{.Names}}"), "\n") {
			if strings.HasPrefix(line, "client-") {
				pod = line
			}
		}
		if pod == "" {
			return fmt.Errorf("client pod on node-2 not running again")
		}
		if out, code := e.resolveIn("node-2", pod, "-timeout", "1s", "my-nginx"); code != 0 || field(out, "answer") != vip {
			return fmt.Errorf("resolve from %s: %s", pod, out)
		}
		return nil
	})
	t.Logf("node-2 DNS server after dockerd restart: %s", e.dnsServer("node-2"))

	// Removed by hand, it is drift: the next sync pass puts it back (the
	// first pass here converges what the dockerd restart left to do).
	e.mustRun(0, e.fromGit("sync", "--once")...)
	e.mustExec("node-3", "docker", "rm", "-f", "reconcile-dns")
	r := e.mustRun(0, e.fromGit("sync", "--once", "--log-format", "json")...)
	if got := e.dnsServer("node-3"); !strings.HasPrefix(got, "running pid=") {
		t.Errorf("node-3 DNS server after sync --once: %s\n%s", got, r)
	}
	if !strings.Contains(r.stderr, "dns-server") {
		t.Errorf("sync --once did not report the DNS server as drift:\n%s", r.stderr)
	}
}
