package resources

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
spec:
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: web
        image: nginx:1.27
`

// Symlinks that leave the tree, devices, pipes and oversized files are
// refused by name, without their content reaching an error message.
func TestLoadRefusesForeignFiles(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "id_ed25519")
	if err := os.WriteFile(secret, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"symlink to a private key", func(t *testing.T, dir string) {
			must(t, os.Symlink(secret, filepath.Join(dir, "key.yaml")))
		}, "key.yaml: is a symbolic link that leaves the tree: reconcile reads only files inside it"},
		{"relative symlink out of the tree", func(t *testing.T, dir string) {
			must(t, os.MkdirAll(filepath.Join(dir, "prod"), 0o755))
			rel, err := filepath.Rel(filepath.Join(dir, "prod"), secret)
			must(t, err)
			must(t, os.Symlink(rel, filepath.Join(dir, "prod", "key.yml")))
		}, "prod/key.yml: is a symbolic link that leaves the tree: reconcile reads only files inside it"},
		{"symlink to /dev/zero", func(t *testing.T, dir string) {
			must(t, os.Symlink("/dev/zero", filepath.Join(dir, "zero.yaml")))
		}, "zero.yaml: is a symbolic link that leaves the tree: reconcile reads only files inside it"},
		{"symlink inside the tree to a device link", func(t *testing.T, dir string) {
			must(t, os.Symlink("/dev/zero", filepath.Join(dir, "zero")))
			must(t, os.Symlink("zero", filepath.Join(dir, "zero.yaml")))
		}, "zero.yaml: is a symbolic link that leaves the tree: reconcile reads only files inside it"},
		{"named pipe", func(t *testing.T, dir string) {
			must(t, syscall.Mkfifo(filepath.Join(dir, "pipe.yaml"), 0o644))
		}, "pipe.yaml: is not a regular file: reconcile reads only regular files"},
		{"file over the size limit", func(t *testing.T, dir string) {
			f, err := os.Create(filepath.Join(dir, "big.yaml"))
			must(t, err)
			must(t, f.Truncate(MaxFileBytes+1))
			must(t, f.Close())
		}, fmt.Sprintf("big.yaml: is %d bytes, more than the limit of %d bytes (4 MiB) per manifest file", MaxFileBytes+1, MaxFileBytes)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			done := make(chan error, 1)
			go func() { _, err := Load(dir); done <- err }()
			select {
			case err := <-done:
				if err == nil || err.Error() != tt.want {
					t.Errorf("got  %v\nwant %s", err, tt.want)
				}
				if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
					t.Errorf("the error shows the target's content: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Load did not return within 10s")
			}
		})
	}
}

// A symlink that stays inside the tree is read like the file it names.
func TestLoadSymlinkInsideTree(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "base"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "base", "web.txt"), fmt.Appendf(nil, deploymentYAML, "web"), 0o644))
	must(t, os.Symlink("base/web.txt", filepath.Join(dir, "web.yaml")))
	s, err := Load(dir)
	if err != nil || len(s.Deployments) != 1 {
		t.Fatalf("Load = %v, %v", s, err)
	}
}

// Generated trees that exceed a limit fail fast with one clear error.
func TestLimits(t *testing.T) {
	many := func(n int, doc func(i int) string) string {
		var b strings.Builder
		for i := range n {
			b.WriteString("---\n" + doc(i))
		}
		return b.String()
	}
	tests := []struct {
		name string
		data string
		more string // a second file, more.yaml
		want string // the last line of the error
	}{
		{"documents per file", many(MaxDocumentsPerFile+1, func(i int) string { return fmt.Sprintf(deploymentYAML, fmt.Sprintf("web-%d", i)) }), "",
			fmt.Sprintf("limits.yaml:%d: holds more than %d YAML documents: split it into several files", 15*MaxDocumentsPerFile+1, MaxDocumentsPerFile)},
		{"services", manyServices(MaxServices), service(MaxServices),
			fmt.Sprintf("limits.yaml:7994: Service/s-999: the tree declares more than %d Services, the most reconcile manages", MaxServices)},
		{"errors reported", many(300, func(i int) string { return "apiVersion: v1\nkind: Pod\n" }), "",
			fmt.Sprintf("and %d more errors", 300-MaxErrors)},
		{"alias expansion", "a: &a [" + strings.Repeat("x,", 5000) + "x]\nb: [" + strings.Repeat("*a,", 5000) + "*a]\n", "",
			fmt.Sprintf("limits.yaml:1: its YAML aliases expand to more than %d nodes: write the values out, or use fewer aliases", MaxDocumentNodes)},
		{"recursive alias", "a: &a [*a, *a]\n", "", "limits.yaml:1: its YAML aliases expand to more than 20000 nodes: write the values out, or use fewer aliases"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, "limits.yaml"), []byte(tt.data), 0o644))
			if tt.more != "" {
				must(t, os.WriteFile(filepath.Join(dir, "more.yaml"), []byte(tt.more), 0o644))
			}
			start := time.Now()
			_, err := Load(dir)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Load took %v", d)
			}
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) > MaxErrors+1 {
				t.Errorf("%d error lines, more than MaxErrors+1", len(lines))
			}
			if list := err.(ErrorList); tt.name == "errors reported" && list.Count() != 300 {
				t.Errorf("Count() = %d, want 300", list.Count())
			}
			if got := lines[len(lines)-1]; got != tt.want {
				t.Errorf("last error line\ngot  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func manyServices(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(service(i))
	}
	return b.String()
}

func service(i int) string {
	return fmt.Sprintf("---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s-%d\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n", i)
}

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"two\nlines\x1b[31m", "two lines [31m"},
		{strings.Repeat("x", maxMessage+10), strings.Repeat("x", maxMessage) + "..."},
	}
	for _, tt := range tests {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQuote(t *testing.T) {
	long := strings.Repeat("é", 40)
	tests := []struct{ in, want string }{
		{"web", `"web"`},
		{"a\nb\x00", `"a\nb\x00"`},
		{long, `"` + strings.Repeat("é", 32) + `"...`},
	}
	for _, tt := range tests {
		if got := quote(tt.in); got != tt.want {
			t.Errorf("quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The --cluster file is the user's own choice, so a symlink is followed,
// but only to a regular file of bounded size.
func TestLoadClusterReadsOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "real.yaml")
	must(t, os.WriteFile(good, []byte("apiVersion: reconcile.dev/v1alpha1\nkind: Cluster\nmetadata: {name: lab}\nspec:\n  podCIDR: 10.244.0.0/16\n  serviceCIDR: 10.96.0.0/16\n  nodes: [{name: n1, ssh: root@10.0.0.1, address: 10.0.0.1}]\n"), 0o644))
	must(t, os.Symlink(good, filepath.Join(dir, "link.yaml")))
	must(t, os.Symlink("/dev/zero", filepath.Join(dir, "zero.yaml")))
	if c, err := LoadCluster(filepath.Join(dir, "link.yaml")); err != nil || c.Name != "lab" {
		t.Errorf("LoadCluster(link) = %v, %v", c, err)
	}
	zero := filepath.Join(dir, "zero.yaml")
	_, err := LoadCluster(zero)
	if want := zero + ": is not a regular file: reconcile reads only regular files"; err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}
