package cli

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/<name>.golden byte for byte, or rewrites
// the file under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// transcript is one run as a single golden text: the exit code, then stdout
// and stderr verbatim. Both streams end in a newline when not empty (checked
// separately), so the markers cannot blur where one stream ends.
func transcript(code int, stdout, stderr string) string {
	return fmt.Sprintf("exit %d\n-- stdout --\n%s-- stderr --\n%s", code, stdout, stderr)
}

const examples = "../../../examples/nginx"

// The SOPS-encrypted manifest the resources tests decrypt, and its test key.
const (
	sopsFixture    = "../../../resources/testdata/sops/deployment.sops.yaml"
	sopsFixtureKey = "../../../resources/testdata/sops/age-key.txt"
)

func TestRun(t *testing.T) {
	old := Version
	Version = "v0.0.0-test"
	t.Cleanup(func() { Version = old })

	// sops' variables of the machine running the tests are not the tests'.
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("SOPS_AGE_KEY", "")
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"version", []string{"version"}, ExitOK},
		{"validate-nginx", []string{"validate", "-f", examples}, ExitOK},
		{"validate-broken", []string{"validate", "-f", "testdata/broken-tree"}, ExitInvalid},
		{"validate-no-source", []string{"validate"}, ExitError},
		{"validate-nginx-json", []string{"validate", "-f", examples, "-o", "json"}, ExitOK},
		{"validate-broken-json", []string{"validate", "-f", "testdata/broken-tree", "-o", "json"}, ExitInvalid},
		{"validate-single-file", []string{"validate", "-f", examples + "/run-my-nginx.yaml"}, ExitOK},
		{"version-json", []string{"version", "-o", "json"}, ExitOK},
		{"apply-cluster-only", []string{"apply", "--cluster", examples + "/cluster.yaml"}, ExitError},
		{"diff-cluster-only", []string{"diff", "--cluster", examples + "/cluster.yaml"}, ExitError},
		{"sync-cluster-only", []string{"sync", "--once", "--cluster", examples + "/cluster.yaml"}, ExitError},
		{"bad-log-format", []string{"get", "pods", "--log-format", "xml", "-f", examples}, ExitError},
		{"validate-multi-container", []string{"validate", "-f", "../../../resources/testdata/broken/quantities.yaml"}, ExitInvalid},
		{"apply-markdown-without-dry-run", []string{"apply", "-f", examples, "-o", "markdown"}, ExitError},
		{"validate-args", []string{"validate", "extra", "-f", examples}, ExitError},
		{"render-nginx", []string{"render", "-f", examples}, ExitOK},
		{"expose-nginx", []string{"expose", "deployment/my-nginx", "-f", examples}, ExitOK},
		{"expose-not-found", []string{"expose", "deployment/nope", "-f", examples}, ExitError},
		{"expose-not-deployment", []string{"expose", "svc/x", "-f", examples}, ExitError},
		{"expose-broken", []string{"expose", "deploy/web", "-f", "testdata/broken-tree"}, ExitInvalid},
		{"diff-bad-output", []string{"diff", "-o", "html", "-f", examples}, ExitError},
		{"apply-bad-output", []string{"apply", "--dry-run", "-o", "html", "-f", examples}, ExitError},
		{"get-bad-output", []string{"get", "pods", "-o", "table"}, ExitError},
		{"get-bad-kind", []string{"get", "nodes", "-f", examples}, ExitError},
		{"get-bad-selector", []string{"get", "pods", "-l", "a b=c", "-f", examples}, ExitError},
		{"describe-not-svc", []string{"describe", "pod", "x", "-f", examples}, ExitError},
		{"validate-sops-without-key", []string{"validate", "-f", sopsFixture}, ExitOK},
		{"validate-sops-with-key", []string{"validate", "--sops-age-key-file", sopsFixtureKey, "-f", sopsFixture}, ExitOK},
		{"validate-sops-bad-key-file", []string{"validate", "--sops-age-key-file", "testdata/no-such-key.txt", "-f", sopsFixture}, ExitError},
		{"diff-sops-without-key", []string{"diff", "-f", sopsFixture}, ExitInvalid},
		{"crd", []string{"crd"}, ExitOK},
		{"crd-args", []string{"crd", "extra"}, ExitError},
		{"unknown-flag", []string{"validate", "--frobnicate"}, ExitError},
		{"unknown-command", []string{"frobnicate"}, ExitError},
		{"misspelled-command", []string{"valdate"}, ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, stdout, stderr := Test()
			code := Run(tt.args, ios)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", code, tt.code, stderr)
			}
			for stream, s := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
				if s != "" && !strings.HasSuffix(s, "\n") {
					t.Errorf("%s does not end in a newline: %q", stream, s)
				}
			}
			out := stdout.String()
			if strings.HasPrefix(tt.name, "version") {
				// The Go version is the toolchain's, not ours to pin.
				out = strings.ReplaceAll(out, goruntime.Version(), "GOVERSION")
			}
			golden(t, "run/"+tt.name, transcript(code, out, stderr.String()))
		})
	}
}

// The seed's Service manifest is what `kubectl expose deployment/my-nginx`
// creates; our expose must print it byte for byte.
func TestExposeMatchesSeed(t *testing.T) {
	want, err := os.ReadFile(filepath.Join(examples, "nginx-svc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ios, stdout, stderr := Test()
	if code := Run([]string{"expose", "deployment/my-nginx", "-f", examples}, ios); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := stdout.String(); got != string(want) {
		t.Errorf("expose output differs from examples/nginx/nginx-svc.yaml\n--- got\n%s--- want\n%s", got, want)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr not empty: %q", stderr)
	}
}

// Invalid manifests are reported before any host is contacted: the commands
// that talk to hosts must stop at validation with ExitInvalid, even though
// the broken tree names no reachable host.
func TestHostCommandsStopAtValidation(t *testing.T) {
	for _, args := range [][]string{
		{"diff"}, {"apply"}, {"apply", "--dry-run"}, {"get", "pods"}, {"describe", "svc", "x"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ios, stdout, stderr := Test()
			code := Run(append(args, "-f", "testdata/broken-tree"), ios)
			if code != ExitInvalid {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, ExitInvalid, stderr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout not empty: %q", stdout)
			}
			if !strings.HasSuffix(stderr.String(), "12 problems found; nothing was changed\n") {
				t.Errorf("stderr does not end with the problem count:\n%s", stderr)
			}
		})
	}
}
