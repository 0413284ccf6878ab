package resources

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"
)

func TestKustomizeOverlays(t *testing.T) {
	tests := []struct {
		overlay, ns, name, image string
		replicas                 int32
	}{
		{"staging", "staging", "staging-web", "nginx:2.0", 2},
		{"production", "production", "web", "nginx:1.0", 3},
	}
	for _, tt := range tests {
		t.Run(tt.overlay, func(t *testing.T) {
			s, err := LoadTree(filepath.Join("testdata/kustomize/overlays", tt.overlay), TreeOptions{Root: "testdata/kustomize"})
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Deployments) != 1 || len(s.Services) != 1 {
				t.Fatalf("got %d Deployments, %d Services", len(s.Deployments), len(s.Services))
			}
			d := s.Deployments[0]
			if d.Namespace != tt.ns || d.Name != tt.name || *d.Spec.Replicas != tt.replicas ||
				d.Spec.Template.Spec.Containers[0].Image != tt.image || d.Spec.Template.Labels["env"] != tt.overlay ||
				d.Labels["app.kubernetes.io/part-of"] != "shop" {
				t.Errorf("rendered Deployment: %s/%s replicas %d image %s labels %v", d.Namespace, d.Name, *d.Spec.Replicas,
					d.Spec.Template.Spec.Containers[0].Image, d.Spec.Template.Labels)
			}
			if want := "overlays/" + tt.overlay + "/kustomization.yaml"; d.Source.String() != "kustomization.yaml" && d.Source.String() != want {
				t.Errorf("source %q", d.Source)
			}
			// configMapGenerator's output is applied: a ConfigMap named
			// with its content hash, as kustomize names it.
			found := false
			for _, c := range s.ConfigMaps {
				found = found || strings.Contains(c.Name, "web-config-") && c.Namespace == tt.ns && len(c.Data) > 0
			}
			if !found {
				t.Errorf("generated ConfigMaps %d, want a web-config-<hash> in %s", len(s.ConfigMaps), tt.ns)
			}
		})
	}
}

// A tree whose root is an overlay may use a base in a sibling directory
// of the same repository, found by its .git, as kubectl kustomize does.
func TestKustomizeWorkTree(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/kustomize")); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, ".git"), 0o755)
	s, err := Load(filepath.Join(dir, "overlays/staging"))
	if err != nil || len(s.Deployments) != 1 {
		t.Fatalf("%v, %v", s, err)
	}
	// Without the .git the tree is the overlay alone: the base is outside.
	os.Remove(filepath.Join(dir, ".git"))
	if _, err := Load(filepath.Join(dir, "overlays/staging")); err == nil || !strings.Contains(err.Error(), "leaves the repository") {
		t.Fatalf("base outside the tree: %v", err)
	}
}

// The rendered objects are the ones kustomize build renders, which is
// run as the reference: sigs.k8s.io/kustomize/kustomize/v5 at the
// version that embeds the same kustomize/api as go.mod.
func TestKustomizeMatchesKustomizeBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kustomize")
	}
	bin := t.TempDir()
	install := exec.Command("go", "install", "sigs.k8s.io/kustomize/kustomize/v5@"+kustomizeReference)
	install.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=", "CGO_ENABLED=0")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install kustomize %s: %v\n%s", kustomizeReference, err, out)
	}
	for _, overlay := range []string{"base", "overlays/staging", "overlays/production"} {
		t.Run(overlay, func(t *testing.T) {
			ref, err := exec.Command(filepath.Join(bin, "kustomize"), "build", filepath.Join("testdata/kustomize", overlay)).Output()
			if err != nil {
				t.Fatalf("kustomize build: %v", err)
			}
			want := yamlObjects(t, strings.Split(string(ref), "\n---\n"))
			in := &kustomizeInput{r: &reporter{}, boundary: mustAbs(t, "testdata/kustomize"), relDir: overlay}
			in.fs, in.copied, in.visited = newMemFS(), map[string]bool{}, map[string]bool{}
			in.check(overlay, "kustomization.yaml")
			if in.r.n > 0 {
				t.Fatal(in.r.errs)
			}
			docs, err := renderKustomization(in.fs, "/"+overlay)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range docs {
				got = append(got, string(d))
			}
			if g := yamlObjects(t, got); !reflect.DeepEqual(g, want) {
				t.Errorf("reconcile renders\n%v\nkustomize build renders\n%v", g, want)
			}
		})
	}
}

// kustomizeReference is the kustomize CLI release built on the same
// sigs.k8s.io/kustomize/api as go.mod (v0.21.2).
const kustomizeReference = "v5.8.2"

func yamlObjects(t *testing.T, docs []string) []map[string]any {
	var out []map[string]any
	for _, d := range docs {
		if strings.TrimSpace(d) == "" {
			continue
		}
		var m map[string]any
		if err := sigsyaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
