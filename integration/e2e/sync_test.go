package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// passRecord is a `sync pass` record of --log-format json.
type passRecord struct {
	Msg     string `json:"msg"`
	Outcome string `json:"outcome"`
	Calls   int    `json:"calls"`
	Writes  int    `json:"writes"`
	Drift   int    `json:"drift"`
	Error   string `json:"error"`
}

func passes(t *testing.T, stderr string) []passRecord {
	t.Helper()
	var out []passRecord
	for _, line := range strings.Split(stderr, "\n") {
		var r passRecord
		if json.Unmarshal([]byte(line), &r) == nil && r.Msg == "sync pass" {
			out = append(out, r)
		}
	}
	return out
}

// hostState is what a pass with nothing to do must leave untouched.
func (e *env) hostState() string {
	var b strings.Builder
	for _, h := range e.l.Hosts {
		b.WriteString(e.mustExec(h.Name, "stat", "-c", "%n %y", "/var/lib/reconcile/endpoints.json",
			"/var/lib/reconcile/state/allocations.json", "/var/lib/reconcile/state/node-applied.json"))
		b.WriteString(e.mustExec(h.Name, "sh", "-c", "iptables-save -t nat | grep -v '^#' | sed 's/\\[[0-9:]*\\]//'"))
	}
	return b.String() + e.containers()
}

// A pass that finds nothing changed does one call per host and no writes.
func TestSyncIdlePassOneCallPerHost(t *testing.T) {
	e := newEnv(t)
	e.applyGit(seedDeployment(t), seedService(t))
	e.mustRun(0, e.fromGit("sync", "--once")...)
	before := e.hostState()
	r := e.mustRun(0, e.fromGit("sync", "--once", "--log-format", "json")...)
	ps := passes(t, r.stderr)
	if len(ps) != 1 {
		t.Fatalf("want one pass record, got:\n%s", r.stderr)
	}
	t.Logf("idle pass: %d calls, %d writes", ps[0].Calls, ps[0].Writes)
	if ps[0].Outcome != "in-sync" || ps[0].Calls != len(e.l.Hosts) || ps[0].Writes != 0 {
		t.Errorf("idle pass: %+v, want in-sync with %d calls and 0 writes", ps[0], len(e.l.Hosts))
	}
	if after := e.hostState(); after != before {
		t.Errorf("an idle pass changed the hosts:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// daemon runs `reconcile sync --interval` until the test ends.
type daemon struct {
	mu     sync.Mutex
	lines  []string
	cancel context.CancelFunc
	done   chan struct{}
}

func (e *env) startDaemon(interval string) *daemon {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	args := e.fromGit("sync", "--interval", interval, "--log-format", "json")
	args = append(args, "--ssh-key", e.l.KeyFile, "--known-hosts", e.l.KnownHosts, "--cache-dir", e.cache)
	cmd := exec.CommandContext(ctx, reconcileBin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	d := &daemon{cancel: cancel, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.mu.Lock()
			d.lines = append(d.lines, sc.Text())
			d.mu.Unlock()
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
		close(d.done)
	}()
	e.t.Cleanup(func() {
		cancel()
		<-d.done
		if e.t.Failed() {
			e.t.Logf("daemon log:\n%s", d.log())
		}
	})
	return d
}

func (d *daemon) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.lines, "\n")
}

// waitPasses waits until the daemon has logged n passes.
func (d *daemon) waitPasses(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, func() error {
		if got := len(passes(t, d.log())); got < n {
			return fmt.Errorf("%d of %d passes so far", got, n)
		}
		return nil
	})
}

// waitIdle waits for an in-sync pass logged after the n-th pass, so the
// next change by hand is found by a pass of its own.
func (d *daemon) waitIdle(t *testing.T, timeout time.Duration) {
	t.Helper()
	n := len(passes(t, d.log()))
	eventually(t, timeout, func() error {
		ps := passes(t, d.log())
		for _, p := range ps[n:] {
			if p.Outcome == "in-sync" {
				return nil
			}
		}
		return fmt.Errorf("no idle pass yet")
	})
}

// timed waits for cond and returns how long it took.
func timed(t *testing.T, timeout time.Duration, cond func() error) time.Duration {
	t.Helper()
	start := time.Now()
	eventually(t, timeout, cond)
	return time.Since(start)
}

// The daemon repairs a pod removed by hand, a deleted VIP rule and an
// edited endpoints file, each within one interval, and reports drift.
func TestSyncDaemonRepairsDrift(t *testing.T) {
	e := newEnv(t)
	e.applyGit(seedDeployment(t), seedService(t))
	const interval = 5 * time.Second
	d := e.startDaemon(interval.String())
	d.waitPasses(t, 1, time.Minute)

	victim := e.pods("run=my-nginx")[0]
	e.mustExec(victim.Spec.NodeName, "docker", "rm", "-f", victim.Metadata.Name)
	took := timed(t, 2*interval, func() error {
		ready := 0
		for _, p := range e.pods("run=my-nginx") {
			if p.ready() && p.Metadata.Name != victim.Metadata.Name {
				ready++
			}
		}
		if ready != 2 {
			return fmt.Errorf("%d ready pods", ready)
		}
		return nil
	})
	t.Logf("pod removed by hand: back in %s (interval %s)", took.Round(time.Millisecond), interval)
	if took > interval+2*time.Second {
		t.Errorf("the removed pod took %s to come back, more than one interval (%s)", took, interval)
	}

	d.waitIdle(t, 3*interval)
	chain := ""
	for _, f := range strings.Fields(e.mustExec("node-2", "iptables-save", "-t", "nat")) {
		if strings.HasPrefix(f, "RECONCILE-SVC-") {
			chain = f
			break
		}
	}
	e.mustExec("node-2", "iptables", "-t", "nat", "-F", chain)
	took = timed(t, 2*interval, func() error {
		if !strings.Contains(e.mustExec("node-2", "iptables-save", "-t", "nat"), "-A "+chain+" ") {
			return fmt.Errorf("chain %s still empty", chain)
		}
		return nil
	})
	t.Logf("VIP rules flushed by hand: restored in %s", took.Round(time.Millisecond))
	if took > interval+2*time.Second {
		t.Errorf("the deleted rule took %s to come back, more than one interval", took)
	}

	d.waitIdle(t, 3*interval)
	want := e.endpointsFile("node-1")
	e.mustExec("node-3", "sh", "-c", "echo '{}' > /var/lib/reconcile/endpoints.json")
	took = timed(t, 2*interval, func() error {
		if e.endpointsFile("node-3") != want {
			return fmt.Errorf("endpoints file still edited")
		}
		return nil
	})
	t.Logf("endpoints file edited by hand: restored in %s", took.Round(time.Millisecond))
	if took > interval+2*time.Second {
		t.Errorf("the edited endpoints file took %s to be restored, more than one interval", took)
	}
	// The pass logs once it has finished converging every host.
	eventually(t, 2*interval, func() error {
		for _, kind := range []string{"pod", "rules", "file"} {
			if !strings.Contains(d.log(), `"msg":"drift","node":`) || !strings.Contains(d.log(), `"kind":"`+kind+`"`) {
				return fmt.Errorf("no %s drift reported", kind)
			}
		}
		return nil
	})
}

// With the daemon running, a killed pod leaves every host's endpoints file
// within 2 seconds, long before the next interval.
func TestDaemonEndpointsWithin2s(t *testing.T) {
	e := newEnv(t)
	e.applyGit(seedDeployment(t), seedService(t))
	d := e.startDaemon("5m")
	d.waitPasses(t, 1, time.Minute)
	time.Sleep(time.Second) // let the event streams open

	victim := e.pods("run=my-nginx")[0]
	for _, h := range e.l.Hosts {
		if !strings.Contains(e.endpointsFile(h.Name), victim.Metadata.Name) {
			t.Fatalf("%s: endpoints file lacks %s before the kill", h.Name, victim.Metadata.Name)
		}
	}
	e.mustExec(victim.Spec.NodeName, "docker", "kill", victim.Metadata.Name)
	took := timed(t, 10*time.Second, func() error {
		for _, h := range e.l.Hosts {
			if strings.Contains(e.endpointsFile(h.Name), victim.Metadata.Name) {
				return fmt.Errorf("%s still lists %s", h.Name, victim.Metadata.Name)
			}
		}
		return nil
	})
	t.Logf("killed pod left every host's endpoints file in %s", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("the killed pod left the endpoints files after %s, want within 2s", took)
	}
	eventually(t, 30*time.Second, func() error {
		ready := 0
		for _, p := range e.pods("run=my-nginx") {
			if p.ready() {
				ready++
			}
		}
		if ready != 2 {
			return fmt.Errorf("%d ready pods, want the replacement too", ready)
		}
		return nil
	})
}
