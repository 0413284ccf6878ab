package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// probed is one podserver pod with the given probe lines (YAML under the
// container, 8 spaces in) and environment.
func probed(name, probes, env string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: 1
  progressDeadlineSeconds: 60
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: "nginx:1.0"
        imagePullPolicy: IfNotPresent
        ports: [{name: http, containerPort: 80}]
%[2]s%[3]s`, name, probes, env)
}

// onePod is the only pod of selector.
func (e *env) onePod(selector string) pod {
	e.t.Helper()
	ps := e.pods(selector)
	if len(ps) != 1 {
		e.t.Fatalf("want one pod %s, got %d", selector, len(ps))
	}
	return ps[0]
}

// A container whose liveness probe starts failing is killed and restarted
// by the host's supervisor, with no CLI running: RESTARTS counts it, the
// pod keeps its name and IP, and the previous container is kept.
func TestLivenessFailureRestarts(t *testing.T) {
	e, r := labApply(t, probed("alive", `        livenessProbe:
          httpGet: {path: /live, port: http}
          periodSeconds: 1
          failureThreshold: 2
`, ""))
	if r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	p := e.onePod("app=alive")
	node, name, ip := p.Spec.NodeName, p.Metadata.Name, p.Status.PodIP
	if p.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Fatalf("restarts before: %+v", p.Status.ContainerStatuses)
	}
	other := "node-1"
	if node == other {
		other = "node-2"
	}
	if _, err := e.getFromHost(other, "http://"+ip+"/break", 1); err != nil {
		t.Fatal(err)
	}
	broke := time.Now()
	eventually(t, 60*time.Second, func() error {
		p := e.onePod("app=alive")
		cs := p.Status.ContainerStatuses[0]
		if cs.RestartCount != 1 || !p.ready() {
			return fmt.Errorf("restarts %d ready %v", cs.RestartCount, p.ready())
		}
		if p.Metadata.Name != name || p.Status.PodIP != ip {
			t.Fatalf("pod replaced: %s %s, was %s %s", p.Metadata.Name, p.Status.PodIP, name, ip)
		}
		if lt := cs.LastState.Terminated; lt == nil || !strings.Contains(lt.Message, "Liveness probe failed") {
			return fmt.Errorf("last state %+v", cs.LastState.Terminated)
		}
		return nil
	})
	t.Logf("restarted %s after liveness failed", time.Since(broke).Round(time.Second))
	table := e.mustRun(0, e.fromGit("get", "pods", "-l", "app=alive")...)
	if !strings.Contains(table.stdout, " 1 (") || !strings.Contains(table.stdout, " ago)") {
		t.Errorf("get pods: want RESTARTS 1 (Xs ago):\n%s", table.stdout)
	}
	// The new container answers again (/live is fine in a new process);
	// the previous one is kept for its logs.
	if out, err := e.getFromHost(other, "http://"+ip+"/live", 1); err != nil || !strings.Contains(out, "ok") {
		t.Errorf("after restart /live: %v %q", err, out)
	}
	if st := strings.TrimSpace(e.mustExec(node, "docker", "inspect", "-f", "{{.State.Status}}", name+"_PREV")); st != "exited" {
		t.Errorf("previous container: %q", st)
	}
	// The new container's veth needs hairpin mode, which the network
	// agent sets: the next apply converges, with no pod change.
	r = e.mustRun(0, e.fromGit("apply")...)
	if strings.Contains(r.stdout, "created") || strings.Contains(r.stdout, "deleted") {
		t.Errorf("apply after a restart changed pods: %s", r)
	}
	e.mustRun(0, e.fromGit("diff")...)
}

// A container that keeps exiting is restarted with Kubernetes' doubling
// back-off (base 1s here) and shows CrashLoopBackOff; the Deployment does
// not replace the pod.
func TestCrashLoopBackOff(t *testing.T) {
	e := newEnv(t)
	e.withKubelet("restartBackoffBaseSeconds: 1")
	t.Cleanup(func() { e.clusterFile = ""; e.applyGit(web("solo", "nginx:1.0", 1, "", "")) })
	e.push(strings.Replace(probed("crash", "", "        args: [exit, \"3\"]\n"), "progressDeadlineSeconds: 60", "progressDeadlineSeconds: 4", 1))
	// Without a readiness probe the pod is ready while it runs, so the
	// rollout may or may not see it ready: either ends the apply.
	if r := e.run(e.fromGit("apply")...); r.code != 0 && r.code != 5 {
		t.Errorf("apply of a crashing pod: %s", r)
	}
	first := e.onePod("app=crash").Metadata.Name
	sawBackOff := false
	var starts, ends []time.Time
	eventually(t, 150*time.Second, func() error {
		p := e.onePod("app=crash")
		if p.Metadata.Name != first {
			t.Fatalf("crash-looping pod %s replaced by %s", first, p.Metadata.Name)
		}
		cs := p.Status.ContainerStatuses[0]
		if cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" {
			sawBackOff = true
		}
		if lt := cs.LastState.Terminated; lt != nil && lt.ExitCode != 3 {
			t.Fatalf("last state %+v, want exit 3", lt)
		}
		if lt := cs.LastState.Terminated; lt != nil && (len(ends) == 0 || !lt.FinishedAt.Equal(ends[len(ends)-1])) {
			starts, ends = append(starts, lt.StartedAt), append(ends, lt.FinishedAt)
		}
		// Three terminated instances give two gaps to compare. A slow
		// poll under load can start late or miss an instance; the
		// doubling back-off makes the later gaps long enough to see.
		if cs.RestartCount < 5 || !sawBackOff || len(ends) < 3 {
			return fmt.Errorf("restarts %d, saw CrashLoopBackOff %v, %d terminated instances seen", cs.RestartCount, sawBackOff, len(ends))
		}
		return nil
	})
	table := e.mustRun(0, e.fromGit("get", "pods", "-l", "app=crash")...)
	t.Logf("get pods:\n%s", table.stdout)
	if strings.Contains(table.stdout, " 0s\n") || strings.Contains(table.stdout, " 1s\n") {
		t.Errorf("AGE is the last container's, not the pod's:\n%s", table.stdout)
	}
	// The gap between one end and the next start grows: 0, 1, 2, 4 s.
	var gaps []time.Duration
	for i := 1; i < len(starts); i++ {
		gaps = append(gaps, starts[i].Sub(ends[i-1]).Round(100*time.Millisecond))
	}
	t.Logf("gaps between restarts: %v", gaps)
	if n := len(gaps); n < 2 || gaps[n-1] <= gaps[n-2] || gaps[n-1] < 2*time.Second {
		t.Errorf("back-off does not grow: gaps %v", gaps)
	}
}

// A startup probe holds readiness (and liveness) until it succeeds: the
// server's /started fails for its first 6 seconds, its /healthz never.
func TestStartupProbeHoldsReadiness(t *testing.T) {
	start := time.Now()
	e, r := labApply(t, probed("slowstart", `        startupProbe:
          httpGet: {path: /started, port: http}
          periodSeconds: 1
          failureThreshold: 30
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 1
        livenessProbe:
          httpGet: {path: /started, port: http}
          periodSeconds: 1
          failureThreshold: 1
`, "        env: [{name: STARTED_AFTER, value: 6s}]\n"))
	took := time.Since(start)
	if r.code != 0 || !strings.Contains(r.stdout, "1/1 ready") {
		t.Fatalf("apply: %s", r)
	}
	t.Logf("ready after %s", took.Round(100*time.Millisecond))
	if took < 6*time.Second {
		t.Errorf("ready after %s: before the startup probe could pass (6s)", took)
	}
	p := e.onePod("app=slowstart")
	// The liveness probe (failureThreshold 1 on the same endpoint) never
	// ran before startup passed, or the container would have restarted.
	if n := p.Status.ContainerStatuses[0].RestartCount; n != 0 {
		t.Errorf("restarts %d: liveness ran before startup passed", n)
	}
	if _, err := e.exec(p.Spec.NodeName, "test", "-f", "/run/reconcile/started/"+p.Metadata.Name+"_web/ok"); err != nil {
		t.Errorf("startup gate not written: %v", err)
	}
}

// minReadySeconds: the rollout waits until the pod has been ready that
// long (the podserver is ready within about a second of starting).
func TestMinReadySecondsDelaysAvailability(t *testing.T) {
	start := time.Now()
	_, r := labApply(t, web("steady", "nginx:1.0", 1, "  minReadySeconds: 6\n", ""))
	took := time.Since(start)
	if r.code != 0 || !strings.Contains(r.stdout, "1/1 ready") {
		t.Fatalf("apply: %s", r)
	}
	t.Logf("rolled out in %s", took.Round(100*time.Millisecond))
	if took < 6*time.Second {
		t.Errorf("rolled out in %s, before the pod was ready for minReadySeconds (6s)", took)
	}
}
