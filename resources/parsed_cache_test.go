package resources

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// parses counts splitDocuments calls, for the tests that check the
// cache is used.
var parses atomic.Int64

// A tree loaded through the parse cache is the tree loaded without it,
// cold and warm; a warm load of an unchanged tree parses nothing, and a
// change re-parses only the changed file.
func TestParseCacheLoadsTheSame(t *testing.T) {
	for _, tree := range []string{"testdata/seed", "testdata/docs"} {
		t.Run(tree, func(t *testing.T) {
			plain, err := LoadTree(tree, TreeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want, err := Render(plain)
			if err != nil {
				t.Fatal(err)
			}
			o := TreeOptions{ParseCache: filepath.Join(t.TempDir(), "p", "parsed.bin")}
			for _, pass := range []string{"cold", "warm"} {
				before := parses.Load()
				s, err := LoadTree(tree, o)
				if err != nil {
					t.Fatalf("%s: %v", pass, err)
				}
				got, err := Render(s)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s load renders differently:\n%s", pass, got)
				}
				if n := parses.Load() - before; pass == "warm" && n != 0 {
					t.Errorf("warm load parsed %d files", n)
				}
			}
			if fi, err := os.Stat(o.ParseCache); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("cache file: %v %v", fi, err)
			}
		})
	}
}

func TestParseCacheReparsesOnlyChanges(t *testing.T) {
	dir := t.TempDir()
	svc := func(i, port int) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata:\n  name: s%d\nspec:\n  selector: {app: a}\n  ports:\n  - port: %d\n", i, port)
	}
	for i := range 5 {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("s%d.yaml", i)), []byte(svc(i, 80)), 0o644)
	}
	o := TreeOptions{ParseCache: filepath.Join(t.TempDir(), "parsed.bin")}
	load := func() (*Set, int64) {
		t.Helper()
		before := parses.Load()
		s, err := LoadTree(dir, o)
		if err != nil {
			t.Fatal(err)
		}
		return s, parses.Load() - before
	}
	if _, n := load(); n != 5 {
		t.Fatalf("cold load parsed %d files, want 5", n)
	}
	os.WriteFile(filepath.Join(dir, "s3.yaml"), []byte(svc(3, 8080)), 0o644)
	s, n := load()
	if n != 1 {
		t.Errorf("after one change parsed %d files, want 1", n)
	}
	if p := s.Services[3].Spec.Ports[0].Port; p != 8080 {
		t.Errorf("changed Service has port %d", p)
	}
	if _, n := load(); n != 0 {
		t.Errorf("unchanged again: parsed %d files", n)
	}
}

// A damaged, truncated, foreign or oversized cache file costs a parse,
// never a wrong load, and is replaced by a good one.
func TestParseCacheDamaged(t *testing.T) {
	tree := "testdata/seed"
	want, _ := Render(loaded(LoadTree(tree, TreeOptions{})))
	o := TreeOptions{ParseCache: filepath.Join(t.TempDir(), "parsed.bin")}
	loaded(LoadTree(tree, o))
	good, err := os.ReadFile(o.ParseCache)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x20
	for name, content := range map[string][]byte{
		"flipped byte": flipped,
		"truncated":    good[:len(good)-7],
		"empty":        {},
		"other format": append([]byte("reconcile parsed YAML 0\n"), good[24:]...),
		"not ours":     []byte("hello\n"),
	} {
		if err := os.WriteFile(o.ParseCache, content, 0o600); err != nil {
			t.Fatal(err)
		}
		before := parses.Load()
		got, _ := Render(loaded(LoadTree(tree, o)))
		if !bytes.Equal(got, want) {
			t.Errorf("%s: load differs:\n%s", name, got)
		}
		if parses.Load() == before {
			t.Errorf("%s: nothing parsed, so the damaged cache was used", name)
		}
		if now, _ := os.ReadFile(o.ParseCache); len(now) != len(good) { // the same entries, in any order
			t.Errorf("%s: not rewritten (%d bytes, want %d)", name, len(now), len(good))
		}
	}
}

func loaded(s *Set, err error) *Set {
	if err != nil {
		panic(err)
	}
	return s
}

func init() { countParse = func() { parses.Add(1) } }
