package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// talk runs on two hosts (one pod per node) so that a follow must read
// both at once.
var talk = web("talk", "nginx:1.0", 2, "", "") + `      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: talk}}}
`

// logs -f deploy/NAME streams lines written after it started from pods on
// two hosts, each prefixed [pod/NAME/CONTAINER], and ends cleanly (exit 0)
// on SIGTERM; logs --previous shows the instance before a restart;
// exec passes the command's exit code through.
func TestLogsFollowPreviousExec(t *testing.T) {
	e := newEnv(t)
	e.applyGit(talk)
	pods := e.pods("app=talk")
	if len(pods) != 2 || pods[0].Spec.NodeName == pods[1].Spec.NodeName {
		t.Fatalf("want 2 pods on two nodes, got %+v", pods)
	}

	args := append(e.fromGit("logs", "-f", "deploy/talk"), "--ssh-key", e.l.KeyFile, "--known-hosts", e.l.KnownHosts, "--cache-dir", e.cache)
	cmd := exec.Command(reconcileBin, args...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	want := map[string]string{} // line -> pod
	for _, p := range pods {
		want[fmt.Sprintf("[pod/%s/web] log mark-%s", p.Metadata.Name, p.Metadata.Name)] = p.Metadata.Name
	}
	// Ask every pod for a line until the follow shows it: the follow may
	// not have attached yet when the first request is made.
	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for len(want) > 0 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("logs -f ended early; still waiting for %v\nstderr: %s", want, stderr.String())
			}
			delete(want, strings.TrimSpace(l))
		case <-tick.C:
			for _, p := range pods {
				if _, pending := want[fmt.Sprintf("[pod/%s/web] log mark-%s", p.Metadata.Name, p.Metadata.Name)]; pending {
					other := otherNode(p.Spec.NodeName)
					e.getFromHost(other, "http://"+p.Status.PodIP+"/log/mark-"+p.Metadata.Name, 1)
				}
			}
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("logs -f never showed %v\nstderr: %s", want, stderr.String())
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	go func() {
		for range lines {
		}
	}()
	if err := cmd.Wait(); err != nil {
		t.Errorf("logs -f after SIGTERM: %v (want exit 0)\nstderr: %s", err, stderr.String())
	}

	// --previous: the instance before a restart, with the line it logged;
	// the current instance has not logged it.
	p := pods[0]
	name, node := p.Metadata.Name, p.Spec.NodeName
	// Killing the app process is a crash: the host's supervisor restarts
	// the container (after its back-off, as kubelet does). A `docker
	// restart` by hand races the supervisor's own restart (see the report).
	e.mustExec(node, "docker", "kill", name)
	waitRunning := time.Now().Add(90 * time.Second)
	for {
		state, _ := e.exec(node, "docker", "inspect", "-f", "{{.State.Status}}", name)
		if strings.TrimSpace(state) == "running" {
			break
		}
		if time.Now().After(waitRunning) {
			t.Fatalf("container %s on %s not running again after docker kill: %q\n%s", name, node, state, e.containers())
		}
		time.Sleep(500 * time.Millisecond)
	}
	prev := e.mustRun(0, e.fromGit("logs", "--previous", name)...)
	if !strings.Contains(prev.stdout, "log mark-"+name) {
		t.Errorf("logs --previous %s lacks the line of the instance before the restart:\n%s", name, prev)
	}
	cur := e.mustRun(0, e.fromGit("logs", name)...)
	if !strings.Contains(cur.stdout, "podserver listening") || strings.Contains(cur.stdout, "log mark-"+name) {
		docker, _ := e.exec(node, "docker", "logs", name)
		t.Errorf("logs %s after the restart should show the new instance only:\n%s\n--- docker logs on %s:\n%s", name, cur, node, docker)
	}

	// exec returns the command's exit code as reconcile's.
	if r := e.execIn(name, "sh", "-c", "exit 3"); r.code != 3 {
		t.Errorf("exec sh -c 'exit 3': want exit 3, got %s", r)
	}
	if r := e.execIn("deploy/talk", "sh", "-c", "echo hello"); r.code != 0 || strings.TrimSpace(r.stdout) != "hello" {
		t.Errorf("exec deploy/talk echo hello: %s", r)
	}
}

// exec -it runs in a real terminal (tmux): the shell sees the terminal's
// size, and a resize of the window reaches it.
func TestExecInteractiveTerminal(t *testing.T) {
	e := newEnv(t)
	e.applyGit(talk)
	name := e.pods("app=talk")[0].Metadata.Name
	sock := fmt.Sprintf("reconcile-e2e-%d", os.Getpid())
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", append([]string{"-L", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	args := append(e.fromGit("exec", "-it", name), "--ssh-key", e.l.KeyFile, "--known-hosts", e.l.KnownHosts, "--cache-dir", e.cache, "--", "sh")
	line := "SSH_AUTH_SOCK= " + shellQuote(reconcileBin)
	for _, a := range args {
		line += " " + shellQuote(a)
	}
	line += "; echo reconcile-exited-$?; sleep 30"
	tmux("new-session", "-d", "-s", "x", "-x", "100", "-y", "30", line)
	t.Cleanup(func() { exec.Command("tmux", "-L", sock, "kill-server").Run() })

	// waitPane waits for a line of the pane that is want (capture-pane
	// trims trailing blanks: the prompt "$ " is "$").
	waitPane := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			for _, l := range strings.Split(tmux("capture-pane", "-p", "-t", "x"), "\n") {
				if strings.TrimSpace(strings.TrimPrefix(l, "$ ")) == want {
					return
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("pane never showed %q:\n%s", want, tmux("capture-pane", "-p", "-t", "x"))
	}
	waitPane("$")
	tmux("send-keys", "-t", "x", "stty size", "Enter")
	waitPane("30 100")
	tmux("resize-window", "-t", "x", "-x", "120", "-y", "40")
	time.Sleep(500 * time.Millisecond)
	tmux("send-keys", "-t", "x", "stty size", "Enter")
	waitPane("40 120")
	tmux("send-keys", "-t", "x", "exit 7", "Enter")
	waitPane("reconcile-exited-7")
}

// execIn runs reconcile exec TARGET -- CMD...: the source and SSH flags go
// before the "--" (everything after it is the command's).
func (e *env) execIn(target string, command ...string) result {
	e.t.Helper()
	args := append(e.fromGit("exec", target), "--ssh-key", e.l.KeyFile, "--known-hosts", e.l.KnownHosts, "--cache-dir", e.cache, "--")
	args = append(args, command...)
	cmd := exec.CommandContext(e.ctx(2*time.Minute), reconcileBin, args...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("reconcile %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

func otherNode(n string) string {
	if n == "node-1" {
		return "node-2"
	}
	return "node-1"
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
