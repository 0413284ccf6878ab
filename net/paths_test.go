package net

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// ownedTempDir is a temporary folder the agent treats as one of its own
// for the length of the test.
func ownedTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	saved := ownedDirs
	ownedDirs = append(slices.Clone(ownedDirs), dir)
	t.Cleanup(func() { ownedDirs = saved })
	return dir
}

// The agent runs as root and is the last line of defence: whatever path a
// request names, it reads and writes only below the directories it owns,
// and never through a symlink.
func TestOwnedPathsRefused(t *testing.T) {
	base := t.TempDir()
	owned := filepath.Join(base, "owned")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{owned, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	saved := ownedDirs
	ownedDirs = []string{owned}
	t.Cleanup(func() { ownedDirs = saved })
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("private\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// owned/link -> outside, owned/file -> outside/secret
	if err := os.Symlink(outside, filepath.Join(owned, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(owned, "file")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(owned, "fifo.d"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, path, want string
	}{
		{"dot-dot out of the tree", owned + "/../outside/pwned", "not clean"},
		{"not below an owned dir", outside + "/pwned", "outside the directories reconcile owns"},
		{"owned dir itself", owned, "outside the directories reconcile owns"},
		{"prefix is not a parent", owned + "x/pwned", "outside the directories reconcile owns"},
		{"relative", "owned/pwned", "must be absolute"},
		{"symlinked directory", owned + "/link/pwned", "is a symlink"},
		{"symlinked file", owned + "/file", "symlink"},
	}
	for _, tc := range tests {
		t.Run("write "+tc.name, func(t *testing.T) {
			_, err := syncFile(File{Path: tc.path, Content: []byte("pwned\n")}, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(outside, "pwned")); err == nil {
				t.Fatal("a file was written outside the owned directory")
			}
			if b, _ := os.ReadFile(secret); string(b) != "private\n" {
				t.Fatalf("the file behind a symlink was changed: %q", b)
			}
		})
		t.Run("read "+tc.name, func(t *testing.T) {
			files, err := ReadFiles([]string{tc.path})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v (files %q), want it to say %q", err, files, tc.want)
			}
		})
	}
	// Read only: a write case naming a real system file would replace it
	// when the test runs against code without the check.
	t.Run("read a system file", func(t *testing.T) {
		files, err := ReadFiles([]string{"/etc/shadow"})
		if err == nil || len(files) > 0 || !strings.Contains(err.Error(), "outside the directories reconcile owns") {
			t.Errorf("ReadFiles(/etc/shadow) = %d files, %v", len(files), err)
		}
	})
	t.Run("read a symlink to the secret", func(t *testing.T) {
		files, err := ReadFiles([]string{owned + "/file", owned + "/link/secret"})
		if err == nil || len(files) > 0 {
			t.Errorf("read through a symlink: %q, %v", files, err)
		}
	})
	t.Run("state file outside", func(t *testing.T) {
		c := baseConfig()
		c.StateFile = "/etc/reconcile-state.json"
		c.Files = []File{{Path: owned + "/../../etc/issue"}}
		err := Validate(c)
		if err == nil || !strings.Contains(err.Error(), "stateFile: path /etc/reconcile-state.json is outside") || !strings.Contains(err.Error(), "not clean") {
			t.Errorf("Validate: %v", err)
		}
	})
	t.Run("a FIFO is not read", func(t *testing.T) {
		fifo := owned + "/fifo.d/endpoints.json"
		if err := unix.Mkfifo(fifo, 0o644); err != nil {
			t.Skip(err)
		}
		if _, err := ReadFiles([]string{fifo}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("inside is fine, directories are made", func(t *testing.T) {
		p := owned + "/state/sub/x.json"
		if _, err := syncFile(File{Path: p, Content: []byte("ok\n")}, false); err != nil {
			t.Fatal(err)
		}
		files, err := ReadFiles([]string{p, owned + "/missing", owned + "/nodir/missing"})
		if err != nil || string(files[p]) != "ok\n" || len(files) != 1 {
			t.Errorf("ReadFiles = %q, %v", files, err)
		}
		if _, _, err := readOwnedFile(owned + "/missing"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("missing file: %v", err)
		}
	})
}
