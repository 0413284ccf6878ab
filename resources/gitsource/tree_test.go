package gitsource

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// craft is a node of a tree written with go-git's plumbing, so that it
// can hold what git's own porcelain never writes: names with '/', "..",
// ".git", and a symlink next to a path through it.
type craft struct {
	name     string
	mode     filemode.FileMode
	content  string  // blob content (a symlink's target)
	children []craft // for filemode.Dir
}

func storeObject(t *testing.T, s storer.EncodedObjectStorer, o interface {
	Encode(plumbing.EncodedObject) error
}) plumbing.Hash {
	t.Helper()
	eo := s.NewEncodedObject()
	if err := o.Encode(eo); err != nil {
		t.Fatal(err)
	}
	h, err := s.SetEncodedObject(eo)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func storeTree(t *testing.T, s storer.EncodedObjectStorer, nodes []craft) plumbing.Hash {
	t.Helper()
	tree := &object.Tree{}
	for _, n := range nodes {
		var h plumbing.Hash
		if n.mode == filemode.Dir {
			h = storeTree(t, s, n.children)
		} else {
			eo := s.NewEncodedObject()
			eo.SetType(plumbing.BlobObject)
			w, _ := eo.Writer()
			w.Write([]byte(n.content))
			w.Close()
			var err error
			if h, err = s.SetEncodedObject(eo); err != nil {
				t.Fatal(err)
			}
		}
		tree.Entries = append(tree.Entries, object.TreeEntry{Name: n.name, Mode: n.mode, Hash: h})
	}
	return storeObject(t, s, tree)
}

// craftedRepo makes a bare repository whose main branch is one commit
// of the given tree, served over file:// like newTestRepo's.
func craftedRepo(t *testing.T, nodes []craft) (url, commit string) {
	t.Helper()
	bare := filepath.Join(t.TempDir(), "crafted.git")
	repo, err := git.PlainInit(bare, true)
	if err != nil {
		t.Fatal(err)
	}
	s := repo.Storer
	sig := object.Signature{Name: "test", Email: "test@example.com", When: time.Unix(1700000000, 0)}
	c := &object.Commit{Author: sig, Committer: sig, Message: "crafted\n", TreeHash: storeTree(t, s, nodes)}
	h := storeObject(t, s, c)
	if err := s.SetReference(plumbing.NewHashReference("refs/heads/main", h)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, "refs/heads/main")); err != nil {
		t.Fatal(err)
	}
	return "file://" + bare, h.String()
}

func blob(name, content string) craft {
	return craft{name: name, mode: filemode.Regular, content: content}
}
func link(name, target string) craft {
	return craft{name: name, mode: filemode.Symlink, content: target}
}
func dir(name string, children ...craft) craft {
	return craft{name: name, mode: filemode.Dir, children: children}
}

// A crafted tree must not make the checkout write anywhere but inside
// its own folder; FetchTree, which reads it from memory, refuses it too,
// with the same message.
func TestFetchRefusesCraftedTrees(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside")
	tests := []struct {
		name string
		tree []craft
		want string
	}{
		{"symlink and a name with a slash", []craft{dir("prod", link("x", outside), blob("x/pwned.yaml", "pwned\n"))},
			`tree entry "prod/x/pwned.yaml": a name must not contain '/', '\' or NUL`},
		{"symlink to a directory then a file under it", []craft{link("x", outside), dir("x", blob("pwned.yaml", "pwned\n"))},
			`tree entry "x": the name appears twice`},
		{"dot-dot directory", []craft{dir("..", blob("pwned.yaml", "pwned\n"))},
			`tree entry "..": a name must not be "." or ".."`},
		{"dot-git directory", []craft{dir("deploy", dir(".GIT", blob("config", "[core]\n")))},
			`tree entry "deploy/.GIT": a name must not be ".git"`},
		{"symlink with an empty target", []craft{dir("deploy", link("empty", ""))},
			`tree entry "deploy/empty": a symlink target must be a non-empty path`},
	}
	for _, tt := range tests {
		for _, fetch := range []struct {
			name string
			fn   func(context.Context, Options) (*Result, error)
		}{{"Fetch", Fetch}, {"FetchTree", FetchTree}} {
			t.Run(fetch.name+"/"+tt.name, func(t *testing.T) {
				os.RemoveAll(outside)
				must(t, os.Mkdir(outside, 0o755))
				url, commit := craftedRepo(t, tt.tree)
				cache := t.TempDir()
				_, err := fetch.fn(context.Background(), Options{URL: url, CacheDir: cache})
				want := "git: commit " + commit + " of " + url + ": " + tt.want + "; reconcile refuses to check out this commit"
				if err == nil || err.Error() != want {
					t.Errorf("got  %v\nwant %s", err, want)
				}
				if entries, _ := os.ReadDir(outside); len(entries) != 0 {
					t.Errorf("the checkout wrote outside its folder: %v", entries[0].Name())
				}
				root, _ := cacheRoot(cache, url)
				if _, err := os.Stat(filepath.Join(root, "checkouts", "pwned.yaml")); err == nil {
					t.Errorf("the checkout wrote checkouts/pwned.yaml")
				}
			})
		}
	}
}

func TestValidEntryName(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b", "a\x00b", ".git", ".Git", "a\\b"} {
		if validEntryName(name) == "" {
			t.Errorf("%q accepted", name)
		}
	}
	for _, name := range []string{"app.yaml", ".github", "..x", "git", ".gitignore"} {
		if msg := validEntryName(name); msg != "" {
			t.Errorf("%q refused: %s", name, msg)
		}
	}
}

// A checkout found in the cache is used only if it still is the commit's
// tree; anything changed in it (by a crash, a person, another program) is
// thrown away and checked out again.
func TestFetchVerifiesCachedCheckout(t *testing.T) {
	outside := t.TempDir()
	tests := []struct {
		name  string
		spoil func(t *testing.T, dir string)
	}{
		{"file changed", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "deploy/app.yaml"), "tampered\n")
		}},
		{"file added", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "deploy/extra.yaml"), "extra\n")
		}},
		{"file removed", func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, "README")))
		}},
		{"directory replaced by a symlink", func(t *testing.T, dir string) {
			must(t, os.RemoveAll(filepath.Join(dir, "deploy/prod")))
			writeFile(t, filepath.Join(outside, "svc.yaml"), "prod\n")
			must(t, os.Symlink(outside, filepath.Join(dir, "deploy/prod")))
		}},
		{"file made executable", func(t *testing.T, dir string) {
			must(t, os.Chmod(filepath.Join(dir, "README"), 0o755))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRepo(t)
			cache := t.TempDir()
			o := Options{URL: r.url(), Ref: "main", CacheDir: cache}
			res, err := Fetch(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			top := strings.TrimSuffix(res.Dir, string(filepath.Separator))
			tt.spoil(t, top)
			res, err = Fetch(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			for file, want := range map[string]string{"README": "hello\n", "deploy/app.yaml": "v2\n", "deploy/prod/svc.yaml": "prod\n"} {
				if got := readFile(t, filepath.Join(res.Dir, file)); got != want {
					t.Errorf("%s = %q, want %q", file, got, want)
				}
			}
			if _, err := os.Lstat(filepath.Join(res.Dir, "deploy/extra.yaml")); err == nil {
				t.Error("deploy/extra.yaml survived")
			}
			if fi, err := os.Lstat(filepath.Join(res.Dir, "deploy/prod")); err != nil || !fi.IsDir() {
				t.Errorf("deploy/prod is not a directory: %v %v", fi, err)
			}
			if fi, err := os.Stat(filepath.Join(res.Dir, "README")); err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("README mode %v, %v", fi, err)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
