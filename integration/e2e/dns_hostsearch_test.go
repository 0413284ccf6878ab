package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/reconcile-dev/reconcile/integration/lab"
)

// labResolvConf is every lab host's resolv.conf as the lab writes it.
const labResolvConf = "# Written by the integration lab: nothing answers here unless a test starts a resolver there.\nnameserver " + lab.UpstreamDNS + "\n"

// setHostResolvConf rewrites a lab host's /etc/resolv.conf in place (a
// file the lab bind-mounts into the host's own mount namespace) until the
// test ends. It refuses unless the file is the lab's: the machine's own
// resolv.conf must never be touched.
func (e *env) setHostResolvConf(t *testing.T, node, content string) {
	t.Helper()
	script := `head -n1 /etc/resolv.conf | grep -q '^# Written by the integration lab' && printf '%s' "$1" > /etc/resolv.conf`
	e.mustExec(node, "sh", "-c", script, "sh", content)
	t.Cleanup(func() { e.exec(node, "sh", "-c", script, "sh", labResolvConf) })
}

// The cluster DNS Service's endpoints, and a ClusterFirst pod's search
// list taking its host's search domains after the cluster's: a short name
// under the host's domain resolves from the pod through that search list.
func TestClusterDNSHostSearch(t *testing.T) {
	e := newEnv(t)
	e.setHostResolvConf(t, "node-2", labResolvConf+"search example.internal\n")
	e.applyGit(dnsManifests(t)...)

	t.Run("kube-dns endpoints", func(t *testing.T) {
		r := e.mustRun(0, e.fromGit("get", "ep", "-n", "kube-system")...)
		dup := regexp.QuoteMeta(labDNSIP + ":53")
		if !regexp.MustCompile(`(?m)^kube-dns\s+` + dup + `,` + dup + `,` + dup + ` \+ 3 more\.\.\.\s`).MatchString(r.stdout) {
			t.Errorf("get ep -n kube-system:\n%s", r.stdout)
		}
		r = e.mustRun(0, e.fromGit("describe", "svc", "kube-dns", "-n", "kube-system")...)
		three := labDNSIP + ":53," + labDNSIP + ":53," + labDNSIP + ":53\n"
		if strings.Count(r.stdout, "Endpoints:         "+three) != 2 {
			t.Errorf("describe svc kube-dns:\n%s", r.stdout)
		}
	})

	t.Run("pod resolv.conf", func(t *testing.T) {
		for _, tt := range []struct{ node, search string }{
			{"node-1", "search default.svc.cluster.local svc.cluster.local cluster.local\n"},
			{"node-2", "search default.svc.cluster.local svc.cluster.local cluster.local example.internal\n"},
		} {
			pod := e.podOn("app=client", tt.node)
			conf := e.mustExec(tt.node, "docker", "exec", pod, "/podserver", "cat", "/etc/resolv.conf")
			if !strings.Contains(conf, "nameserver "+labDNSIP+"\n"+tt.search+"options ndots:5\n") {
				t.Errorf("%s: pod %s /etc/resolv.conf:\n%s\nwant %q", tt.node, pod, conf, tt.search)
			}
		}
	})

	t.Run("short name through the host's domain", func(t *testing.T) {
		e.upstream(t, "example.internal", "203.0.113.9")
		e.mustResolve("node-2", e.podOn("app=client", "node-2"), "203.0.113.9", "www")
		if out, code := e.resolveIn("node-1", e.podOn("app=client", "node-1"), "www"); code == 0 {
			t.Errorf("node-1 (no host search): resolve www: %s, want no answer", out)
		}
	})
}
