package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/reconcile-dev/reconcile/integration/lab"
)

// The lab benchmarks time the CLI as users run it: a fresh process per
// command, git fetch, SSH to every host. Pushes and resets happen with the
// timer stopped.

// benchSeed reads one of the seed's manifests from examples/nginx.
func benchSeed(b *testing.B, name string) string {
	b.Helper()
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "examples", "nginx", name))
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}

// benchPass is the one `sync pass` record of a `sync --once --log-format
// json` run.
type benchPass struct {
	Msg      string `json:"msg"`
	Outcome  string `json:"outcome"`
	Calls    int    `json:"calls"`
	Writes   int    `json:"writes"`
	Duration string `json:"duration"`
}

// idlePass runs `sync --once` and fails unless it found nothing to do.
func (e *env) idlePass(b *testing.B) (benchPass, time.Duration) {
	b.Helper()
	r := e.mustRun(0, e.fromGit("sync", "--once", "--log-format", "json")...)
	var ps []benchPass
	for _, line := range strings.Split(r.stderr, "\n") {
		var p benchPass
		if json.Unmarshal([]byte(line), &p) == nil && p.Msg == "sync pass" {
			ps = append(ps, p)
		}
	}
	if len(ps) != 1 || ps[0].Outcome != "in-sync" || ps[0].Writes != 0 {
		b.Fatalf("want one in-sync pass with no writes, got %+v\n%s", ps, r)
	}
	d, err := time.ParseDuration(ps[0].Duration)
	if err != nil {
		b.Fatalf("pass duration %q: %v", ps[0].Duration, err)
	}
	return ps[0], d
}

// timedApply pushes docs with the timer stopped, then applies them timed.
func (e *env) timedApply(b *testing.B, docs ...string) time.Duration {
	b.Helper()
	b.StopTimer()
	e.push(docs...)
	b.StartTimer()
	start := time.Now()
	e.mustRun(0, e.fromGit("apply")...)
	return time.Since(start)
}

// reconcileRules counts the rules in our chains and hooks on a host.
func (e *env) reconcileRules(b *testing.B, node string) int {
	b.Helper()
	n := 0
	for _, l := range strings.Split(e.mustExec(node, "iptables-save"), "\n") {
		if strings.HasPrefix(l, "-A ") && strings.Contains(l, "RECONCILE") {
			n++
		}
	}
	return n
}

// BenchmarkLabIdleSyncPass is `reconcile sync --once` on converged hosts:
// the whole process (git fetch, SSH to 3 hosts, one status call each).
// pass-ms is the pass as the CLI logs it.
func BenchmarkLabIdleSyncPass(b *testing.B) {
	e := newEnvTB(b)
	e.applyGit(benchSeed(b, "run-my-nginx.yaml"), benchSeed(b, "nginx-svc.yaml"))
	e.mustRun(0, e.fromGit("sync", "--once")...)
	var calls int
	var pass time.Duration
	for b.Loop() {
		p, d := e.idlePass(b)
		calls += p.Calls
		pass += d
	}
	b.ReportMetric(float64(calls)/float64(b.N), "calls/pass")
	b.ReportMetric(float64(pass.Milliseconds())/float64(b.N), "pass-ms")
}

// BenchmarkLabApplyScale scales a Deployment of the lab image from 0 to 30
// ready pods over 3 hosts, then back to 0; one op is both applies.
func BenchmarkLabApplyScale(b *testing.B) {
	const pods = 30
	e := newEnvTB(b)
	scale := func(n int) string { return web("scale", lab.PodserverImage, n, "", "") }
	e.applyGit(scale(0))
	var up, down time.Duration
	for b.Loop() {
		up += e.timedApply(b, scale(pods))
		b.StopTimer()
		if got := len(e.pods("app=scale")); got != pods {
			b.Fatalf("%d pods after scaling up, want %d", got, pods)
		}
		b.StartTimer()
		down += e.timedApply(b, scale(0))
	}
	b.ReportMetric(float64(pods*b.N)/up.Seconds(), "up-pods/s")
	b.ReportMetric(float64(pods*b.N)/down.Seconds(), "down-pods/s")
}

// BenchmarkLabRollout is a rolling update of 6 pods with a 1s readiness
// probe, alternating between nginx:1.0 and nginx:2.0.
func BenchmarkLabRollout(b *testing.B) {
	e := newEnvTB(b)
	images := []string{"nginx:2.0", "nginx:1.0"}
	e.applyGit(web("roll", images[1], 6, "", ""))
	i := 0
	for b.Loop() {
		e.timedApply(b, web("roll", images[i%2], 6, "", ""))
		i++
	}
	b.StopTimer()
	for _, p := range e.pods("app=roll") {
		if img := p.Status.ContainerStatuses[0].Image; img != images[(i-1)%2] || !p.ready() {
			b.Errorf("pod %s: image %s ready %v after the last rollout", p.Metadata.Name, img, p.ready())
		}
	}
}

// BenchmarkLabServices applies 200 Services at once next to a Deployment
// that is already running (the op), then times an idle pass over them and
// counts the rules a host holds.
func BenchmarkLabServices(b *testing.B) {
	const n = 200
	e := newEnvTB(b)
	dep := web("many", "nginx:1.0", 2, "", "")
	docs := []string{dep}
	for i := range n {
		docs = append(docs, service(fmt.Sprintf("many-%03d", i), "many", ""))
	}
	var pass time.Duration
	var calls, rules int
	for b.Loop() {
		b.StopTimer()
		e.applyGit(dep)
		b.StartTimer()
		e.timedApply(b, docs...)
		b.StopTimer()
		p, d := e.idlePass(b)
		pass += d
		calls += p.Calls
		rules = e.reconcileRules(b, "node-1")
		b.StartTimer()
	}
	b.ReportMetric(float64(pass.Milliseconds())/float64(b.N), "idle-pass-ms")
	b.ReportMetric(float64(calls)/float64(b.N), "calls/pass")
	b.ReportMetric(float64(rules), "rules/host")
}

// BenchmarkLabVIPRequests is HTTP through a ClusterIP from a host's own
// network stack: 500 requests per op, each on a new connection, to 3 pods.
func BenchmarkLabVIPRequests(b *testing.B) {
	const requests = 500
	e := newEnvTB(b)
	e.applyGit(web("vip", "nginx:1.0", 3, "", ""), service("vip", "vip", ""))
	url := "http://" + e.clusterIP("vip") + "/"
	for b.Loop() {
		out, err := e.getFromHost("node-1", url, requests)
		if err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		if got := countBy(out); len(got) != 3 {
			b.Fatalf("answers from %v, want all 3 pods", got)
		}
	}
	b.ReportMetric(float64(requests*b.N)/b.Elapsed().Seconds(), "requests/s")
}
