package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// TestConnectionFlagPrecedence: flag > env > context > default, one flag at
// a time and the source flags as a whole.
func TestConnectionFlagPrecedence(t *testing.T) {
	const cfg = `apiVersion: reconcile.dev/v1alpha1
kind: Config
current-context: lab
contexts:
- name: lab
  settings:
    repo: ssh://git@git.lab/app.git
    ref: v1
    path: prod
    cluster: /ctx/cluster.yaml
    ssh-config: /ctx/ssh_config
    ssh-key: [/ctx/k1, /ctx/k2]
    no-ssh-agent: true
    timeout: 3m
    namespace: web
- name: local
  settings:
    filename: /ctx/tree
    cluster: /ctx/local-cluster.yaml
`
	type want struct {
		dir, repo, ref, path, cluster, sshConfig string
		keys                                     []string
		noAgent                                  bool
		timeout                                  time.Duration
		namespace                                string
	}
	fromLab := want{repo: "ssh://git@git.lab/app.git", ref: "v1", path: "prod", cluster: "/ctx/cluster.yaml",
		sshConfig: "/ctx/ssh_config", keys: []string{"/ctx/k1", "/ctx/k2"}, noAgent: true, timeout: 3 * time.Minute, namespace: "web"}
	with := func(f func(*want)) want {
		w := fromLab
		w.keys = append([]string(nil), w.keys...)
		f(&w)
		return w
	}
	tests := []struct {
		name    string
		config  string // "" for no file
		env     map[string]string
		args    []string
		want    want
		wantErr string
	}{
		{name: "no file, no env: defaults", want: want{namespace: "default"}},
		{name: "no file, env", env: map[string]string{"RECONCILE_REPO": "file:///r", "RECONCILE_PATH": "app", "RECONCILE_SSH_KEY": "/e/a,/e/b", "RECONCILE_TIMEOUT": "10s"},
			want: want{repo: "file:///r", path: "app", keys: []string{"/e/a", "/e/b"}, timeout: 10 * time.Second, namespace: "default"}},
		{name: "no file, flags", args: []string{"-f", "tree", "-F", "cfg", "-n", "kube-system"},
			want: want{dir: "tree", sshConfig: "cfg", namespace: "kube-system"}},
		{name: "current context", config: cfg, want: fromLab},
		{name: "env over context", config: cfg, env: map[string]string{"RECONCILE_SSH_CONFIG": "/e/cfg", "RECONCILE_NAMESPACE": "ops", "RECONCILE_NO_SSH_AGENT": "false"},
			want: with(func(w *want) { w.sshConfig, w.namespace, w.noAgent = "/e/cfg", "ops", false })},
		{name: "flag over env over context", config: cfg, env: map[string]string{"RECONCILE_SSH_CONFIG": "/e/cfg", "RECONCILE_CLUSTER": "/e/cluster"},
			args: []string{"-F", "/f/cfg", "--ssh-key", "/f/k"},
			want: with(func(w *want) { w.sshConfig, w.cluster, w.keys = "/f/cfg", "/e/cluster", []string{"/f/k"} })},
		{name: "-f on the command line drops the context's repo, ref and path", config: cfg, args: []string{"-f", "tree"},
			want: with(func(w *want) { w.dir, w.repo, w.ref, w.path = "tree", "", "", "" })},
		{name: "--ref alone keeps the context's repo", config: cfg, args: []string{"--ref", "v2"},
			want: with(func(w *want) { w.ref = "v2" })},
		{name: "repo from env drops the context's ref and path", config: cfg, env: map[string]string{"RECONCILE_REPO": "file:///other"},
			want: with(func(w *want) { w.repo, w.ref, w.path = "file:///other", "", "" })},
		{name: "RECONCILE_FILENAME drops the context's repo", config: cfg, env: map[string]string{"RECONCILE_FILENAME": "/e/tree"},
			want: with(func(w *want) { w.dir, w.repo, w.ref, w.path = "/e/tree", "", "", "" })},
		{name: "--context picks another", config: cfg, args: []string{"--context", "local"},
			want: want{dir: "/ctx/tree", cluster: "/ctx/local-cluster.yaml", namespace: "default"}},
		{name: "RECONCILE_CONTEXT picks another", config: cfg, env: map[string]string{"RECONCILE_CONTEXT": "local"},
			want: want{dir: "/ctx/tree", cluster: "/ctx/local-cluster.yaml", namespace: "default"}},
		{name: "--context over RECONCILE_CONTEXT", config: cfg, env: map[string]string{"RECONCILE_CONTEXT": "local"}, args: []string{"--context", "lab"}, want: fromLab},
		{name: "unknown context", config: cfg, args: []string{"--context", "nope"}, wantErr: `context "nope" (--context / $RECONCILE_CONTEXT) is not in`},
		{name: "current context deleted", config: strings.Replace(cfg, "current-context: lab", "current-context: gone", 1), wantErr: `context "gone" (the current context) is not in`},
		{name: "unknown setting", config: cfg + "    colour: blue\n", args: []string{"--context", "local"}, wantErr: `context "local": unknown settings colour`},
		{name: "bad value from env", env: map[string]string{"RECONCILE_TIMEOUT": "soon"}, wantErr: `--timeout from the environment: `},
		{name: "malformed file", config: "contexts: {", wantErr: "config.yaml: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{"XDG_CONFIG_HOME": dir}
			for k, v := range tt.env {
				env[k] = v
			}
			if tt.config != "" {
				os.MkdirAll(filepath.Join(dir, "reconcile"), 0o700)
				os.WriteFile(filepath.Join(dir, "reconcile", "config.yaml"), []byte(tt.config), 0o600)
			}
			var rf readFlags
			cmd := &cobra.Command{Use: "get"}
			rf.register(cmd, "wide")
			cmd.Flags().String("context", "", "")
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			err := applyDefaults(cmd, func(k string) string { return env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h := &rf.hosts
			got := want{h.source.Dir, h.source.Repo, h.source.Ref, h.source.Path, h.source.ClusterFile, h.ssh.ConfigFile,
				h.ssh.KeyFiles, h.ssh.noAgent, h.timeout, rf.namespace}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestConnFlagsTable: every entry names a flag some command has, and its
// variable follows the RECONCILE_ + upper-case name rule, so the help and
// the lookup cannot drift from what users read in the README.
func TestConnFlagsTable(t *testing.T) {
	ios, _, _ := Test()
	root := newRootCmd(ios)
	seen := map[string]bool{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Annotations[noDefaultsAnnotation] == "" {
			for _, f := range connFlags {
				if c.Flags().Lookup(f.name) != nil {
					seen[f.name] = true
				}
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	for _, f := range connFlags {
		if !seen[f.name] {
			t.Errorf("--%s is in connFlags but no command has it", f.name)
		}
		if want := "RECONCILE_" + strings.ToUpper(strings.ReplaceAll(f.name, "-", "_")); f.env != want {
			t.Errorf("--%s: env %s, want %s", f.name, f.env, want)
		}
	}
}
