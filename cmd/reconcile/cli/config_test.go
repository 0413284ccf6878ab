package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconcile-dev/reconcile/internal/userconfig"
)

// TestConfigSession runs the config commands in order against one file and
// compares the whole session, stdout and stderr of every step, with a
// golden transcript: what a user reads, table layout included.
func TestConfigSession(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	// Relative paths resolve against a directory of the test's own.
	orig, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	t.Chdir(work)
	steps := []struct {
		args []string
		code int
	}{
		{[]string{"config", "get-contexts"}, ExitOK},
		{[]string{"config", "current-context"}, ExitError},
		{[]string{"config", "set-context", "lab", "--repo", "ssh://git@git.lab/app.git", "--revision", "v1.2.0", "--path", "prod",
			"--cluster", "/srv/lab/cluster.yaml", "-F", "/srv/lab/ssh_config", "--ssh-key", "/srv/lab/k1", "--no-ssh-agent"}, ExitOK},
		{[]string{"config", "set-context", "dev", "-f", "/srv/dev/manifests", "--cluster", "/srv/dev/cluster.yaml", "-n", "web"}, ExitOK},
		{[]string{"config", "use-context", "lab"}, ExitOK},
		{[]string{"config", "get-contexts"}, ExitOK},
		{[]string{"config", "current-context"}, ExitOK},
		{[]string{"config", "set-context", "lab", "--ref", "v2"}, ExitOK},
		// A new source replaces the other kind, with its ref and path.
		{[]string{"config", "set-context", "dev", "--repo", "file:///srv/app.git"}, ExitOK},
		{[]string{"config", "set-context", "dev", "--path", ""}, ExitOK},
		// Relative paths are stored absolute; others as given.
		{[]string{"config", "set-context", "rel", "-f", "./manifests", "--cluster", "../cluster.yaml", "-F", "ssh/config",
			"--ssh-key", "k1", "--ssh-key", "/abs/k2", "--path", "not/a/local/path"}, ExitOK},
		{[]string{"config", "view"}, ExitOK},
		{[]string{"config", "get-contexts", "dev"}, ExitOK},
		{[]string{"config", "set-context", "lab", "--ref", "a", "--revision", "b"}, ExitError},
		{[]string{"config", "set-context", "lab", "--timeout", "soon"}, ExitError},
		{[]string{"config", "set-context", "--", "bad name"}, ExitError},
		{[]string{"config", "set-context", "both", "-f", "/a", "--repo", "file:///b"}, ExitError},
		{[]string{"config", "use-context", "nope"}, ExitError},
		{[]string{"config", "get-contexts", "nope"}, ExitError},
		{[]string{"config", "delete-context", "lab"}, ExitOK},
		{[]string{"config", "get-contexts", "-o", "name"}, ExitOK},
		{[]string{"get", "pods"}, ExitError}, // the current context is gone
		{[]string{"config", "delete-context", "lab"}, ExitError},
	}
	var session strings.Builder
	for _, s := range steps {
		ios, stdout, stderr := Test()
		code := Run(s.args, ios)
		if code != s.code {
			t.Errorf("%s: exit %d, want %d\nstderr:\n%s", strings.Join(s.args, " "), code, s.code, stderr)
		}
		clean := func(out string) string {
			out = strings.ReplaceAll(out, dir, "$XDG_CONFIG_HOME")
			out = strings.ReplaceAll(out, work, "$PWD")
			return strings.ReplaceAll(out, filepath.Dir(work), "$PWD/..")
		}
		session.WriteString("$ reconcile " + strings.Join(s.args, " ") + "\n")
		session.WriteString(clean(transcript(code, stdout.String(), stderr.String())))
	}
	if err := os.Chdir(orig); err != nil {
		t.Fatal(err)
	}
	golden(t, "config/session", session.String())

	fi, err := os.Stat(filepath.Join(dir, "reconcile", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("config file mode %o, want 600", m)
	}
}

// TestConfigFileBounds: a file over the size bound is refused before it
// is parsed, and unknown fields are errors naming the file.
func TestConfigFileBounds(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, wantErr string
	}{
		{"too large", "# " + strings.Repeat("x", userconfig.MaxSize) + "\n", "larger than 1048576 bytes"},
		{"unknown field", "kind: Config\ncolour: blue\n", `unknown field "colour"`},
		{"wrong kind", "apiVersion: v1\nkind: Config\n", "want reconcile.dev/v1alpha1, Config"},
		{"twice", "contexts:\n- name: a\n- name: a\n", `context "a" is defined twice`},
		{"bad name", "contexts:\n- name: 'a b'\n", `context name "a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name+".yaml")
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := userconfig.Load(p)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %v, want it to name %s and contain %q", err, p, tt.wantErr)
			}
		})
	}
	// Nothing written goes over the bound either.
	c := &userconfig.Config{APIVersion: userconfig.APIVersion, Kind: userconfig.Kind}
	x, _ := c.Upsert("big")
	x.Set("exclude", userconfig.Value{strings.Repeat("y", userconfig.MaxSize)})
	if err := c.Save(filepath.Join(dir, "big.yaml")); err == nil || !strings.Contains(err.Error(), "delete some contexts") {
		t.Errorf("Save of an oversized config: %v", err)
	}
}
