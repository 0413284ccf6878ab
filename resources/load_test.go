package resources

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// checkGolden compares got with testdata/<name>, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// report is what a user sees from a load: errors, then warnings.
func report(s *Set, err error) []byte {
	var b strings.Builder
	if err != nil {
		var list ErrorList
		if !errors.As(err, &list) {
			b.WriteString("NOT AN ErrorList: ")
		}
		b.WriteString(err.Error() + "\n")
	}
	if s != nil {
		for _, w := range s.Warnings {
			b.WriteString("warning: " + w + "\n")
		}
	}
	return []byte(b.String())
}

func TestLoadSeed(t *testing.T) {
	s, err := Load("testdata/seed")
	if err != nil {
		t.Fatalf("seed manifests must load unchanged: %v", err)
	}
	if len(s.Warnings) != 0 || len(s.Deployments) != 1 || len(s.Services) != 1 || s.Cluster != nil {
		t.Fatalf("got %d deployments, %d services, cluster %v, warnings %q", len(s.Deployments), len(s.Services), s.Cluster, s.Warnings)
	}
	d, svc := s.Deployments[0], s.Services[0]
	if d.Source != (Source{File: "run-my-nginx.yaml", Line: 1, doc: d.Source.doc}) {
		t.Errorf("deployment source = %v", d.Source)
	}
	if got := d.Spec.Selector.String(); got != "run=my-nginx" {
		t.Errorf("selector = %q", got)
	}
	if *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].ImagePullPolicy != "Always" {
		t.Errorf("replicas %d, pull policy %q", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].ImagePullPolicy)
	}
	if svc.Spec.Ports[0].TargetPort != FromInt(80) || svc.Spec.Type != ServiceTypeClusterIP {
		t.Errorf("service defaults: %+v", svc.Spec)
	}
	out, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "seed.render.golden", out)
}

func TestLoadDocs(t *testing.T) {
	s, err := Load("testdata/docs")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "docs.render.golden", append(report(s, nil), out...))

	// Rendered output is itself a valid tree that renders the same.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "all.yaml"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	out2, err := Render(again)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, out2) {
		t.Errorf("render is not a fixed point:\n%s\n---\n%s", out, out2)
	}
}

func TestBroken(t *testing.T) {
	entries, err := os.ReadDir("testdata/broken")
	if err != nil {
		t.Fatal(err)
	}
	cases := 0
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() && !isManifest(name) {
			continue
		}
		cases++
		t.Run(name, func(t *testing.T) {
			var s *Set
			var err error
			if e.IsDir() {
				s, err = Load(filepath.Join("testdata/broken", name))
			} else {
				s, err = LoadFiles("testdata/broken", []string{name})
			}
			got := report(s, err)
			if len(got) == 0 {
				t.Fatal("no errors or warnings")
			}
			golden := filepath.Join("broken", strings.TrimSuffix(name, filepath.Ext(name))+".golden")
			checkGolden(t, golden, got)
			// The same through the parse cache, cold and then warm: what
			// was parsed before reports exactly the same.
			o := TreeOptions{ParseCache: filepath.Join(t.TempDir(), "parsed.bin")}
			for _, pass := range []string{"cold", "warm"} {
				s, err := LoadTree(filepath.Join("testdata/broken", name), o)
				if again := report(s, err); !bytes.Equal(again, got) {
					t.Errorf("%s parse cache: reports\n%s\nwant\n%s", pass, again, got)
				}
			}
		})
	}
	if cases < 15 {
		t.Errorf("only %d broken cases", cases)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		dir  string
		want string
	}{
		{"missing dir", "testdata/nope", "testdata/nope: cannot read manifests: lstat testdata/nope: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.dir)
			var list ErrorList
			if !errors.As(err, &list) || err.Error() != tt.want {
				t.Errorf("got %v, want %s", err, tt.want)
			}
		})
	}
}

func TestFieldErrorFormat(t *testing.T) {
	tests := []struct {
		err  FieldError
		want string
	}{
		{FieldError{File: "a.yaml", Line: 3, Kind: "Deployment", Name: "web", Field: "spec.replicas", Message: "bad"}, "a.yaml:3: Deployment/web: spec.replicas: bad"},
		{FieldError{File: "a.yaml", Message: "cannot read"}, "a.yaml: cannot read"},
		{FieldError{File: "a.yaml", Line: 7, Kind: "Service", Message: "m"}, "a.yaml:7: Service: m"},
		{FieldError{Name: "web", Field: "f", Message: "m"}, "web: f: m"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q", got)
			}
		})
	}
	list := ErrorList{{File: "b", Line: 1, Message: "x"}, {File: "a", Line: 9, Message: "y"}, {File: "a", Line: 2, Message: "z"}}
	sortErrors(list)
	if got := list.Error(); got != "a:2: z\na:9: y\nb:1: x" {
		t.Errorf("sorted list = %q", got)
	}
}
