package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// client runs one lab-image pod on every host, to send requests from pods.
func client() string { return web("client", "nginx:1.0", 3, "", "") }

// clusterIP reads a Service's ClusterIP with get svc -o json.
func (e *env) clusterIP(name string) string {
	e.t.Helper()
	r := e.mustRun(0, e.fromGit("get", "svc", name, "-o", "json")...)
	var s struct {
		Spec struct {
			ClusterIP string `json:"clusterIP"`
			Ports     []struct {
				NodePort int `json:"nodePort"`
			} `json:"ports"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		e.t.Fatalf("get svc -o json: %v\n%s", err, r.stdout)
	}
	return s.Spec.ClusterIP
}

func (e *env) nodePort(name string) int {
	e.t.Helper()
	r := e.mustRun(0, e.fromGit("get", "svc", name, "-o", "json")...)
	var s struct {
		Spec struct {
			Ports []struct {
				NodePort int `json:"nodePort"`
			} `json:"ports"`
		} `json:"spec"`
	}
	json.Unmarshal([]byte(r.stdout), &s)
	if len(s.Spec.Ports) == 0 || s.Spec.Ports[0].NodePort == 0 {
		e.t.Fatalf("no nodePort in %s", r.stdout)
	}
	return s.Spec.Ports[0].NodePort
}

// podOn returns the name of a pod of selector on node.
func (e *env) podOn(selector, node string) string {
	e.t.Helper()
	for _, p := range e.pods(selector) {
		if p.Spec.NodeName == node {
			return p.Metadata.Name
		}
	}
	e.t.Fatalf("no pod %s on %s", selector, node)
	return ""
}

// checkSpread asserts n answers all came from the want pods, each at least
// a quarter of the time.
func checkSpread(t *testing.T, from, out string, n int, want []string) {
	t.Helper()
	counts := countBy(out)
	total := 0
	for _, c := range counts {
		total += c
	}
	if total != n {
		t.Errorf("%s: %d of %d requests answered", from, total, n)
	}
	for _, p := range want {
		if counts[p] < n/4 {
			t.Errorf("%s: pod %s answered %d of %d requests, want >= 25%% (%v)", from, p, counts[p], n, counts)
		}
	}
	for p := range counts {
		if !contains(want, p) {
			t.Errorf("%s: answer from %s, which is not behind the service", from, p)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// The second half of the seed story: a stable ClusterIP load-balanced to both
// pods from every host and from a pod on every host.
func TestSeedServiceVIP(t *testing.T) {
	e := newEnv(t)
	e.applyGit(seedDeployment(t), seedService(t), client())

	svc := e.mustRun(0, e.fromGit("get", "svc", "my-nginx")...)
	t.Logf("get svc my-nginx:\n%s", svc.stdout)
	if !regexp.MustCompile(`(?m)^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\nmy-nginx\s+ClusterIP\s+198\.19\.\d+\.\d+\s+<none>\s+80/TCP\s+\S+\n$`).MatchString(svc.stdout) {
		t.Errorf("get svc columns:\n%s", svc.stdout)
	}
	vip := e.clusterIP("my-nginx")
	if !netip.MustParsePrefix("198.19.0.0/16").Contains(netip.MustParseAddr(vip)) {
		t.Fatalf("ClusterIP %s not in the serviceCIDR", vip)
	}
	var backends, ips []string
	for _, p := range e.pods("run=my-nginx") {
		backends = append(backends, p.Metadata.Name)
		ips = append(ips, p.Status.PodIP+":80")
	}
	sort.Strings(ips)
	desc := e.mustRun(0, e.fromGit("describe", "svc", "my-nginx")...)
	t.Logf("describe svc my-nginx:\n%s", desc.stdout)
	for _, want := range []string{"Name:              my-nginx", "Selector:          run=my-nginx", "Type:              ClusterIP",
		"IP:                " + vip, "Port:              <unset>  80/TCP", "Endpoints:         " + strings.Join(ips, ","), "Session Affinity:  None"} {
		if !strings.Contains(desc.stdout, want+"\n") {
			t.Errorf("describe svc lacks %q", want)
		}
	}
	ep := e.mustRun(0, e.fromGit("get", "ep", "my-nginx")...)
	if !strings.Contains(ep.stdout, "my-nginx   "+strings.Join(ips, ",")) {
		t.Errorf("get ep:\n%s", ep.stdout)
	}

	const n = 200
	for _, h := range e.l.Hosts {
		if out := e.mustExec(h.Name, "ip", "route", "show", "default"); strings.TrimSpace(out) != "" {
			t.Fatalf("%s has a default route %q; the lab's hosts have none", h.Name, out)
		}
		out, err := e.getFromHost(h.Name, "http://"+vip+"/", n)
		if err != nil {
			t.Errorf("%s (no default route) -> VIP: %v", h.Name, err)
		}
		checkSpread(t, h.Name, out, n, backends)
		c := e.podOn("app=client", h.Name)
		out, err = e.getFromPod(h.Name, c, "http://"+vip+"/", n)
		if err != nil {
			t.Errorf("pod %s -> VIP: %v", c, err)
		}
		checkSpread(t, "pod "+c, out, n, backends)
	}
}

// endpointsFile reads the endpoints file of a host.
func (e *env) endpointsFile(node string) string {
	return e.mustExec(node, "cat", "/var/lib/reconcile/endpoints.json")
}

// The ClusterIP survives another runner with an empty cache and a pod being
// replaced; a deleted Service loses its rules and its address.
func TestClusterIPStable(t *testing.T) {
	e := newEnv(t)
	e.applyGit(seedDeployment(t), seedService(t))
	vip := e.clusterIP("my-nginx")

	other := &env{t: t, l: e.l, cache: t.TempDir()} // a second runner
	other.mustRun(0, other.fromGit("apply")...)
	if got := other.clusterIP("my-nginx"); got != vip {
		t.Errorf("ClusterIP from a second runner: %s, was %s", got, vip)
	}
	victim := e.pods("run=my-nginx")[0]
	e.mustExec(victim.Spec.NodeName, "docker", "rm", "-f", victim.Metadata.Name)
	e.mustRun(0, e.fromGit("apply")...)
	if got := e.clusterIP("my-nginx"); got != vip {
		t.Errorf("ClusterIP after a pod was replaced: %s, was %s", got, vip)
	}

	e.applyGit(seedDeployment(t))
	for _, h := range e.l.Hosts {
		if out := e.mustExec(h.Name, "iptables-save", "-t", "nat"); strings.Contains(out, vip) {
			t.Errorf("%s: rules for the deleted service remain:\n%s", h.Name, grep(out, vip))
		}
		if out := e.mustExec(h.Name, "cat", "/var/lib/reconcile/state/allocations.json"); strings.Contains(out, vip) || strings.Contains(out, "my-nginx") {
			t.Errorf("%s: the deleted service's address is still allocated:\n%s", h.Name, out)
		}
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A container killed by hand is restarted in its pod by the host's
// supervisor, as the kubelet does (the pod is not replaced); the endpoints
// file and the rules on every host list exactly the ready pods after the
// next apply, and the VIP keeps working.
func TestKilledPodLeavesEndpoints(t *testing.T) {
	e := newEnv(t)
	e.applyGit(web("kill", "nginx:1.0", 2, "", ""), service("kill", "kill", ""))
	victim := e.pods("app=kill")[0]
	e.mustExec(victim.Spec.NodeName, "docker", "kill", victim.Metadata.Name)
	e.mustRun(0, e.fromGit("apply")...)

	pods := e.pods("app=kill")
	var want []string
	for _, p := range pods {
		if p.ready() {
			want = append(want, p.Status.PodIP)
		}
	}
	vip := e.clusterIP("kill")
	for _, h := range e.l.Hosts {
		file := e.endpointsFile(h.Name)
		for _, ip := range want {
			if !strings.Contains(file, `"ip": "`+ip+`"`) {
				t.Errorf("%s: the endpoints file lacks pod IP %s", h.Name, ip)
			}
		}
		if out, err := e.getFromHost(h.Name, "http://"+vip+"/", 50); err != nil {
			t.Errorf("%s: requests to the VIP failed after the replacement: %v\n%s", h.Name, err, out)
		}
	}
}

// The endpoints file is the same on every host, equals get ep -o json and
// parses as Kubernetes Endpoints naming the pods' IPs.
func TestEndpointsFileMatchesGetEp(t *testing.T) {
	e := newEnv(t)
	e.push(seedDeployment(t), seedService(t))
	local := filepath.Join(t.TempDir(), "endpoints.json")
	e.mustRun(0, e.fromGit("apply", "--endpoints-file", local)...)
	// -A: the file holds every namespace's Endpoints (kube-system's
	// kube-dns too), get ep one namespace's unless told.
	r := e.mustRun(0, e.fromGit("get", "ep", "-A", "-o", "json")...)
	var fromCLI, fromFile struct {
		Items []json.RawMessage `json:"items"`
	}
	json.Unmarshal([]byte(r.stdout), &fromCLI)
	first := e.endpointsFile("node-1")
	for _, h := range e.l.Hosts {
		if f := e.endpointsFile(h.Name); f != first {
			t.Errorf("%s: endpoints file differs from node-1's", h.Name)
		}
	}
	if b, err := os.ReadFile(local); err != nil || string(b) != first {
		t.Errorf("--endpoints-file %s differs from the hosts' file (%v):\n%s", local, err, b)
	}
	if err := json.Unmarshal([]byte(first), &fromFile); err != nil {
		t.Fatalf("endpoints file: %v", err)
	}
	if fmt.Sprint(canon(fromCLI.Items)) != fmt.Sprint(canon(fromFile.Items)) {
		t.Errorf("get ep -o json:\n%s\nendpoints file:\n%s", r.stdout, first)
	}
	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			Kind     string `json:"kind"`
			Metadata struct{ Name string }
			Subsets  []struct {
				Addresses []struct {
					IP        string `json:"ip"`
					NodeName  string `json:"nodeName"`
					TargetRef struct{ Kind, Name string }
				} `json:"addresses"`
				Ports []struct {
					Port     int    `json:"port"`
					Protocol string `json:"protocol"`
				} `json:"ports"`
			} `json:"subsets"`
		} `json:"items"`
	}
	json.Unmarshal([]byte(first), &list)
	var ips []string
	for _, p := range e.pods("run=my-nginx") {
		ips = append(ips, p.Status.PodIP+"@"+p.Spec.NodeName+"/"+p.Metadata.Name)
	}
	sort.Strings(ips)
	var got []string
	for _, it := range list.Items {
		if it.Kind != "Endpoints" || it.Metadata.Name != "my-nginx" {
			continue
		}
		for _, ss := range it.Subsets {
			for _, a := range ss.Addresses {
				got = append(got, a.IP+"@"+a.NodeName+"/"+a.TargetRef.Name)
			}
			if len(ss.Ports) != 1 || ss.Ports[0].Port != 80 || ss.Ports[0].Protocol != "TCP" {
				t.Errorf("ports %+v", ss.Ports)
			}
		}
	}
	sort.Strings(got)
	if list.Kind != "EndpointsList" || strings.Join(got, " ") != strings.Join(ips, " ") {
		t.Errorf("endpoints %v (kind %s), want the pods %v", got, list.Kind, ips)
	}
}

func canon(items []json.RawMessage) []string {
	var out []string
	for _, it := range items {
		var v any
		json.Unmarshal(it, &v)
		b, _ := json.Marshal(v)
		out = append(out, string(b))
	}
	return out
}

// A pod reaches itself through its own Service's VIP.
func TestHairpin(t *testing.T) {
	e := newEnv(t)
	e.applyGit(web("hair", "nginx:1.0", 1, "", ""), service("hair", "hair", ""))
	p := e.pods("app=hair")[0]
	out, err := e.getFromPod(p.Spec.NodeName, p.Metadata.Name, "http://"+e.clusterIP("hair")+"/", 5)
	if err != nil || countBy(out)[p.Metadata.Name] != 5 {
		t.Errorf("hairpin: pod %s -> its own VIP: %v\n%s", p.Metadata.Name, err, out)
	}
}

// A NodePort Service answers on every host's address from outside the
// cluster, reaching the pod wherever it runs.
func TestNodePort(t *testing.T) {
	e := newEnv(t)
	e.applyGit(web("np", "nginx:1.0", 1, "", ""), service("np", "np", "  type: NodePort\n"))
	port := e.nodePort("np")
	if port < 30000 || port > 32767 {
		t.Fatalf("nodePort %d outside 30000-32767", port)
	}
	backend := e.pods("app=np")[0]
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, h := range e.l.Hosts {
		url := fmt.Sprintf("http://%s:%d/", h.IP, port)
		resp, err := c.Get(url) // from the root namespace: outside the cluster
		if err != nil {
			t.Errorf("%s (pod on %s): %v", url, backend.Spec.NodeName, err)
			continue
		}
		var body strings.Builder
		fmt.Fprint(&body, readAll(resp))
		if field(body.String(), "hostname") != backend.Metadata.Name {
			t.Errorf("%s answered %q, want pod %s", url, body.String(), backend.Metadata.Name)
		}
	}
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// UDP service ports and ClientIP session affinity.
func TestUDPAndSessionAffinity(t *testing.T) {
	e := newEnv(t)
	e.applyGit(web("sticky", "nginx:1.0", 3, "", ""), client(), `apiVersion: v1
kind: Service
metadata: {name: sticky}
spec:
  selector: {app: sticky}
  sessionAffinity: ClientIP
  ports:
  - {name: http, port: 80, targetPort: 80}
  - {name: echo, port: 53, targetPort: 80, protocol: UDP}
`)
	vip := e.clusterIP("sticky")
	c := e.podOn("app=client", "node-2")
	out, err := e.getFromPod("node-2", c, "http://"+vip+"/", 30)
	if err != nil || len(countBy(out)) != 1 {
		t.Errorf("ClientIP affinity: 30 requests from one pod reached %v (%v)", countBy(out), err)
	}
	out, err = e.exec("node-2", "docker", "exec", c, "/podserver", "udp", "-timeout", "3s", vip+":53", "ping")
	if err != nil || !strings.HasPrefix(field(out, "hostname"), "sticky-") {
		t.Errorf("UDP to %s:53: %v %q", vip, err, out)
	}
}

// Apply changes no chain we do not own: with the hooks in place, a new
// Service touches only RECONCILE-* chains.
func TestForeignChainsUntouched(t *testing.T) {
	e := newEnv(t)
	e.applyGit(web("a", "nginx:1.0", 1, "", ""), service("a", "a", ""))
	foreign := func() map[string]string {
		m := map[string]string{}
		for _, h := range e.l.Hosts {
			var keep []string
			for _, table := range []string{"nat", "filter"} {
				for _, l := range strings.Split(e.mustExec(h.Name, "iptables-save", "-t", table), "\n") {
					if strings.HasPrefix(l, "#") || strings.Contains(l, "RECONCILE-") || strings.HasPrefix(l, ":") && strings.Contains(l, "[") {
						continue
					}
					keep = append(keep, table+" "+l)
				}
			}
			m[h.Name] = strings.Join(keep, "\n")
		}
		return m
	}
	before := foreign()
	e.applyGit(web("a", "nginx:1.0", 1, "", ""), service("a", "a", ""), web("b", "nginx:1.0", 2, "", ""), service("b", "b", "  type: NodePort\n"))
	after := foreign()
	for _, h := range e.l.Hosts {
		if before[h.Name] != after[h.Name] {
			t.Errorf("%s: rules outside our chains changed:\nbefore:\n%s\nafter:\n%s", h.Name, before[h.Name], after[h.Name])
		}
	}
}
