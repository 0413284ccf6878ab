package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsureBinary(t *testing.T) {
	// No hash records here (TestEnsureBinaryRecordsHash has them): on a
	// busy machine the later cases ran over 2 s after a copy, recorded its
	// hash, and counted that write as a second round trip.
	saved := recordAfter
	recordAfter = 1 << 40
	t.Cleanup(func() { recordAfter = saved })
	h := dialTestHost(t, "node-1")
	h.binDir = filepath.Join(t.TempDir(), "var", "lib", "reconcile", "bin")
	local := t.TempDir()
	build := func(name, content string) (path, remote string) {
		path = filepath.Join(local, name)
		writeFile(t, path, content)
		sum := sha256.Sum256([]byte(content))
		return path, filepath.Join(h.binDir, "reconcile-"+hex.EncodeToString(sum[:])[:12])
	}
	v1, v1Remote := build("reconcile-v1", "#!/bin/sh\necho v1 \"$@\"\n")
	v2, v2Remote := build("reconcile-v2", "#!/bin/sh\necho v2 \"$@\"\n")

	tests := []struct {
		name       string
		local      string
		want       string
		wantRounds int // SSH sessions the call opens
	}{
		{name: "missing: check and upload", local: v1, want: v1Remote, wantRounds: 2},
		{name: "present: one check", local: v1, want: v1Remote, wantRounds: 1},
		{name: "another build goes next to it", local: v2, want: v2Remote, wantRounds: 2},
		{name: "the old build stays", local: v1, want: v1Remote, wantRounds: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.runs
			got, err := h.EnsureBinary(context.Background(), tt.local)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("remote path = %s, want %s", got, tt.want)
			}
			if rounds := h.runs - before; rounds != tt.wantRounds {
				t.Errorf("%d round trips, want %d", rounds, tt.wantRounds)
			}
			// The copy runs, as the node agent will.
			out, err := h.Run(context.Background(), nil, got+" node")
			if want := filepath.Base(tt.local)[len("reconcile-"):] + " node\n"; err != nil || string(out) != want {
				t.Errorf("running the copy = %q, %v; want %q", out, err, want)
			}
		})
	}

	entries, err := os.ReadDir(h.binDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".verified") { // hash records, TestEnsureBinaryRecordsHash
			names = append(names, e.Name())
		}
	}
	want := []string{filepath.Base(v1Remote), filepath.Base(v2Remote)}
	if filepath.Base(v1Remote) > filepath.Base(v2Remote) {
		want[0], want[1] = want[1], want[0]
	}
	if len(names) != 2 || names[0] != want[0] || names[1] != want[1] {
		t.Errorf("files on the host = %v, want %v (no temp files left)", names, want)
	}
	fi, err := os.Stat(v1Remote)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("mode of %s = %v, %v; want 0755", v1Remote, fi.Mode(), err)
	}
	b, _ := os.ReadFile(v1Remote)
	l, _ := os.ReadFile(v1)
	if !bytes.Equal(b, l) {
		t.Errorf("copy differs from the local file")
	}
}

// A run that hashed the copy on the host records it; the next run trusts
// the record while the file's stat is the same, and hashes again (and
// replaces the copy) once anything wrote to it.
func TestEnsureBinaryRecordsHash(t *testing.T) {
	saved := recordAfter
	recordAfter = -1 // the test's copies are seconds old at most
	t.Cleanup(func() { recordAfter = saved })
	h := dialTestHost(t, "node-1")
	h.binDir = filepath.Join(t.TempDir(), "var", "lib", "reconcile", "bin")
	content := "#!/bin/sh\necho good\n"
	local := writeFile(t, filepath.Join(t.TempDir(), "reconcile"), content)
	sum := sha256.Sum256([]byte(content))
	hexSum := hex.EncodeToString(sum[:])
	remote := filepath.Join(h.binDir, "reconcile-"+hexSum[:12])
	inspect := func() remoteState {
		t.Helper()
		out, err := h.Run(context.Background(), nil, inspectScript(h.binDir, []agentCandidate{{machines: []string{"*"}, local: local, sum: hexSum}}))
		if err != nil {
			t.Fatal(err)
		}
		st, err := parseInspect(out)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	ensure := func(wantRounds int) {
		t.Helper()
		before := h.runs
		if got, err := h.EnsureBinary(context.Background(), local); err != nil || got != remote {
			t.Fatalf("EnsureBinary = %s, %v", got, err)
		}
		if rounds := h.runs - before; rounds != wantRounds {
			t.Errorf("%d round trips, want %d", rounds, wantRounds)
		}
	}
	ensure(2) // install
	if st := inspect(); st.cached || st.sha256 != hexSum {
		t.Fatalf("before any record: %+v", st)
	}
	ensure(2) // verify by hashing, then record
	if st := inspect(); !st.cached || st.sha256 != hexSum {
		t.Fatalf("after the record: %+v, want the recorded hash", st)
	}
	ensure(1)

	// Same size, other content: the ctime moved, so it is hashed again.
	if err := os.WriteFile(remote, []byte("#!/bin/sh\necho evil\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if st := inspect(); st.cached || st.sha256 == hexSum {
		t.Fatalf("after a write: %+v, want a fresh hash of the other content", st)
	}
	ensure(2)
	if b, _ := os.ReadFile(remote); string(b) != content {
		t.Errorf("content on the host = %q, want the local file", b)
	}
	// A record for another stat (a copy replaced since) is not trusted.
	if err := os.WriteFile(remote+".verified", []byte("1 2.000000000 3.000000000 4 "+hexSum+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st := inspect(); st.cached {
		t.Errorf("a record of another stat was trusted: %+v", st)
	}
}

func TestEnsureBinaryErrors(t *testing.T) {
	h := dialTestHost(t, "node-1")
	dir := t.TempDir()
	// A file where the directory should be: mkdir fails on the host.
	h.binDir = writeFile(t, filepath.Join(dir, "bin"), "")
	local := writeFile(t, filepath.Join(dir, "reconcile"), "x")
	tests := []struct {
		name  string
		local string
		want  string
	}{
		{
			name:  "no local file",
			local: filepath.Join(dir, "nope"),
			want:  "node-1: copy agent binary: open " + dir + "/nope: no such file or directory",
		},
		{
			name:  "not a file",
			local: dir,
			want:  "node-1: copy agent binary: " + dir + " is not a regular file",
		},
		{
			name:  "remote directory cannot be made",
			local: local,
			want:  "node-1: copy agent binary to " + h.binDir + "/reconcile-2d711642b726: exit 1: mkdir: cannot create directory '" + h.binDir + "': File exists",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.EnsureBinary(context.Background(), tt.local)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error:\n got: %v\nwant: %s", err, tt.want)
			}
		})
	}
}

// A copy on the host is trusted for its hash, not its name: whatever sits
// at the content-addressed path is checked on the host and replaced when
// it differs, in a directory only root can write to.
func TestEnsureBinaryReplacesWhatDiffers(t *testing.T) {
	h := dialTestHost(t, "node-1")
	h.binDir = filepath.Join(t.TempDir(), "var", "lib", "reconcile", "bin")
	local := writeFile(t, filepath.Join(t.TempDir(), "reconcile"), "#!/bin/sh\necho good\n")
	sum := sha256.Sum256([]byte("#!/bin/sh\necho good\n"))
	remote := filepath.Join(h.binDir, "reconcile-"+hex.EncodeToString(sum[:])[:12])

	tests := []struct {
		name       string
		before     func(t *testing.T) // what is on the host
		wantRounds int
	}{
		{
			name:       "missing",
			before:     func(t *testing.T) {},
			wantRounds: 2,
		},
		{
			name:       "same content",
			before:     func(t *testing.T) {},
			wantRounds: 1,
		},
		{
			name: "other content under the name",
			before: func(t *testing.T) {
				if err := os.WriteFile(remote, []byte("#!/bin/sh\necho evil\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			wantRounds: 2,
		},
		{
			name: "truncated copy",
			before: func(t *testing.T) {
				if err := os.Truncate(remote, 3); err != nil {
					t.Fatal(err)
				}
			},
			wantRounds: 2,
		},
		{
			name: "a symlink to a good copy elsewhere",
			before: func(t *testing.T) {
				other := writeFile(t, filepath.Join(t.TempDir(), "good"), "#!/bin/sh\necho good\n")
				if err := os.Remove(remote); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(other, remote); err != nil {
					t.Fatal(err)
				}
			},
			wantRounds: 2,
		},
		{
			name: "writable by others",
			before: func(t *testing.T) {
				if err := os.Chmod(remote, 0o777); err != nil {
					t.Fatal(err)
				}
			},
			wantRounds: 2,
		},
		{
			name: "directory opened up",
			before: func(t *testing.T) {
				if err := os.Chmod(h.binDir, 0o755); err != nil {
					t.Fatal(err)
				}
			},
			wantRounds: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.before(t)
			before := h.runs
			got, err := h.EnsureBinary(context.Background(), local)
			if err != nil {
				t.Fatal(err)
			}
			if got != remote {
				t.Errorf("remote path = %s, want %s", got, remote)
			}
			if rounds := h.runs - before; rounds != tt.wantRounds {
				t.Errorf("%d round trips, want %d", rounds, tt.wantRounds)
			}
			fi, err := os.Lstat(remote)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o755 {
				t.Errorf("%s: %v, %v; want a regular file, mode 0755", remote, fi.Mode(), err)
			}
			if b, _ := os.ReadFile(remote); string(b) != "#!/bin/sh\necho good\n" {
				t.Errorf("content on the host = %q, want the local file", b)
			}
			if fi, err := os.Lstat(h.binDir); err != nil || fi.Mode() != os.ModeDir|0o700 {
				t.Errorf("%s: %v, %v; want a directory, mode 0700", h.binDir, fi.Mode(), err)
			}
		})
	}
}

// The directory must be one nobody but root can change: not reached
// through a symlink, not inside a directory others can write to.
func TestEnsureBinaryUnsafeDirectory(t *testing.T) {
	h := dialTestHost(t, "node-1")
	local := writeFile(t, filepath.Join(t.TempDir(), "reconcile"), "x")
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) (binDir string)
		want  func(dir string) string
	}{
		{
			name: "a parent is a symlink",
			setup: func(t *testing.T, dir string) string {
				mkdir(t, filepath.Join(dir, "real"), 0o755)
				if err := os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "lib")); err != nil {
					t.Fatal(err)
				}
				return filepath.Join(dir, "lib", "reconcile", "bin")
			},
			want: func(dir string) string {
				return "node-1: agent binary directory " + dir + "/lib/reconcile/bin: " + dir + "/lib is a symbolic link: refusing to install the agent through it; make it a directory owned by root"
			},
		},
		{
			name: "the directory is a symlink",
			setup: func(t *testing.T, dir string) string {
				mkdir(t, filepath.Join(dir, "real"), 0o700)
				if err := os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "bin")); err != nil {
					t.Fatal(err)
				}
				return filepath.Join(dir, "bin")
			},
			want: func(dir string) string {
				return "node-1: agent binary directory " + dir + "/bin: " + dir + "/bin is a symbolic link: refusing to install the agent through it; make it a directory owned by root"
			},
		},
		{
			name: "a parent others can write to",
			setup: func(t *testing.T, dir string) string {
				mkdir(t, filepath.Join(dir, "open"), 0o777)
				return filepath.Join(dir, "open", "reconcile", "bin")
			},
			want: func(dir string) string {
				return "node-1: agent binary directory " + dir + "/open/reconcile/bin: " + dir + "/open is writable by others (mode 0777): refusing to install the agent below it; chmod go-w it"
			},
		},
		{
			name: "a parent owned by another user",
			setup: func(t *testing.T, dir string) string {
				mkdir(t, filepath.Join(dir, "theirs"), 0o755)
				if err := os.Chown(filepath.Join(dir, "theirs"), 65534, 65534); err != nil {
					t.Fatal(err)
				}
				return filepath.Join(dir, "theirs", "bin")
			},
			want: func(dir string) string {
				return "node-1: agent binary directory " + dir + "/theirs/bin: " + dir + "/theirs is owned by uid 65534, not root: refusing to install the agent below it; chown root it"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			h.binDir = tt.setup(t, dir)
			_, err := h.EnsureBinary(context.Background(), local)
			if err == nil || err.Error() != tt.want(dir) {
				t.Errorf("error:\n got: %v\nwant: %s", err, tt.want(dir))
			}
			if entries, _ := os.ReadDir(filepath.Join(dir, "real")); len(entries) > 0 {
				t.Errorf("installed through the symlink: %v", entries)
			}
		})
	}
}

func mkdir(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(dir, mode); err != nil {
		t.Fatal(err)
	}
	// Past the umask.
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}
