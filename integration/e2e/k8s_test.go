package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/reconcile-dev/reconcile/integration/lab"
	"github.com/reconcile-dev/reconcile/integration/labtest"
)

// podsByNode counts the ready and all pods of a selector per node.
func (e *env) podsByNode(selector string) (ready, all map[string]int) {
	e.t.Helper()
	ready, all = map[string]int{}, map[string]int{}
	for _, p := range e.pods(selector) {
		all[p.Spec.NodeName]++
		if p.ready() {
			ready[p.Spec.NodeName]++
		}
	}
	return ready, all
}

func mapString(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// nodeSelector: {disk: ssd} places pods only on the labelled hosts; a
// selector no host has leaves a Pending pod with the scheduler's reason,
// and apply exits 5 naming the Deployment.
func TestPlacementNodeSelector(t *testing.T) {
	e := newEnv(t)
	cluster := e.l.ClusterManifest(lab.ClusterOptions{Labels: map[string]map[string]string{
		"node-1": {"disk": "ssd"}, "node-3": {"disk": "ssd"}, "node-2": {"disk": "hdd"},
	}})
	ssd := strings.Replace(web("ssd", "nginx:1.0", 4, "", ""), "    spec:\n", "    spec:\n      nodeSelector: {disk: ssd}\n", 1)
	e.pushWith(cluster, ssd)
	e.mustRun(0, e.fromGit("apply", "--prune")...)
	ready, all := e.podsByNode("app=ssd")
	if all["node-2"] != 0 || ready["node-1"]+ready["node-3"] != 4 {
		t.Errorf("pods by node: ready %s, all %s; want 4 ready on node-1 and node-3 only", mapString(ready), mapString(all))
	}

	nvme := strings.Replace(web("nvme", "nginx:1.0", 1, "", ""), "    spec:\n", "    spec:\n      nodeSelector: {disk: nvme}\n", 1)
	e.pushWith(cluster, ssd, nvme)
	r := e.run(e.fromGit("apply", "--prune")...)
	const reason = "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
	if r.code != 5 || !strings.Contains(r.stderr+r.stdout, "nvme") || !strings.Contains(r.stderr+r.stdout, reason) {
		t.Errorf("apply of an unsatisfiable nodeSelector: want exit 5 naming nvme and %q, got %s", reason, r)
	}
	out := e.mustRun(0, e.fromGit("get", "pods", "-l", "app=nvme")...).stdout
	if !strings.Contains(out, "Pending") {
		t.Errorf("get pods does not show the nvme pod Pending:\n%s", out)
	}
	e.pushWith(cluster)
	e.mustRun(0, e.fromGit("apply", "--prune", "--allow-empty")...)
}

// daemonSet is a DaemonSet of the lab image on the hosts labelled
// agent=yes.
const daemonSetDoc = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {agent: "yes"}
      tolerations:
      - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
      terminationGracePeriodSeconds: 2
      containers:
      - name: agent
        image: nginx:1.0
        imagePullPolicy: IfNotPresent
        ports: [{name: http, containerPort: 80}]
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 1
`

// A DaemonSet has exactly one ready pod on each matching host, its
// Service answers from them, and a host added to the Cluster gets its pod
// on the next apply.
func TestDaemonSet(t *testing.T) {
	l := labtest.Up(t, 4)
	e := &env{t: t, l: l, cache: t.TempDir()}
	labels := map[string]map[string]string{"node-1": {"agent": "yes"}, "node-3": {"agent": "yes"}, "node-4": {"agent": "yes"}}
	three := e.l.ClusterManifest(lab.ClusterOptions{Hosts: 3, Labels: labels})
	e.pushWith(three, daemonSetDoc, service("agent", "agent", ""))
	r := e.mustRun(0, e.fromGit("apply", "--prune")...)
	if !strings.Contains(r.stdout, "daemonset.apps/agent successfully rolled out: 2/2 ready") {
		t.Errorf("apply output:\n%s", r)
	}
	if !strings.Contains(r.stderr, "tolerations: ignored") {
		t.Errorf("apply does not warn that tolerations are ignored:\n%s", r.stderr)
	}
	ready, all := e.podsByNode("app=agent")
	if mapString(all) != "node-1=1 node-3=1" || mapString(ready) != "node-1=1 node-3=1" {
		t.Errorf("pods by node: ready %s, all %s; want one ready pod on node-1 and node-3", mapString(ready), mapString(all))
	}
	ds := e.mustRun(0, e.fromGit("get", "ds")...).stdout
	if f := strings.Fields(strings.Split(ds, "\n")[1]); len(f) < 7 || strings.Join(f[:7], " ") != "agent 2 2 2 2 2 agent=yes" {
		t.Errorf("get ds:\n%s", ds)
	}
	ip := e.clusterIP("agent")
	eventually(t, 10*time.Second, func() error {
		out, err := e.getFromHost("node-2", "http://"+ip+"/", 20)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		if got := countBy(out); len(got) != 2 {
			return fmt.Errorf("answers by pod %v; want both DaemonSet pods", got)
		}
		return nil
	})

	four := e.l.ClusterManifest(lab.ClusterOptions{Labels: labels})
	e.pushWith(four, daemonSetDoc, service("agent", "agent", ""))
	e.mustRun(0, e.fromGit("apply", "--prune")...)
	ready, all = e.podsByNode("app=agent")
	if mapString(all) != "node-1=1 node-3=1 node-4=1" || mapString(ready) != mapString(all) {
		t.Errorf("after adding node-4: ready %s, all %s; want one ready pod on node-1, node-3 and node-4", mapString(ready), mapString(all))
	}

	// A new template rolls one host at a time and ends with one pod each.
	e.pushWith(four, strings.Replace(daemonSetDoc, "nginx:1.0", "nginx:2.0", 1), service("agent", "agent", ""))
	e.mustRun(0, e.fromGit("apply", "--prune")...)
	for _, p := range e.pods("app=agent") {
		if img := p.Status.ContainerStatuses[0].Image; img != "nginx:2.0" || !p.ready() {
			t.Errorf("pod %s on %s: image %s, ready %v after the rollout", p.Metadata.Name, p.Spec.NodeName, img, p.ready())
		}
	}
	e.pushWith(four)
	e.mustRun(0, e.fromGit("apply", "--prune", "--allow-empty")...)
}

// securityContext takes effect in the container: the user and groups,
// the read-only root filesystem, no_new_privs, the capability bounding
// set, and a net.* sysctl (which lets the non-root user bind port 80).
func TestSecurityContext(t *testing.T) {
	e := newEnv(t)
	doc := strings.Replace(web("locked", "nginx:1.0", 1, "", `        securityContext:
          readOnlyRootFilesystem: true
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL], add: [NET_ADMIN]}
`), "    spec:\n", `    spec:
      serviceAccountName: default
      automountServiceAccountToken: false
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 2000
        supplementalGroups: [4000]
        sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: "0"}]
`, 1)
	e.applyGit(doc)
	ps := e.pods("app=locked")
	if len(ps) != 1 || !ps[0].ready() {
		t.Fatalf("want one ready pod, got %+v", ps)
	}
	out := e.mustExec(ps[0].Spec.NodeName, "docker", "exec", ps[0].Metadata.Name, "/podserver", "self")
	// fsGroup and runAsGroup are among the groups, as `id` shows them in
	// Kubernetes' own example ("uid=1000 gid=3000 groups=2000,3000,4000").
	const want = "uid=1000 gid=3000 groups=2000,3000,4000 capbnd=0000000000001000 nonewprivs=1 rootfs=ro"
	if strings.TrimSpace(out) != want {
		t.Errorf("podserver self in the pod:\n got %s\nwant %s", strings.TrimSpace(out), want)
	}
	e.push()
	e.mustRun(0, e.fromGit("apply", "--prune", "--allow-empty")...)
}

// kustomizeTree writes resources/testdata/kustomize (a base and staging
// and production overlays with patches, an images override and
// configMapGenerators) under files' app/ paths.
func kustomizeTree(t *testing.T, files map[string]string) {
	t.Helper()
	src := filepath.Join("..", "..", "resources", "testdata", "kustomize")
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A kustomize overlay tree applies on the lab, from a directory (-f) and
// from git (--path), as kustomize renders it: the staging overlay's
// prefix, namespace, replicas patch and image tag.
func TestKustomizeOverlayApplies(t *testing.T) {
	e := newEnv(t)
	files := map[string]string{}
	kustomizeTree(t, files)
	// A clone, as users run -f from one: the overlay's ../../base is inside
	// its work tree, the boundary of what a kustomization may read.
	dir := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(text), 0o644)
	}
	fromDir := []string{"-f", filepath.Join(dir, "overlays", "staging"), "--cluster", e.l.ClusterFile}
	fromGit := []string{"--repo", e.l.GitURL, "--path", "app/overlays/staging", "--cluster", e.l.ClusterFile}
	check := func(how string, source []string) []string {
		ps := e.podsFrom(append(source, "-A"), "app=web")
		if len(ps) != 2 {
			t.Fatalf("%s: %d pods of app=web, want the staging overlay's 2", how, len(ps))
		}
		var names []string
		for _, p := range ps {
			names = append(names, p.Metadata.Name)
			if !strings.HasPrefix(p.Metadata.Name, "staging-web-") || p.Status.ContainerStatuses[0].Image != "nginx:2.0" || p.Metadata.Labels["env"] != "staging" || !p.ready() {
				t.Errorf("%s: pod %s image %s labels %v ready %v; want staging-web-*, nginx:2.0, env=staging, ready", how, p.Metadata.Name, p.Status.ContainerStatuses[0].Image, p.Metadata.Labels, p.ready())
			}
		}
		sort.Strings(names)
		return names
	}
	// -f and --path are two sources: each removes what it applied.
	e.mustRun(0, append([]string{"apply", "--prune"}, fromDir...)...)
	check("-f overlays/staging", fromDir)
	os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "overlays", "staging"), 0o755)
	e.mustRun(0, append([]string{"apply", "--prune", "--allow-empty"}, fromDir...)...)

	e.pushFiles(files)
	e.mustRun(0, append([]string{"apply", "--prune"}, fromGit...)...)
	check("--path app/overlays/staging", fromGit)
	// The whole tree (the base beside its overlays, which render other
	// names) is another source for the staging overlay's objects: refused
	// before any host changes. (Two kustomizations rendering one name are
	// refused by the loader, naming both: resources' broken cases.)
	r := e.run("apply", "--repo", e.l.GitURL, "--path", "app", "--cluster", e.l.ClusterFile)
	if r.code != 3 || !strings.Contains(r.stderr, "conflicts with another source") || !strings.Contains(r.stderr, "nothing was changed") {
		t.Errorf("apply of base and overlays side by side: %s", r)
	}
	e.pushFiles(map[string]string{"overlays/staging/README": "nothing here\n"})
	e.mustRun(0, append([]string{"apply", "--prune", "--allow-empty"}, fromGit...)...)
}
