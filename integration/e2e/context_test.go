package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// After `config use-context lab` a kubectl user types `reconcile get pods`
// and nothing more: the repository, key, known_hosts and cache all come
// from the context, in a config file under a fresh HOME.
func TestContextGetPods(t *testing.T) {
	e := newEnv(t)
	e.applyGit(seedDeployment(t))
	// The tests after this one start from hosts without pods.
	t.Cleanup(func() {
		e.push()
		e.run(e.fromGit("apply", "--prune", "--allow-empty")...)
	})

	home := t.TempDir()
	run := func(args ...string) (string, string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, reconcileBin, args...)
		// Neither the runner's RECONCILE_* variables nor its ssh-agent:
		// only the context may say where things are.
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "RECONCILE_") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") && !strings.HasPrefix(kv, "HOME=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "HOME="+home, "SSH_AUTH_SOCK=")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.Run()
		return out.String(), errb.String(), cmd.ProcessState.ExitCode()
	}
	mustRun := func(args ...string) string {
		t.Helper()
		out, errs, code := run(args...)
		if code != 0 {
			t.Fatalf("reconcile %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
		}
		return out
	}
	mustRun("config", "set-context", "lab", "--repo", e.l.GitURL, "--path", "app",
		"--ssh-key", e.l.KeyFile, "--known-hosts", e.l.KnownHosts, "--cache-dir", e.cache, "--no-ssh-agent")
	mustRun("config", "use-context", "lab")
	if _, err := os.Stat(filepath.Join(home, ".config", "reconcile", "config.yaml")); err != nil {
		t.Fatalf("the context is not in ~/.config/reconcile: %v", err)
	}

	out := mustRun("get", "pods", "-o", "wide")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME ") || !strings.Contains(lines[0], "NODE") {
		t.Fatalf("get pods -o wide from the context: want a header and 2 pods\n%s", out)
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "my-nginx-") || !strings.Contains(l, "Running") {
			t.Errorf("pod line %q: want a running my-nginx pod", l)
		}
	}
	// A flag still wins over the context: this namespace has no pods.
	if out := mustRun("get", "pods", "-n", "kube-public"); strings.Contains(out, "my-nginx") {
		t.Errorf("get pods -n kube-public shows the default namespace's pods:\n%s", out)
	}
}
