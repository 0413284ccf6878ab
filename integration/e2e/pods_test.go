package e2e

import (
	"strings"
	"testing"
	"time"
)

// duo is a pod of two app containers (:80 and :8080) behind a sidecar
// (:8081, restartPolicy Always) and an init container that must reach the
// sidecar on localhost before the app containers start.
const duo = `apiVersion: apps/v1
kind: Deployment
metadata: {name: duo}
spec:
  replicas: 2
  progressDeadlineSeconds: 30
  selector: {matchLabels: {app: duo}}
  template:
    metadata: {labels: {app: duo}}
    spec:
      terminationGracePeriodSeconds: 2
      volumes:
      - {name: shared, emptyDir: {}}
      initContainers:
      - {name: seed, image: "nginx:1.0", imagePullPolicy: IfNotPresent, args: [write, /shared/seed, from-init], volumeMounts: [{name: shared, mountPath: /shared}]}
      - {name: sidecar, image: "nginx:1.0", imagePullPolicy: IfNotPresent, restartPolicy: Always, args: [serve, -listen, ":8081"]}
      - {name: wait, image: "nginx:1.0", imagePullPolicy: IfNotPresent, args: [get, -timeout, 5s, -wait, 10s, "http://127.0.0.1:8081/"]}
      containers:
      - {name: web, image: "nginx:1.0", imagePullPolicy: IfNotPresent, ports: [{containerPort: 80}], volumeMounts: [{name: shared, mountPath: /shared}]}
      - {name: api, image: "nginx:1.0", imagePullPolicy: IfNotPresent, args: [serve, -listen, ":8080"], ports: [{containerPort: 8080}], volumeMounts: [{name: shared, mountPath: /shared, readOnly: true}]}
`

// A pod of several containers shares one network namespace (localhost
// between them, one pod IP answering every port from other hosts) and one
// hostname; its sidecar started before the app containers and keeps
// running; removing the Deployment removes every container of the pod,
// the infrastructure container too.
func TestMultiContainerPod(t *testing.T) {
	e, r := labApply(t, duo)
	if r.code != 0 || !strings.Contains(r.stdout, "deployment.apps/duo successfully rolled out: 2/2 ready") {
		t.Errorf("apply summary: %s", r)
	}
	table := e.mustRun(0, e.fromGit("get", "pods", "-l", "app=duo")...)
	t.Logf("get pods:\n%s", table.stdout)
	if strings.Count(table.stdout, " 3/3 ") != 2 {
		t.Errorf("want two pods READY 3/3 (sidecar and two app containers):\n%s", table.stdout)
	}
	pods := e.pods("app=duo")
	if len(pods) != 2 {
		t.Fatalf("want 2 pods, got %d", len(pods))
	}
	for _, p := range pods {
		node, name, ip := p.Spec.NodeName, p.Metadata.Name, p.Status.PodIP
		if !inSubnet(ip, node) || !p.ready() {
			t.Errorf("pod %s on %s: IP %s ready %v", name, node, ip, p.ready())
		}
		other := "node-1"
		if node == other {
			other = "node-2"
		}
		// Every port of the pod answers on its IP from another host, with
		// the pod's hostname from every container.
		for _, port := range []string{"80", "8080", "8081"} {
			out, err := e.getFromHost(other, "http://"+ip+":"+port+"/", 1)
			if err != nil || field(out, "hostname") != name {
				t.Errorf("%s -> %s:%s: %v %q", other, ip, port, err, out)
			}
		}
		// localhost between containers: `docker exec POD` is the first
		// container (web), which reaches api and the sidecar.
		for _, port := range []string{"8080", "8081"} {
			out, err := e.getFromPod(node, name, "http://127.0.0.1:"+port+"/", 1)
			if err != nil || field(out, "hostname") != name {
				t.Errorf("%s web -> localhost:%s: %v %q", name, port, err, out)
			}
		}
		// The sidecar started before the app containers, and still runs;
		// the init container ran to completion before them.
		started := map[string]string{}
		for _, c := range []string{name + "_sidecar", name + "_wait", name, name + "_api"} {
			out := strings.Fields(e.mustExec(node, "docker", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.StartedAt}} {{.State.FinishedAt}}", c))
			if len(out) != 4 {
				t.Fatalf("inspect %s: %q", c, out)
			}
			started[c] = out[2]
			want := "running"
			if c == name+"_wait" {
				want = "exited"
				started["wait-finished"] = out[3]
				if out[1] != "0" {
					t.Errorf("init container %s: exit %s", c, out[1])
				}
			}
			if out[0] != want {
				t.Errorf("%s: %s, want %s", c, out[0], want)
			}
		}
		if started["wait-finished"] > started[name] {
			t.Errorf("init container finished %s, after the app started (%s)", started["wait-finished"], started[name])
		}
		if started[name+"_sidecar"] > started[name] || started[name+"_sidecar"] > started[name+"_api"] {
			t.Errorf("sidecar started %s, after the app containers (%s, %s)", started[name+"_sidecar"], started[name], started[name+"_api"])
		}
		// Both app containers see the file the first init container wrote
		// into the pod's emptyDir before them.
		for _, c := range []string{name, name + "_api"} {
			if out, err := e.exec(node, "docker", "exec", c, "/podserver", "cat", "/shared/seed"); err != nil || strings.TrimSpace(out) != "from-init" {
				t.Errorf("%s: /shared/seed = %q, %v; want the init container's from-init", c, out, err)
			}
		}
		if st := strings.TrimSpace(e.mustExec(node, "docker", "inspect", "-f", "{{.State.Status}} {{.HostConfig.NetworkMode}}", name+"_POD")); st != "running reconcile-pods" {
			t.Errorf("infrastructure container of %s: %q", name, st)
		}
	}
	e.mustRun(0, e.fromGit("diff")...)

	// Replaced as a whole: a container removed by hand gets its pod
	// recreated, not left half-made.
	victim := pods[0]
	e.mustExec(victim.Spec.NodeName, "docker", "rm", "-f", victim.Metadata.Name+"_api")
	e.mustRun(0, e.fromGit("apply")...)
	for _, p := range e.pods("app=duo") {
		if p.Metadata.Name == victim.Metadata.Name || !p.ready() {
			t.Errorf("after removing a container: pod %s ready %v (the broken pod %s should be replaced)", p.Metadata.Name, p.ready(), victim.Metadata.Name)
		}
	}

	e.applyGit(web("solo", "nginx:1.0", 1, "", "")) // (labApply's cleanup does it again)
	for _, h := range e.l.Hosts {
		if out := e.mustExec(h.Name, "docker", "ps", "-a", "--filter", "label=app=duo", "--format", "{{.Names}}"); strings.TrimSpace(out) != "" {
			t.Errorf("%s: containers of removed pods left: %s", h.Name, out)
		}
	}
}

// A failing init container stops its pod before the app containers, and
// the rollout halts naming it (Init:Error in get pods).
func TestInitContainerFailure(t *testing.T) {
	start := time.Now()
	e, r := labApply(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: badinit}
spec:
  replicas: 1
  progressDeadlineSeconds: 6
  selector: {matchLabels: {app: badinit}}
  template:
    metadata: {labels: {app: badinit}}
    spec:
      initContainers:
      - {name: migrate, image: "nginx:1.0", imagePullPolicy: IfNotPresent, args: [exit, "3"]}
      containers:
      - {name: web, image: "nginx:1.0", imagePullPolicy: IfNotPresent}
`)
	if r.code != 5 || !strings.Contains(r.stderr, "init container migrate exited with code 3") {
		t.Fatalf("apply with a failing init container: want exit 5 naming it, got %s", r)
	}
	t.Logf("halted after %s", time.Since(start).Round(time.Second))
	table := e.mustRun(0, e.fromGit("get", "pods", "-l", "app=badinit")...)
	if !strings.Contains(table.stdout, "Init:Error") {
		t.Errorf("get pods: want Init:Error\n%s", table.stdout)
	}
	for _, h := range e.l.Hosts {
		if out := e.mustExec(h.Name, "docker", "ps", "-a", "--filter", "label=app=badinit", "--format", "{{.Names}} {{.State}}"); strings.TrimSpace(out) != "" {
			t.Errorf("%s: a failed pod's containers were left: %s", h.Name, out)
		}
	}
}
