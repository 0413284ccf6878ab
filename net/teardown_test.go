package net

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlanTableTeardown(t *testing.T) {
	saved := []byte(`*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:RECONCILE-SERVICES - [0:0]
:RECONCILE-SVC-AAAA - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A PREROUTING -m comment --comment "reconcile service portals" -j RECONCILE-SERVICES
-A OUTPUT -m comment --comment "reconcile service portals" -j RECONCILE-SERVICES
-A RECONCILE-SERVICES -d 198.19.0.10/32 -j RECONCILE-SVC-AAAA
COMMIT
*filter
:FORWARD DROP [0:0]
:ADMIN - [0:0]
:RECONCILE-FORWARD - [0:0]
-A FORWARD -j ADMIN
-A ADMIN -g RECONCILE-FORWARD
COMMIT
`)
	p, err := planTableTeardown(saved, "nat")
	if err != nil {
		t.Fatal(err)
	}
	want := `*nat
:RECONCILE-SERVICES - [0:0]
:RECONCILE-SVC-AAAA - [0:0]
-D PREROUTING -m comment --comment "reconcile service portals" -j RECONCILE-SERVICES
-D OUTPUT -m comment --comment "reconcile service portals" -j RECONCILE-SERVICES
-X RECONCILE-SERVICES
-X RECONCILE-SVC-AAAA
COMMIT
`
	if got := string(renderTeardown("nat", p)); got != want {
		t.Errorf("nat teardown:\n%s\nwant:\n%s", got, want)
	}
	// The admin's chain jumps into ours: theirs stays, and ours with it.
	_, err = planTableTeardown(saved, "filter")
	if err == nil || !strings.Contains(err.Error(), "table filter: rules reconcile did not make jump into its chains (-A ADMIN -g RECONCILE-FORWARD)") {
		t.Errorf("filter: err = %v", err)
	}
}

func teardownIn(t testing.TB, ns string, files []string, stateFile string, dryRun bool) *Result {
	t.Helper()
	var res *Result
	var err error
	inNetns(t, ns, func() { res, err = Teardown(context.Background(), files, stateFile, dryRun) })
	if err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	return res
}

// Teardown leaves a host as it was before the first Apply: our chains,
// hooks, routes, sysctl changes and files go; a foreign chain with its
// hooks, a foreign route and files of others stay.
func TestTeardownInNetns(t *testing.T) {
	needRoot(t)
	const ns = "rcntest-teardown"
	newHost(t, ns)
	dir := ownedTempDir(t)
	ipt := func(args ...string) { run(t, append([]string{"ip", "netns", "exec", ns, "iptables"}, args...)...) }
	ipt("-t", "nat", "-N", "DOCKERISH")
	ipt("-t", "nat", "-A", "DOCKERISH", "-p", "tcp", "--dport", "8000", "-j", "DNAT", "--to-destination", "198.18.1.50:80")
	ipt("-t", "nat", "-A", "PREROUTING", "-j", "DOCKERISH")
	ipt("-t", "filter", "-N", "DOCKERISH")
	ipt("-t", "filter", "-A", "DOCKERISH", "-j", "RETURN")
	ipt("-t", "filter", "-A", "FORWARD", "-j", "DOCKERISH")
	run(t, "ip", "-n", ns, "route", "add", "198.18.200.0/24", "via", "198.51.100.14", "proto", "static")
	run(t, "ip", "netns", "exec", ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/all/send_redirects; echo 0 > /proc/sys/net/ipv4/ip_forward")
	keep := filepath.Join(dir, "bin", "reconcile-abc")
	os.MkdirAll(filepath.Dir(keep), 0o755)
	os.WriteFile(keep, []byte("agent"), 0o755)
	snapshot := func() string {
		return run(t, "ip", "netns", "exec", ns, "sh", "-c",
			"iptables-save | grep -v '^#' | sed 's/\\[[0-9:]*\\]//'; ip -4 route; cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/all/send_redirects; find "+dir+" | sort")
	}
	before := snapshot()

	cfg := withServices(
		Service{Namespace: "default", Name: "web", ClusterIP: "198.19.0.10", Ports: []ServicePort{{Name: "http", Port: 80, NodePort: 30080,
			Endpoints: []Endpoint{{IP: "198.18.1.5", Port: 8080}, {IP: "198.18.2.5", Port: 8080}}}}},
		Service{Namespace: "default", Name: "empty", ClusterIP: "198.19.0.12", Ports: []ServicePort{{Port: 80}}},
	)
	cfg.StateFile = dir + "/state/node-applied.json"
	endpoints := dir + "/endpoints.json"
	allocs := dir + "/state/allocations.json"
	cfg.Files = []File{{Path: endpoints, Content: []byte("{}\n")}, {Path: allocs, Content: []byte("{}\n")}}
	applyIn(t, ns, cfg, false)
	applied := snapshot()
	if applied == before {
		t.Fatal("apply changed nothing")
	}
	// A file the recorded config does not list, named by the caller.
	revision := dir + "/state/revision"
	os.WriteFile(revision, []byte("abc\n"), 0o644)

	t.Run("dry run", func(t *testing.T) {
		res := teardownIn(t, ns, []string{revision}, cfg.StateFile, true)
		got := strings.Join(changeSet(res), "\n")
		for _, want := range []string{"hook delete filter/FORWARD", "chain delete filter/RECONCILE-FORWARD", "hook delete nat/PREROUTING",
			"chain delete nat/RECONCILE-SERVICES", "route delete 198.18.2.0/24", "route delete 198.19.0.0/16",
			"sysctl update net.ipv4.ip_forward", "sysctl update net.ipv4.conf.all.send_redirects",
			"file delete " + endpoints, "file delete " + allocs, "file delete " + revision, "file delete " + cfg.StateFile} {
			if !strings.Contains(got, want) {
				t.Errorf("dry run does not say %q:\n%s", want, got)
			}
		}
		if strings.Contains(got, "DOCKERISH") || strings.Contains(got, "198.18.200.0") || strings.Contains(got, "bin/") {
			t.Errorf("dry run would remove what is not ours:\n%s", got)
		}
		if now := strings.Replace(snapshot(), revision+"\n", "", 1); now != applied {
			t.Errorf("dry run changed the host:\n%s", now)
		}
	})
	t.Run("teardown", func(t *testing.T) {
		teardownIn(t, ns, []string{revision}, cfg.StateFile, false)
		if after := snapshot(); after != before {
			t.Errorf("after teardown:\n%s\nwant as before the first apply:\n%s", after, before)
		}
	})
	t.Run("again changes nothing", func(t *testing.T) {
		if res := teardownIn(t, ns, []string{revision}, cfg.StateFile, false); len(res.Changes) != 0 {
			t.Errorf("second teardown: %q", changeSet(res))
		}
	})
}
