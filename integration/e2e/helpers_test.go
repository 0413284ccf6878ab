package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reconcile-dev/reconcile/integration/lab"
	"github.com/reconcile-dev/reconcile/integration/labtest"
)

// env is one test's view of the shared lab.
type env struct {
	t     testing.TB
	l     *lab.Lab
	cache string // git cache: every test starts as a fresh runner would
	// clusterFile replaces the lab's Cluster in pushes (withKubelet).
	clusterFile string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvTB(t)
}

// newEnvTB is newEnv for benchmarks, which measure on the same lab.
func newEnvTB(tb testing.TB) *env {
	tb.Helper()
	l := labtest.Up(tb, 3)
	e := &env{t: tb, l: l, cache: tb.TempDir()}
	pristineOnce.Do(func() {
		// The first test of the package sees the hosts as the lab made
		// them: what removing everything must leave (TestFaultRemoveEverything).
		pristineHosts = map[string]string{}
		for _, h := range l.Hosts {
			pristineHosts[h.Name] = e.hostSnapshot(h.Name)
		}
	})
	return e
}

var (
	pristineOnce  sync.Once
	pristineHosts map[string]string
)

// pristine is every host's snapshot before the package's first apply.
func (e *env) pristine() map[string]string { return pristineHosts }

func (e *env) ctx(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	e.t.Cleanup(cancel)
	return ctx
}

// result is one CLI run.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// run runs the CLI with the lab's SSH key and known_hosts, as a user would
// pass them.
func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runCtx(e.ctx(5*time.Minute), args...)
}

func (e *env) runCtx(ctx context.Context, args ...string) result {
	args = append(args, "--ssh-key", e.l.KeyFile, "--known-hosts", e.l.KnownHosts, "--cache-dir", e.cache)
	cmd := exec.CommandContext(ctx, reconcileBin, args...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("reconcile %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// fromGit is the source flags for the lab's repository.
func (e *env) fromGit(args ...string) []string {
	return append(args, "--repo", e.l.GitURL, "--path", "app")
}

// mustRun fails the test unless the CLI exits with code.
func (e *env) mustRun(code int, args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != code {
		e.t.Fatalf("reconcile %s: want exit %d, got %s", strings.Join(args, " "), code, r)
	}
	return r
}

// push commits the lab's Cluster plus docs under app/ in the lab's git
// repository and returns the commit.
func (e *env) push(docs ...string) string {
	e.t.Helper()
	cf := e.l.ClusterFile
	if e.clusterFile != "" {
		cf = e.clusterFile
	}
	cluster, err := os.ReadFile(cf)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.pushWith(string(cluster), docs...)
}

// pushWith is push with the Cluster manifest given (see
// lab.ClusterManifest for node labels and fewer hosts).
func (e *env) pushWith(cluster string, docs ...string) string {
	e.t.Helper()
	files := map[string]string{"cluster.yaml": cluster}
	for i, d := range docs {
		files[fmt.Sprintf("m%02d.yaml", i)] = d
	}
	return e.pushFiles(files)
}

// pushFiles commits files (paths under app/, e.g. "overlays/staging/
// kustomization.yaml") as the whole of app/ and returns the commit.
func (e *env) pushFiles(files map[string]string) string {
	e.t.Helper()
	dir := e.t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, "app", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	commit, err := e.l.PushGit(e.ctx(time.Minute), dir, e.t.Name())
	if err != nil {
		e.t.Fatalf("push: %v", err)
	}
	return commit
}

// applyGit pushes docs and applies them, expecting success.
func (e *env) applyGit(docs ...string) result {
	e.t.Helper()
	e.push(docs...)
	return e.mustRun(0, e.fromGit("apply")...)
}

// exec runs a command inside a lab host's namespaces.
func (e *env) exec(node string, cmd ...string) (string, error) {
	out, err := e.l.Exec(e.ctx(2*time.Minute), node, cmd...)
	return string(out), err
}

func (e *env) mustExec(node string, cmd ...string) string {
	e.t.Helper()
	out, err := e.exec(node, cmd...)
	if err != nil {
		e.t.Fatalf("%s: %v: %v\n%s", node, cmd, err, out)
	}
	return out
}

// podserver is the lab's HTTP client binary, run on hosts.
func (e *env) podserver() string { return filepath.Join(e.l.Dir, "podserver") }

// getFromHost makes n requests from a host's own network stack.
func (e *env) getFromHost(node, url string, n int) (string, error) {
	return e.exec(node, e.podserver(), "get", "-timeout", "3s", "-n", strconv.Itoa(n), url)
}

// getFromPod makes n requests from inside a pod.
func (e *env) getFromPod(node, pod, url string, n int) (string, error) {
	return e.exec(node, "docker", "exec", pod, "/podserver", "get", "-timeout", "3s", "-n", strconv.Itoa(n), url)
}

// pod is what the tests read of `get pods -o json`.
type pod struct {
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		NodeName string `json:"nodeName"`
	} `json:"spec"`
	Status struct {
		Phase      string `json:"phase"`
		PodIP      string `json:"podIP"`
		Conditions []struct {
			Type, Status string
		} `json:"conditions"`
		ContainerStatuses []struct {
			Image        string `json:"image"`
			RestartCount int    `json:"restartCount"`
			State        struct {
				Waiting *struct{ Reason string } `json:"waiting"`
			} `json:"state"`
			LastState struct {
				Terminated *struct {
					ExitCode   int       `json:"exitCode"`
					Reason     string    `json:"reason"`
					Message    string    `json:"message"`
					StartedAt  time.Time `json:"startedAt"`
					FinishedAt time.Time `json:"finishedAt"`
				} `json:"terminated"`
			} `json:"lastState"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

func (p pod) ready() bool {
	for _, c := range p.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

func (e *env) pods(selector string) []pod {
	e.t.Helper()
	return e.podsFrom(e.fromGit(), selector)
}

// podsFrom is pods with other source flags (and -A, -n ...).
func (e *env) podsFrom(source []string, selector string) []pod {
	e.t.Helper()
	r := e.mustRun(0, append([]string{"get", "pods", "-l", selector, "-o", "json"}, source...)...)
	var list struct{ Items []pod }
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		e.t.Fatalf("get pods -o json: %v\n%s", err, r.stdout)
	}
	return list.Items
}

// countBy tallies the hostname= field of podserver answers.
func countBy(out string) map[string]int {
	m := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		for _, f := range strings.Fields(line) {
			if h, ok := strings.CutPrefix(f, "hostname="); ok {
				m[h]++
			}
		}
	}
	return m
}

// field returns key=value's value from a podserver answer.
func field(out, key string) string {
	for _, f := range strings.Fields(out) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

// managedContainers lists every container on every host, for before/after
// comparisons.
func (e *env) containers() string {
	var all []string
	for _, h := range e.l.Hosts {
		out := e.mustExec(h.Name, "docker", "ps", "-a", "--format", "{{.Names}} {{.Image}} {{.State}}")
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l != "" {
				all = append(all, h.Name+": "+l)
			}
		}
	}
	sort.Strings(all)
	return strings.Join(all, "\n")
}

// eventually retries f until it returns nil or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// labApply is how a lab test starts: the shared lab, docs pushed with the
// lab's Cluster and applied once (the caller checks the result, which
// need not be a success), and a cleanup that leaves one small Deployment,
// as the next test expects the lab.
func labApply(t *testing.T, docs ...string) (*env, result) {
	t.Helper()
	e := newEnv(t)
	t.Cleanup(func() {
		e.push(web("solo", "nginx:1.0", 1, "", ""))
		if r := e.run(e.fromGit("apply")...); r.code != 0 {
			t.Errorf("cleanup apply: %s", r)
		}
	})
	e.push(docs...)
	return e, e.run(e.fromGit("apply")...)
}

// withKubelet is the lab's Cluster with spec.kubelet set (YAML of its
// fields), as the first document of a push: push reads e.l.ClusterFile,
// so this returns a copy with the setting added.
func (e *env) withKubelet(fields string) {
	e.t.Helper()
	b, err := os.ReadFile(e.l.ClusterFile)
	if err != nil {
		e.t.Fatal(err)
	}
	s := strings.Replace(string(b), "\nspec:\n", "\nspec:\n  kubelet: {"+fields+"}\n", 1)
	if s == string(b) {
		e.t.Fatalf("no spec: in %s", e.l.ClusterFile)
	}
	f := filepath.Join(e.t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.clusterFile = f
}
