package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const lockFile = "/var/lib/reconcile/lock/lock"

// appliedFile is where a host's agent records the network config it applied.
const appliedFile = "/var/lib/reconcile/state/node-applied.json"

// started is a CLI run in the background.
type started struct {
	cmd         *exec.Cmd
	out, errOut bytes.Buffer
	done        chan result
}

// start runs the CLI like runCtx, without waiting for it. The test's
// cleanup kills it if it still runs.
func (e *env) start(args ...string) *started {
	e.t.Helper()
	args = append(args, "--ssh-key", e.l.KeyFile, "--known-hosts", e.l.KnownHosts, "--cache-dir", e.cache)
	s := &started{cmd: exec.Command(reconcileBin, args...), done: make(chan result, 1)}
	s.cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.errOut
	if err := s.cmd.Start(); err != nil {
		e.t.Fatalf("reconcile %v: %v", args, err)
	}
	go func() {
		err := s.cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
			if code < 0 {
				code = -1 // killed by a signal
			}
		}
		s.done <- result{s.out.String(), s.errOut.String(), code}
	}()
	e.t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
	return s
}

func (s *started) wait(t *testing.T, d time.Duration) result {
	t.Helper()
	select {
	case r := <-s.done:
		s.done <- r // for the cleanup
		return r
	case <-time.After(d):
		t.Fatalf("reconcile %v still runs after %s", s.cmd.Args[1:], d)
		return result{}
	}
}

// clearLocks removes lock files a failed test may leave, so later tests do
// not find the hosts locked. Registered before any run is started, so it
// runs after their cleanup has killed them.
func (e *env) clearLocks() {
	e.t.Cleanup(func() {
		for _, h := range e.l.Hosts {
			e.exec(h.Name, "rm", "-f", lockFile)
		}
	})
}

// noLocks fails unless every host's lock was released.
func (e *env) noLocks() {
	e.t.Helper()
	for _, h := range e.l.Hosts {
		if out, err := e.exec(h.Name, "cat", lockFile); err == nil {
			e.t.Errorf("%s: lock left after the runs ended: %s", h.Name, out)
		}
	}
}

// Two applies started together: without --wait-for-lock exactly one acts
// and the other exits 6 naming the holder; with it, both succeed one after
// the other and the hosts end with the Deployment's replicas, no more.
func TestLockConcurrentApplies(t *testing.T) {
	e := newEnv(t)
	e.clearLocks()
	e.push(web("locked", "nginx:1.0", 3, "", ""))
	a, b := e.start(e.fromGit("apply")...), e.start(e.fromGit("apply")...)
	ra, rb := a.wait(t, 3*time.Minute), b.wait(t, 3*time.Minute)
	if ra.code != 0 {
		ra, rb = rb, ra
	}
	if ra.code != 0 || rb.code != 6 || !strings.Contains(rb.stderr, "error: lock held by apply by ") ||
		!strings.Contains(rb.stderr, " on node-1: another reconcile is running; retry later or pass --wait-for-lock 5m") {
		t.Fatalf("want one apply to exit 0 and the other 6 with the holder named:\nfirst: %s\nsecond: %s", ra, rb)
	}
	t.Logf("the run that found the lock held:\n%s", rb.stderr)
	if n := len(e.pods("app=locked")); n != 3 {
		t.Errorf("%d pods of app=locked, want 3", n)
	}
	e.noLocks()

	// A new version, both runs waiting for the lock: the first rolls it
	// out, the second finds nothing left to do.
	e.push(web("locked", "nginx:2.0", 3, "", ""))
	start := time.Now()
	a, b = e.start(e.fromGit("apply", "--wait-for-lock", "2m")...), e.start(e.fromGit("apply", "--wait-for-lock", "2m")...)
	ra, rb = a.wait(t, 3*time.Minute), b.wait(t, 3*time.Minute)
	if ra.code != 0 || rb.code != 0 {
		t.Fatalf("with --wait-for-lock both applies should succeed:\nfirst: %s\nsecond: %s", ra, rb)
	}
	if !strings.Contains(ra.stderr+rb.stderr, "waiting for lock held by apply by ") {
		t.Errorf("neither run said it waited for the lock:\nfirst: %s\nsecond: %s", ra, rb)
	}
	t.Logf("both runs done in %s", time.Since(start).Round(100*time.Millisecond))
	pods := e.pods("app=locked")
	if len(pods) != 3 {
		t.Errorf("%d pods of app=locked, want 3 (no duplicates)", len(pods))
	}
	for _, p := range pods {
		if img := p.Status.ContainerStatuses[0].Image; img != "nginx:2.0" || !p.ready() {
			t.Errorf("pod %s: image %s ready %v", p.Metadata.Name, img, p.ready())
		}
	}
	e.noLocks()
}

// The lock of a run killed with SIGKILL stays until its expiry: a run
// without --wait-for-lock is refused, one with it takes over after the
// expiry.
func TestLockTakeoverAfterKill(t *testing.T) {
	e := newEnv(t)
	e.clearLocks()
	e.push(web("slow", "nginx:1.0", 2, "  progressDeadlineSeconds: 300\n", "        env: [{name: FAIL_READY, value: \"1\"}]\n"))
	const ttl = 5 * time.Second
	stuck := e.start(e.fromGit("apply", "--lock-ttl", ttl.String())...)
	eventually(t, time.Minute, func() error {
		for _, h := range e.l.Hosts {
			if _, err := e.exec(h.Name, "cat", lockFile); err != nil {
				return err
			}
		}
		return nil
	})
	t.Logf("node-1 %s: %s", lockFile, e.mustExec("node-1", "cat", lockFile))
	e.push(web("slow", "nginx:1.0", 2, "", ""))

	if err := stuck.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if r := stuck.wait(t, 10*time.Second); r.code != -1 {
		t.Fatalf("the killed apply: %s", r)
	}
	r := e.run(e.fromGit("apply")...)
	if r.code != 6 || !strings.Contains(r.stderr, "error: lock held by apply by ") {
		t.Fatalf("apply %s after the holder was killed (before the expiry): want exit 6 naming it, got %s",
			time.Since(killed).Round(time.Millisecond), r)
	}
	refused := time.Since(killed)
	held := e.mustExec("node-1", "cat", lockFile)
	waiter := e.start(e.fromGit("apply", "--wait-for-lock", "30s")...)
	var takenOver time.Duration
	eventually(t, 30*time.Second, func() error {
		now, err := e.exec("node-1", "cat", lockFile)
		if err != nil || now == held {
			return errors.New("the killed run's lock is still on node-1")
		}
		takenOver = time.Since(killed)
		return nil
	})
	r = waiter.wait(t, 2*time.Minute)
	if r.code != 0 || !strings.Contains(r.stderr, "waiting for lock held by apply by ") {
		t.Fatalf("apply --wait-for-lock 30s: want exit 0 after saying whom it waited for, got %s", r)
	}
	t.Logf("killed run's lock (ttl %s, renewed every %s): refused %s after the kill, taken over %s after it, applied %s after it",
		ttl, (ttl / 3).Round(time.Millisecond), refused.Round(time.Millisecond), takenOver.Round(100*time.Millisecond), time.Since(killed).Round(100*time.Millisecond))
	if takenOver > ttl+3*time.Second {
		t.Errorf("taken over %s after the kill, want within the ttl %s plus the 2s backoff", takenOver, ttl)
	}
	pods := e.pods("app=slow")
	if len(pods) != 2 {
		t.Errorf("%d pods of app=slow, want 2", len(pods))
	}
	for _, p := range pods {
		if !p.ready() {
			t.Errorf("pod %s not ready after the takeover", p.Metadata.Name)
		}
	}
	e.noLocks()
}

// A run that stalls past its lock's TTL while another run takes the lock
// over must not act again: the host refuses its agent writes (they carry
// its lock id, and the host's lock is now another's), and the run itself
// notices the loss at its next renewal and stops with exit 6.
func TestLockFencing(t *testing.T) {
	e := newEnv(t)
	e.clearLocks()
	e.push(web("fenced", "nginx:1.0", 2, "  progressDeadlineSeconds: 300\n", "        env: [{name: FAIL_READY, value: \"1\"}]\n"))
	const ttl = 3 * time.Second
	stalled := e.start(e.fromGit("apply", "--lock-ttl", ttl.String())...)
	var held string
	eventually(t, time.Minute, func() error {
		// Wait until the run holds the lock and has converged node-1 once.
		if _, err := e.exec("node-1", "cat", appliedFile); err != nil {
			return err
		}
		out, err := e.exec("node-1", "cat", lockFile)
		held = out
		return err
	})
	var li struct{ ID string }
	if err := json.Unmarshal([]byte(held), &li); err != nil || li.ID == "" {
		t.Fatalf("node-1 %s: %q: %v", lockFile, held, err)
	}
	// The run stalls (a paused VM, a swapped-out runner) past its TTL and
	// another run takes the lock over on every host.
	if err := stalled.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(ttl + time.Second)
	now := time.Now().UTC()
	other := fmt.Sprintf(`{"id":"other-run","owner":"apply by ci@runner-9 pid 9","acquired":%q,"expires":%q}`,
		now.Format(time.RFC3339), now.Add(10*time.Minute).Format(time.RFC3339))
	for _, h := range e.l.Hosts {
		e.mustExec(h.Name, "sh", "-c", "printf '%s\\n' '"+other+"' > "+lockFile)
	}
	applied := e.mustExec("node-1", "cat", appliedFile)

	// What the stalled run's next write would be: refused by the host.
	agentBin := strings.TrimSpace(e.mustExec("node-1", "sh", "-c", "ls -t /var/lib/reconcile/bin/reconcile-* | grep -v '[.]verified$' | head -1"))
	req := fmt.Sprintf(`{"config":{"node":"node-1"},"dryRun":false,"fence":%q}`, li.ID)
	out, err := e.exec("node-1", "sh", "-c", "printf '%s' '"+req+"' | "+agentBin+" node apply 2>&1; echo exit=$?")
	if err != nil || !strings.Contains(out, "error: refused: the lock is held by apply by ci@runner-9 pid 9 since ") || !strings.Contains(out, "exit=6") {
		t.Errorf("a write fenced with the stalled run's lock %s: want refused with exit 6, got %v\n%s", li.ID, err, out)
	}
	if now := e.mustExec("node-1", "cat", appliedFile); now != applied {
		t.Errorf("the refused write changed the host's applied state:\nbefore %s\nafter  %s", applied, now)
	}

	// The stalled run resumes: it must stop rather than act.
	before := len(e.pods("app=fenced"))
	if err := stalled.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	r := stalled.wait(t, time.Minute)
	if r.code != 6 || !strings.Contains(r.stderr, "lost the run lock") {
		t.Fatalf("the stalled run after the takeover: want exit 6 saying it lost the lock, got %s", r)
	}
	t.Logf("the stalled run:\n%s", r.stderr)
	if n := len(e.pods("app=fenced")); n != before {
		t.Errorf("%d pods of app=fenced after the stalled run resumed, had %d", n, before)
	}
	for _, h := range e.l.Hosts {
		if got := e.mustExec(h.Name, "cat", lockFile); !strings.Contains(got, `"id":"other-run"`) {
			t.Errorf("%s: the stalled run touched the other run's lock: %s", h.Name, got)
		}
	}
}
