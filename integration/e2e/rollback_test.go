package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// A rollout that misses its progress deadline under apply
// --rollback-on-failure goes back to the previous template: the run exits
// 5 saying what failed and that it rolled back, only old-template pods are
// left, all replicas ready, and a load generator against the ClusterIP saw
// no failed request during it.
func TestRollbackOnFailure(t *testing.T) {
	e := newEnv(t)
	spec := "  progressDeadlineSeconds: 8\n  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 1}}\n"
	e.applyGit(web("rb", "nginx:1.0", 3, spec, ""), service("rb", "rb", ""))
	before := e.pods("app=rb")
	if len(before) != 3 {
		t.Fatalf("want 3 pods, got %d", len(before))
	}
	oldRev := e.lastRevision("rb")
	oldPrefix := before[0].Metadata.Name[:strings.LastIndex(before[0].Metadata.Name, "-")+1] // rb-<pod-template-hash>-
	vip := e.clusterIP("rb")
	e.push(web("rb", "nginx:2.0", 3, spec, "        env: [{name: FAIL_READY, value: \"1\"}]\n"), service("rb", "rb", ""))

	var requests, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		failedOf := regexp.MustCompile(`(\d+) of \d+ requests failed`)
		for {
			select {
			case <-stop:
				return
			default:
			}
			const n = 5
			out, err := e.getFromHost("node-3", "http://"+vip+"/", n)
			requests.Add(n)
			if err != nil {
				if m := failedOf.FindStringSubmatch(out); m != nil {
					k, _ := strconv.Atoi(m[1])
					failed.Add(int64(k))
				} else {
					failed.Add(n)
				}
				t.Logf("load: %v: %s", err, strings.TrimSpace(out))
			}
		}
	})
	r := e.run(e.fromGit("apply", "--rollback-on-failure")...)
	close(stop)
	wg.Wait()
	t.Logf("apply --rollback-on-failure:\n%s", r)
	if r.code != 5 {
		t.Fatalf("want exit 5 (rollout), got %s", r)
	}
	back := fmt.Sprintf("rolled back to revision %d", oldRev)
	for _, want := range []string{"progress deadline exceeded", "readiness probe httpGet", back, "its pods are ready"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("apply's error does not say %q", want)
		}
	}
	if !strings.Contains(r.stdout, "deployment.apps/rb "+back+": 3/3 ready") {
		t.Errorf("apply summary: %q", r.stdout)
	}
	after := e.pods("app=rb")
	ready := 0
	for _, p := range after {
		if !strings.HasPrefix(p.Metadata.Name, oldPrefix) || p.Status.ContainerStatuses[0].Image != "nginx:1.0" {
			t.Errorf("pod %s (%s) is not of the old template %s*", p.Metadata.Name, p.Status.ContainerStatuses[0].Image, oldPrefix)
		}
		if p.ready() {
			ready++
		}
	}
	if len(after) != 3 || ready != 3 {
		t.Errorf("after the rollback: %d pods, %d ready; want 3 and 3", len(after), ready)
	}
	t.Logf("load generator: %d requests to %s during the rollout and rollback, %d failed", requests.Load(), vip, failed.Load())
	if requests.Load() == 0 || failed.Load() != 0 {
		t.Errorf("the ClusterIP failed %d of %d requests during the rollback", failed.Load(), requests.Load())
	}
	// The failed template is the newest revision (the repository declares
	// it), the one rolled back to the one before.
	if got := e.lastRevision("rb"); got != oldRev+1 {
		t.Errorf("rollout history after the rollback: newest revision %d, want %d", got, oldRev+1)
	}

	// rollout undo: a healthy new version rolled out, then back to the
	// first one (the revision before the newest is the failed one, as in
	// kubectl: hence --to-revision).
	e.applyGit(web("rb", "nginx:2.0", 3, spec, ""), service("rb", "rb", ""))
	u := e.mustRun(0, e.fromGit("rollout", "undo", "deploy/rb", "--to-revision", strconv.Itoa(oldRev))...)
	if !strings.Contains(u.stdout, "deployment.apps/rb rolled back") || !strings.Contains(u.stderr, "the next apply or sync rolls it out again") {
		t.Errorf("rollout undo:\n%s", u)
	}
	ready = 0
	for _, p := range e.pods("app=rb") {
		if p.Status.ContainerStatuses[0].Image != "nginx:1.0" {
			t.Errorf("after rollout undo: pod %s runs %s", p.Metadata.Name, p.Status.ContainerStatuses[0].Image)
		}
		if p.ready() {
			ready++
		}
	}
	if ready != 3 {
		t.Errorf("after rollout undo: %d ready pods, want 3", ready)
	}
	e.applyGit(web("rb", "nginx:1.0", 3, spec, ""), service("rb", "rb", "")) // the repo back to what runs
}

// lastRevision is the newest revision `rollout history deploy/NAME` lists.
func (e *env) lastRevision(name string) int {
	e.t.Helper()
	r := e.mustRun(0, e.fromGit("rollout", "history", "deploy/"+name)...)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) < 3 || lines[0] != "deployment.apps/"+name || !strings.HasPrefix(lines[1], "REVISION  COMMIT") {
		e.t.Fatalf("rollout history:\n%s", r)
	}
	n, err := strconv.Atoi(strings.Fields(lines[len(lines)-1])[0])
	if err != nil || !regexp.MustCompile(`^\d+\s+[0-9a-f]{12}\s+<none>$`).MatchString(lines[len(lines)-1]) {
		e.t.Fatalf("rollout history's last line %q", lines[len(lines)-1])
	}
	return n
}
