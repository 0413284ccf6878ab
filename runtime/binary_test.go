package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

func TestEnsureBinary(t *testing.T) {
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
		names = append(names, e.Name())
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
