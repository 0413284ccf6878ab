package resources

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// memCopy copies the tree at dir (or the one file dir names) into an
// fstest.MapFS, or reports false when it holds what LoadFS leaves to
// the disk loader: a symbolic link or a kustomization.
func memCopy(t *testing.T, dir string) (fstest.MapFS, bool) {
	t.Helper()
	m := fstest.MapFS{}
	if fi, err := os.Stat(dir); err == nil && fi.Mode().IsRegular() {
		data, err := os.ReadFile(dir)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(dir)] = &fstest.MapFile{Data: data, Mode: 0o644}
		return m, true
	}
	plain := true
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case e.Type()&fs.ModeSymlink != 0 || IsKustomizationFile(e.Name()):
			plain = false
		case e.IsDir():
			if rel != "." {
				m[filepath.ToSlash(rel)] = &fstest.MapFile{Mode: fs.ModeDir | 0o755}
			}
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m[filepath.ToSlash(rel)] = &fstest.MapFile{Data: data, Mode: 0o644}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, plain
}

// LoadFS must load a tree exactly as LoadTree loads its checkout: the
// same objects, warnings and errors, byte for byte, for every broken
// case with a golden file, the ignore tree with each --exclude, and the
// examples.
func TestLoadFSMatchesLoadTree(t *testing.T) {
	type tree struct {
		dir     string
		exclude []string
	}
	var trees []tree
	entries, err := os.ReadDir("testdata/broken")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".golden") {
			trees = append(trees, tree{dir: filepath.Join("testdata/broken", e.Name())})
		}
	}
	for _, ex := range [][]string{nil, {"service.yaml"}, {"app/*.yaml"}, {"/app/"}, {"!ci/"}} {
		trees = append(trees, tree{"testdata/ignore", ex})
	}
	trees = append(trees, tree{dir: "testdata/docs"}, tree{dir: "testdata/seed"}, tree{dir: "testdata/sops"},
		tree{dir: "../examples/nginx"}, tree{dir: "../examples/real"})
	compared := 0
	for _, tt := range trees {
		t.Run(tt.dir+strings.Join(tt.exclude, ","), func(t *testing.T) {
			m, plain := memCopy(t, tt.dir)
			if !plain {
				t.Skip("has a symlink or kustomization: loaded from disk")
			}
			compared++
			o := TreeOptions{Exclude: tt.exclude, Decryption: Decryption{WithoutKey: true}}
			want, wantErr := LoadTree(tt.dir, o)
			got, gotErr := LoadFS(m, tt.dir, o)
			if errText(gotErr) != errText(wantErr) {
				t.Fatalf("LoadFS error:\n%s\nLoadTree error:\n%s", errText(gotErr), errText(wantErr))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("LoadFS set differs from LoadTree's:\n%+v\n%+v", got, want)
			}
		})
	}
	if compared < 50 {
		t.Errorf("only %d trees compared", compared)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// What LoadFS refuses to read from memory (gitsource never hands it such
// a tree) is an error, never a silent difference from the disk loader.
func TestLoadFSRefuses(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"kustomization", fstest.MapFS{"app/kustomization.yaml": {Data: []byte("resources: []\n")}}, "kustomization is loaded from a checkout"},
		{"symlink", fstest.MapFS{"a.yaml": {Data: []byte("b.yaml"), Mode: fs.ModeSymlink}}, "symbolic link is loaded from a checkout"},
		{"too big", fstest.MapFS{"a.yaml": {Data: make([]byte, MaxFileBytes+1)}}, "a.yaml: is 4194305 bytes, more than the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFS(tt.fsys, "tree", TreeOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
