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

// A user's ssh_config names the hosts: the Cluster lists Host aliases and
// the CLI gets only -F, no key or known_hosts flags.
func TestSSHConfigAliases(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "deploy.yaml"), []byte(seedDeployment(t)), 0o644)
	cluster := filepath.Join(t.TempDir(), "cluster.yaml")
	os.WriteFile(cluster, []byte(`apiVersion: reconcile.dev/v1alpha1
kind: Cluster
metadata: {name: lab}
spec:
  podCIDR: 198.18.0.0/16
  serviceCIDR: 198.19.0.0/16
  nodes:
  - {name: node-1, ssh: node-1, address: 198.51.100.11}
  - {name: node-2, ssh: node-2, address: 198.51.100.12}
  - {name: node-3, ssh: node-3, address: 198.51.100.13}
`), 0o644)
	run := func(args ...string) (string, string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, reconcileBin, append(args, "-f", dir, "--cluster", cluster, "-F", e.l.SSHConfig,
			// The same source as the other tests' git runs, so that they
			// prune what this one leaves (sources prune only their own).
			"--source-id", e.l.GitURL+"//app")...)
		cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=", "HOME="+t.TempDir())
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.Run()
		return out.String(), errb.String(), cmd.ProcessState.ExitCode()
	}
	if out, errs, code := run("apply"); code != 0 {
		t.Fatalf("apply -F ssh_config: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code := run("get", "pods", "-l", "run=my-nginx", "-o", "wide")
	if code != 0 || strings.Count(out, "my-nginx-") != 2 {
		t.Errorf("get pods -F ssh_config: exit %d\n%s%s", code, out, errs)
	}
}

// Pods created once a Service exists get its discovery variables, like
// Kubernetes' NAME_SERVICE_HOST and NAME_SERVICE_PORT.
func TestServiceEnvironment(t *testing.T) {
	e := newEnv(t)
	// The Service first, selecting nothing yet: a tree with no Deployment
	// prunes every pod, which needs --allow-empty.
	e.push(seedService(t))
	e.mustRun(0, e.fromGit("apply", "--allow-empty")...)
	vip := e.clusterIP("my-nginx")
	e.applyGit(seedDeployment(t), seedService(t))
	p := e.pods("run=my-nginx")[0]
	env := e.mustExec(p.Spec.NodeName, "docker", "inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", p.Metadata.Name)
	for _, want := range []string{"MY_NGINX_SERVICE_HOST=" + vip, "MY_NGINX_SERVICE_PORT=80", "MY_NGINX_PORT=tcp://" + vip + ":80"} {
		if !strings.Contains(env, want+"\n") {
			t.Errorf("pod %s lacks %s in its environment:\n%s", p.Metadata.Name, want, env)
		}
	}
}
