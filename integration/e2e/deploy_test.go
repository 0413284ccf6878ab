package e2e

import (
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var nodeSubnet = map[string]string{"node-1": "198.18.1.0/24", "node-2": "198.18.2.0/24", "node-3": "198.18.3.0/24"}

func inSubnet(ip, node string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && netip.MustParsePrefix(nodeSubnet[node]).Contains(a)
}

// The first half of the seed story: the seed's Deployment from git gives two
// pods on two hosts, each on its host's pod subnet, reachable from every
// host and pod with the caller's own address (no NAT).
func TestSeedDeploymentFromGit(t *testing.T) {
	e := newEnv(t)
	e.push(seedDeployment(t))
	if r := e.run(e.fromGit("diff")...); r.code != 1 || !strings.Contains(r.stdout, "+ pod default/my-nginx-") {
		t.Fatalf("diff before apply: want exit 1 and pod creates, got %s", r)
	}
	r := e.mustRun(0, e.fromGit("apply")...)
	if !strings.Contains(r.stdout, "deployment.apps/my-nginx successfully rolled out: 2/2 ready") {
		t.Errorf("apply summary: %s", r)
	}
	// image: nginx means pull policy Always; the lab has no registry, so the
	// pull fails and the local image is used, with a warning.
	if !strings.Contains(r.stderr, "warning: node-") || !strings.Contains(r.stderr, "pull") {
		t.Errorf("no warning about the failed pull: %s", r)
	}
	e.mustRun(0, e.fromGit("diff")...)

	wide := e.mustRun(0, e.fromGit("get", "pods", "-l", "run=my-nginx", "-o", "wide")...)
	t.Logf("get pods -o wide:\n%s", wide.stdout)
	if !strings.HasPrefix(wide.stdout, "NAME ") || !strings.Contains(wide.stdout, "READY   STATUS    RESTARTS   AGE") {
		t.Errorf("get pods -o wide columns: %q", wide.stdout)
	}
	pods := e.pods("run=my-nginx")
	if len(pods) != 2 || pods[0].Spec.NodeName == pods[1].Spec.NodeName {
		t.Fatalf("want 2 pods on 2 hosts, got %+v", pods)
	}
	for _, p := range pods {
		if !inSubnet(p.Status.PodIP, p.Spec.NodeName) || !p.ready() || !strings.HasPrefix(p.Metadata.Name, "my-nginx-") {
			t.Errorf("pod %s on %s: IP %s ready %v", p.Metadata.Name, p.Spec.NodeName, p.Status.PodIP, p.ready())
		}
	}

	// From every host: each pod answers.
	for _, h := range e.l.Hosts {
		for _, p := range pods {
			out, err := e.getFromHost(h.Name, "http://"+p.Status.PodIP+"/", 1)
			if err != nil || field(out, "hostname") != p.Metadata.Name {
				t.Errorf("%s -> %s: %v %q", h.Name, p.Status.PodIP, err, out)
			}
		}
	}
	// From inside every pod: each pod answers and sees the caller's pod IP.
	for _, from := range pods {
		for _, to := range pods {
			out, err := e.getFromPod(from.Spec.NodeName, from.Metadata.Name, "http://"+to.Status.PodIP+"/", 1)
			if err != nil {
				t.Errorf("pod %s -> %s: %v %q", from.Metadata.Name, to.Status.PodIP, err, out)
				continue
			}
			client := field(out, "client")
			if !strings.HasPrefix(client, from.Status.PodIP+":") {
				t.Errorf("pod %s -> %s: server saw client %s, want the caller's pod IP %s (no NAT)", from.Metadata.Name, to.Status.PodIP, client, from.Status.PodIP)
			}
		}
	}
	// No host ports and no NAT rules for pods.
	for _, h := range e.l.Hosts {
		if out := e.mustExec(h.Name, "iptables-save", "-t", "nat"); strings.Contains(out, "MASQUERADE") && strings.Contains(out, "198.18.") &&
			strings.Contains(out, "-s 198.18.") && !strings.Contains(out, "RECONCILE") {
			t.Errorf("%s: NAT rule for pod traffic:\n%s", h.Name, out)
		}
	}
}

// Two pods of one Deployment on one host both listen on containerPort 80.
func TestScaleToFourSharesPortsOnOneHost(t *testing.T) {
	e := newEnv(t)
	r := e.applyGit(strings.Replace(seedDeployment(t), "replicas: 2", "replicas: 4", 1))
	if strings.Contains(r.stderr, "drift") {
		t.Errorf("a scale-up reported drift (hairpin on new pods' ports is upkeep):\n%s", r.stderr)
	}
	pods := e.pods("run=my-nginx")
	perNode := map[string][]pod{}
	for _, p := range pods {
		perNode[p.Spec.NodeName] = append(perNode[p.Spec.NodeName], p)
	}
	if len(pods) != 4 || len(perNode) != 3 {
		t.Fatalf("want 4 pods over 3 hosts, got %d over %d", len(pods), len(perNode))
	}
	shared := false
	for node, ps := range perNode {
		if len(ps) == 2 {
			shared = true
			for _, p := range ps {
				out, err := e.getFromHost(node, "http://"+p.Status.PodIP+":80/", 1)
				if err != nil || field(out, "hostname") != p.Metadata.Name {
					t.Errorf("%s: pod %s on :80: %v %q", node, p.Metadata.Name, err, out)
				}
			}
		}
	}
	if !shared {
		t.Errorf("no host runs two pods: %v", perNode)
	}
}

// A container we did not create survives apply and prune, and dry-run
// changes nothing on any host.
func TestForeignContainerAndDryRun(t *testing.T) {
	e := newEnv(t)
	e.mustExec("node-1", "docker", "run", "-d", "--name", "not-ours", "--network", "none", "nginx:latest")
	t.Cleanup(func() { e.exec("node-1", "docker", "rm", "-f", "not-ours") })
	e.applyGit(seedDeployment(t))

	e.push(web("other", "nginx:1.0", 1, "", ""))
	before := e.containers()
	r := e.mustRun(0, e.fromGit("apply", "--dry-run")...)
	if !strings.Contains(r.stdout, "- pod default/my-nginx-") || !strings.Contains(r.stdout, "+ pod default/other-") {
		t.Errorf("dry-run plan lacks the prune and the create:\n%s", r.stdout)
	}
	if after := e.containers(); after != before {
		t.Errorf("apply --dry-run changed the hosts:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	e.mustRun(0, e.fromGit("apply")...)
	if !strings.Contains(e.containers(), "node-1: not-ours nginx:latest running") {
		t.Errorf("the foreign container did not survive prune:\n%s", e.containers())
	}
	if n := len(e.pods("run=my-nginx")); n != 0 {
		t.Errorf("%d pods of the undeclared Deployment left after prune", n)
	}
}

// diff exits 0 in sync, 1 with changes, 2 or more on error.
func TestDiffExitCodes(t *testing.T) {
	e := newEnv(t)
	e.applyGit(web("web", "nginx:1.0", 2, "", ""))
	e.mustRun(0, e.fromGit("diff")...)
	e.push(web("web", "nginx:1.0", 3, "", ""))
	r := e.mustRun(1, e.fromGit("diff", "-o", "markdown")...)
	if !strings.Contains(r.stdout, "| create | pod `default/web-") {
		t.Errorf("markdown plan:\n%s", r.stdout)
	}
	if r := e.run("diff", "--repo", e.l.GitURL, "--path", "app", "--ref", "no-such-branch"); r.code < 2 || !strings.Contains(r.stderr, "no-such-branch") {
		t.Errorf("diff with a bad ref: %s", r)
	}
	e.push("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: Bad_Name}\nspec: {}\n")
	if r := e.run(e.fromGit("diff")...); r.code < 2 || !strings.Contains(r.stderr, "m00.yaml") {
		t.Errorf("diff of an invalid tree: %s", r)
	}
}

// A new image tag rolls out with never fewer than replicas-maxUnavailable
// ready pods, sampled on the hosts while apply runs.
func TestRollingUpdateKeepsPodsReady(t *testing.T) {
	e := newEnv(t)
	strategy := "  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 1}}\n"
	e.applyGit(web("roll", "nginx:1.0", 4, strategy, ""))
	e.push(web("roll", "nginx:2.0", 4, strategy, ""))

	var minReady atomic.Int64
	minReady.Store(99)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ready := 0
			for _, h := range e.l.Hosts {
				out, _ := e.exec(h.Name, "docker", "ps", "--filter", "label=app=roll", "--format", "{{.Status}}")
				ready += strings.Count(out, "(healthy)")
			}
			if int64(ready) < minReady.Load() {
				minReady.Store(int64(ready))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	r := e.run(e.fromGit("apply")...)
	close(stop)
	wg.Wait()
	if r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	t.Logf("fewest ready pods during the rollout: %d (replicas 4, maxUnavailable 1)", minReady.Load())
	if minReady.Load() < 3 {
		t.Errorf("ready pods fell to %d during the rollout, want >= 3", minReady.Load())
	}
	for _, p := range e.pods("app=roll") {
		if img := p.Status.ContainerStatuses[0].Image; img != "nginx:2.0" {
			t.Errorf("pod %s still runs %s", p.Metadata.Name, img)
		}
	}
}

// A new version whose readiness never passes halts the rollout, names the
// pod, and the old pods keep answering throughout.
func TestNeverReadyRolloutHalts(t *testing.T) {
	e := newEnv(t)
	spec := "  progressDeadlineSeconds: 8\n"
	e.applyGit(web("stuck", "nginx:1.0", 2, spec, ""))
	old := e.pods("app=stuck")
	e.push(web("stuck", "nginx:2.0", 2, spec, "        env: [{name: FAIL_READY, value: \"1\"}]\n"))

	var failures atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			ok := false
			for _, p := range old {
				if _, err := e.getFromHost("node-1", "http://"+p.Status.PodIP+"/", 1); err == nil {
					ok = true
				}
			}
			if !ok {
				failures.Add(1)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	r := e.run(e.fromGit("apply")...)
	close(stop)
	<-done
	if r.code != 5 {
		t.Fatalf("apply of a never-ready version: want exit 5 (rollout), got %s", r)
	}
	if !strings.Contains(r.stderr, "pod stuck-") || !strings.Contains(r.stderr, "readiness probe httpGet") || !strings.Contains(r.stderr, " on node-") {
		t.Errorf("the error does not name pod, host and probe:\n%s", r.stderr)
	}
	if failures.Load() > 0 {
		t.Errorf("old pods stopped answering %d times during the halted rollout", failures.Load())
	}
	ready := 0
	for _, p := range e.pods("app=stuck") {
		if p.ready() {
			ready++
		}
	}
	if ready < 1 {
		t.Errorf("%d ready pods after the halted rollout, want the old ones", ready)
	}
	e.applyGit(web("stuck", "nginx:1.0", 2, spec, "")) // roll back for the next tests
}

// A host whose dockerd is down: its pods are recreated on the others and
// apply exits non-zero naming it; when it returns, the surplus goes.
func TestUnreachableHostReschedules(t *testing.T) {
	e := newEnv(t)
	e.applyGit(web("spread", "nginx:1.0", 3, "", ""))
	if err := e.l.StopDocker(e.ctx(time.Minute), "node-3"); err != nil {
		t.Fatal(err)
	}
	started := false
	t.Cleanup(func() {
		if !started {
			e.l.StartDocker(e.ctx(time.Minute), "node-3")
		}
	})
	r := e.run(e.fromGit("apply")...)
	if r.code != 4 || !strings.Contains(r.stderr, "node-3") {
		t.Fatalf("apply with node-3 down: want exit 4 naming node-3, got %s", r)
	}
	// node-3's sshd still answers: the run's lock there must be released.
	if out, err := e.exec("node-3", "cat", "/var/lib/reconcile/lock/lock"); err == nil {
		t.Errorf("the run left its lock on node-3: %s", out)
	}
	live := 0
	for _, h := range []string{"node-1", "node-2"} {
		out := e.mustExec(h, "docker", "ps", "--filter", "label=app=spread", "--format", "{{.Status}}")
		live += strings.Count(out, "(healthy)")
	}
	if live != 3 {
		t.Errorf("%d ready pods on node-1 and node-2, want all 3", live)
	}
	if err := e.l.StartDocker(e.ctx(time.Minute), "node-3"); err != nil {
		t.Fatal(err)
	}
	started = true
	e.mustRun(0, e.fromGit("apply")...)
	if n := len(e.pods("app=spread")); n != 3 {
		t.Errorf("after node-3 came back: %d pods, want 3 (surplus removed)", n)
	}
}
