package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	stdnet "net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reconcile-dev/reconcile/integration/lab"
)

// TestLoadBalancer: a LoadBalancer Service answers on every host's address
// from the root namespace (the test process, outside the cluster), its
// hosts' addresses are its status.loadBalancer.ingress, source ranges that
// leave the client out block it, and with externalTrafficPolicy Local the
// pod sees the client's own address while a host without a local
// endpoint does not answer.
func TestLoadBalancer(t *testing.T) {
	lb := func(extra string) string { return service("lb", "lb", "  type: LoadBalancer\n"+extra) }
	e, r := labApply(t, web("lb", "nginx:1.0", 1, "", ""), lb(""))
	if r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	var hosts []string
	for _, h := range e.l.Hosts {
		hosts = append(hosts, h.IP)
	}
	if got := e.ingress("lb"); !slices.Equal(got, hosts) {
		t.Errorf("status.loadBalancer.ingress %v, want every host's address %v", got, hosts)
	}
	backend := e.pods("app=lb")[0]
	// get returns the podserver's reply from host:80, or "" when the
	// host dropped the connection; a refusal (no rule at all: nothing
	// listens on the hosts' port 80) fails the test, as kube-proxy drops.
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(host string) string {
		t.Helper()
		resp, err := c.Get("http://" + host + "/")
		var ne stdnet.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			return ""
		case err != nil:
			t.Errorf("%s:80: %v, want an answer or a dropped connection", host, err)
			return ""
		}
		return readAll(resp)
	}
	for _, h := range e.l.Hosts {
		if got := get(h.IP); field(got, "hostname") != backend.Metadata.Name {
			t.Errorf("Cluster: %s:80 (pod on %s) answered %q, want pod %s", h.IP, backend.Spec.NodeName, got, backend.Metadata.Name)
		}
	}

	// 203.0.113.0/24 is documentation space: a range no lab client is in.
	e.applyGit(web("lb", "nginx:1.0", 1, "", ""), lb("  loadBalancerSourceRanges: [203.0.113.0/24]\n"))
	for _, h := range e.l.Hosts {
		if got := get(h.IP); got != "" {
			t.Errorf("source range without the client: %s:80 answered %q", h.IP, got)
		}
	}

	// Local, with a range that holds the client (the lab bridge's address
	// in the root namespace).
	e.applyGit(web("lb", "nginx:1.0", 1, "", ""), lb(fmt.Sprintf("  externalTrafficPolicy: Local\n  loadBalancerSourceRanges: [203.0.113.0/24, %s/32]\n", lab.BridgeIP)))
	backend = e.pods("app=lb")[0]
	for _, h := range e.l.Hosts {
		got := get(h.IP)
		switch {
		case h.Name == backend.Spec.NodeName && field(got, "hostname") != backend.Metadata.Name:
			t.Errorf("Local: %s:80, the pod's host, answered %q, want pod %s", h.IP, got, backend.Metadata.Name)
		case h.Name == backend.Spec.NodeName && !strings.HasPrefix(field(got, "client"), lab.BridgeIP+":"):
			t.Errorf("Local: the pod saw client %q, want the client's own address %s", field(got, "client"), lab.BridgeIP)
		case h.Name != backend.Spec.NodeName && got != "":
			t.Errorf("Local: %s:80 (%s, no local endpoint) answered %q, want no answer", h.IP, h.Name, got)
		}
	}
}

// ingress is a Service's status.loadBalancer.ingress addresses, as get
// -o json shows them.
func (e *env) ingress(name string) []string {
	e.t.Helper()
	r := e.mustRun(0, e.fromGit("get", "svc", name, "-o", "json")...)
	var s struct {
		Status struct {
			LoadBalancer struct {
				Ingress []struct{ IP string } `json:"ingress"`
			} `json:"loadBalancer"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		e.t.Fatalf("get svc %s -o json: %v\n%s", name, err, r.stdout)
	}
	var ips []string
	for _, i := range s.Status.LoadBalancer.Ingress {
		ips = append(ips, i.IP)
	}
	return ips
}
