package gitsource

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// FetchTree reads a plain tree from the git objects and writes no
// checkout; a tree the disk loader must judge (a symlink, a
// kustomization, a manifest over the size limit) is checked out on disk
// as Fetch does.
func TestFetchTreeInMemory(t *testing.T) {
	big := strings.Repeat("#", 4<<20+1)
	tests := []struct {
		name   string
		tree   []craft
		path   string
		memory bool
		files  map[string]string // in Files, when memory
	}{
		{"plain tree", []craft{
			blob("README", "hello\n"),
			dir("deploy", dir(".github", blob("ci.yaml", "c\n")), blob(".reconcileignore", "ci/\n"),
				blob("app.yaml", "a\n"), blob("notes.txt", "n\n"),
				dir("prod", blob("run.json", "{}\n"), blob("svc.YML", "s\n")),
				craft{name: "sub", mode: filemode.Submodule}),
		}, "deploy", true, map[string]string{"app.yaml": "a\n", ".reconcileignore": "ci/\n", "prod/svc.YML": "s\n", "prod/run.json": "{}\n"}},
		{"whole repository", []craft{blob("a.yaml", "a\n"), dir("b", blob("c.yaml", "c\n"))}, "", true,
			map[string]string{"a.yaml": "a\n", "b/c.yaml": "c\n"}},
		{"symlink below the path", []craft{dir("deploy", blob("app.yaml", "a\n"), link("l.yaml", "app.yaml"))}, "deploy", false, nil},
		{"kustomization", []craft{dir("deploy", blob("kustomization.yaml", "resources: []\n"))}, "deploy", false, nil},
		{"manifest over the size limit", []craft{blob("big.yaml", big)}, "", false, nil},
		{"symlink outside the path", []craft{dir("deploy", blob("app.yaml", "a\n")), link("x", "/etc")}, "deploy", true,
			map[string]string{"app.yaml": "a\n"}},
		{"symlink in a hidden directory", []craft{dir(".ci", link("x", "/etc")), blob("app.yaml", "a\n")}, "", true,
			map[string]string{"app.yaml": "a\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, commit := craftedRepo(t, tt.tree)
			cache := t.TempDir()
			res, err := FetchTree(context.Background(), Options{URL: url, Path: tt.path, CacheDir: cache})
			if err != nil {
				t.Fatal(err)
			}
			root, _ := cacheRoot(cache, url)
			if want := filepath.Join(root, "checkouts", commit, tt.path); res.Dir != want || res.Commit != commit {
				t.Errorf("dir %s at %s, want %s at %s", res.Dir, res.Commit, want, commit)
			}
			_, statErr := os.Stat(res.Dir)
			if !tt.memory {
				if res.Files != nil || statErr != nil {
					t.Fatalf("want a checkout on disk: Files %v, %v", res.Files, statErr)
				}
				return
			}
			if res.Files == nil {
				t.Fatal("no tree in memory")
			}
			if _, err := os.Stat(filepath.Join(root, "checkouts")); err == nil {
				t.Error("a checkout was written")
			}
			got := map[string]string{}
			err = fs.WalkDir(res.Files, ".", func(p string, e fs.DirEntry, err error) error {
				if err == nil && !e.IsDir() {
					data, rerr := fs.ReadFile(res.Files, p)
					got[p] = string(data)
					return rerr
				}
				return err
			})
			if err != nil || !reflect.DeepEqual(got, tt.files) {
				t.Errorf("files %v (%v), want %v", got, err, tt.files)
			}
			var paths []string
			for p := range tt.files {
				paths = append(paths, p)
			}
			if err := fstest.TestFS(res.Files, paths...); err != nil {
				t.Error(err)
			}
		})
	}
}
