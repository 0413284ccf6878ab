package net

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tempVolumes points the agent's volume directory at a temporary folder
// it owns; tmpfs is asserted by the lab test, not here.
func tempVolumes(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(ownedTempDir(t), "volumes")
	savedDir, savedCheck := volumesDir, requireTmpfs
	volumesDir, requireTmpfs = dir, func(string) error { return nil }
	t.Cleanup(func() { volumesDir, requireTmpfs = savedDir, savedCheck })
	return dir
}

func readVol(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSyncVolumesAtomicLayout(t *testing.T) {
	root := tempVolumes(t)
	vdir := filepath.Join(root, "lab", "default.web.conf")
	cfg := func(a string) NodeConfig {
		return NodeConfig{Cluster: "lab", Volumes: []Volume{{ID: "default.web.conf", Files: []VolumeFile{
			{Path: "app.conf", Content: []byte(a), Mode: 0o644},
			{Path: "keys/tls.key", Content: []byte("KEY"), Mode: 0o400},
		}}}}
	}
	steps := []struct {
		name    string
		cfg     NodeConfig
		dryRun  bool
		changes string
		file    string // app.conf afterwards; "" when the volume is gone
		delta   string // the structured count the planner reads: "files: changed paths"
	}{
		{"dry run writes nothing", cfg("one"), true, "volume add " + vdir + " (2 files)", "", "2: "},
		{"create", cfg("one"), false, "volume add " + vdir + " (2 files)", "one", "2: "},
		{"unchanged", cfg("one"), false, "", "one", ""},
		{"a key comes", func() NodeConfig {
			c := cfg("one")
			c.Volumes[0].Files = append(c.Volumes[0].Files, VolumeFile{Path: "new.conf", Content: []byte("n"), Mode: 0o644})
			return c
		}(), false, "volume update " + vdir + " (3 files, 1 changed)", "one", "3: new.conf"},
		// One changes, the one that came goes: both are named.
		{"update in place", cfg("two"), false, "volume update " + vdir + " (2 files, 2 changed)", "two", "2: app.conf,new.conf"},
		{"last pod gone", NodeConfig{Cluster: "lab"}, false, "volume delete " + vdir + " (no pod here uses it)", "", ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := Validate(st.cfg); err != nil {
				t.Fatal(err)
			}
			ch, err := syncVolumes(st.cfg, st.dryRun)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range ch {
				got = append(got, c.Kind+" "+c.Action+" "+c.Target+" ("+c.Detail+")")
			}
			if strings.Join(got, "\n") != st.changes {
				t.Errorf("changes %q, want %q", got, st.changes)
			}
			delta := ""
			if len(ch) == 1 && ch[0].Volume != nil {
				delta = fmt.Sprintf("%d: %s", ch[0].Volume.Files, strings.Join(ch[0].Volume.Changed, ","))
			}
			if delta != st.delta {
				t.Errorf("volume delta %q, want %q", delta, st.delta)
			}
			if st.file == "" {
				if _, err := os.Lstat(vdir); !os.IsNotExist(err) {
					t.Errorf("volume directory left: %v", err)
				}
				return
			}
			if got := readVol(t, vdir, "app.conf"); got != st.file {
				t.Errorf("app.conf = %q, want %q", got, st.file)
			}
			if l, err := os.Readlink(filepath.Join(vdir, "app.conf")); err != nil || l != "..data/app.conf" {
				t.Errorf("app.conf links to %q (%v)", l, err)
			}
			if l, err := os.Readlink(filepath.Join(vdir, "keys")); err != nil || l != "..data/keys" {
				t.Errorf("keys links to %q (%v)", l, err)
			}
			fi, err := os.Stat(filepath.Join(vdir, "keys/tls.key"))
			if err != nil || fi.Mode().Perm() != 0o400 {
				t.Errorf("tls.key: %v %v", fi, err)
			}
			entries, _ := os.ReadDir(vdir)
			var ts int
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "..") && e.Name() != "..data" {
					ts++
				}
			}
			if ts != 1 {
				t.Errorf("%d timestamped directories, want 1 (old ones removed)", ts)
			}
		})
	}
}

// A volume directory replaced by a symlink is never written through.
func TestSyncVolumesRefusesSymlinks(t *testing.T) {
	root := tempVolumes(t)
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "lab"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "lab", "default.web.conf")); err != nil {
		t.Fatal(err)
	}
	c := NodeConfig{Cluster: "lab", Volumes: []Volume{{ID: "default.web.conf", Files: []VolumeFile{{Path: "a", Content: []byte("x"), Mode: 0o644}}}}}
	if _, err := syncVolumes(c, false); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("err = %v, want a refusal naming the symlink", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("wrote through the symlink: %v", entries)
	}
}

func TestValidateVolumesAndHostPaths(t *testing.T) {
	tests := []struct {
		name string
		c    NodeConfig
		want string
	}{
		{"dotdot file", NodeConfig{Cluster: "lab", Volumes: []Volume{{ID: "a.b.c", Files: []VolumeFile{{Path: "../etc/passwd"}}}}}, "no component may start with"},
		{"absolute file", NodeConfig{Cluster: "lab", Volumes: []Volume{{ID: "a.b.c", Files: []VolumeFile{{Path: "/etc/passwd"}}}}}, "must be a clean relative path"},
		{"..data file", NodeConfig{Cluster: "lab", Volumes: []Volume{{ID: "a.b.c", Files: []VolumeFile{{Path: "..data"}}}}}, "no component may start with"},
		{"bad id", NodeConfig{Cluster: "lab", Volumes: []Volume{{ID: "../x"}}}, "not namespace.deployment.volume"},
		{"mode", NodeConfig{Cluster: "lab", Volumes: []Volume{{ID: "a.b.c", Files: []VolumeFile{{Path: "f", Mode: 0o4755}}}}}, "more than 0777"},
		{"hostPath type", NodeConfig{HostPaths: []HostPath{{Path: "/srv/x", Type: "Pipe"}}, HostPathAllowList: []string{"/srv"}}, "unknown type"},
		{"hostPath unclean", NodeConfig{HostPaths: []HostPath{{Path: "/srv/../etc"}}, HostPathAllowList: []string{"/srv"}}, "clean absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// A hostPath the allow-list does not allow is its pods' problem: the
// host's apply goes on (its other hostPaths are made) and reports it, by
// path, instead of failing.
func TestSyncHostPathsProblems(t *testing.T) {
	base := t.TempDir()
	allowed := filepath.Join(base, "srv")
	if err := os.Mkdir(allowed, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(allowed, "link")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		allow []string
		path  string
		want  string // the problem; "" for none
	}{
		{"outside", []string{allowed}, "/etc", "outside the Cluster's hostPathAllowList (" + allowed + "); refused"},
		{"prefix is not a parent", []string{allowed}, allowed + "x", "outside"},
		{"root allows nothing", []string{"/", allowed}, "/etc", "outside"},
		{"symlink out", []string{allowed}, filepath.Join(allowed, "link"), "resolves to /etc, outside"},
		{"allowed", []string{allowed}, filepath.Join(allowed, "data"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := HostPath{Path: filepath.Join(allowed, "made-"+strings.ReplaceAll(tt.name, " ", "-")), Type: "DirectoryOrCreate"}
			c := NodeConfig{HostPathAllowList: tt.allow, HostPaths: []HostPath{{Path: tt.path, Type: "DirectoryOrCreate"}, good}}
			if err := Validate(c); err != nil {
				t.Fatalf("Validate: %v (a disallowed path is no malformed request)", err)
			}
			changes, problems := syncHostPaths(c, false)
			switch {
			case tt.want == "" && len(problems) != 0:
				t.Errorf("problems %+v, want none", problems)
			case tt.want != "" && (len(problems) != 1 || problems[0].Path != tt.path || !strings.Contains(problems[0].Problem, tt.want)):
				t.Errorf("problems %+v, want one for %s: %q", problems, tt.path, tt.want)
			}
			// The allowed one next to it is made all the same.
			if _, err := os.Stat(good.Path); err != nil {
				t.Errorf("%s: %v (changes %v)", good.Path, err, changes)
			}
		})
	}
}

// A hostPath that is a symlink out of the allow-list is refused on the
// host, whatever the path as written says.
func TestHostPathSymlinkResolved(t *testing.T) {
	base := t.TempDir()
	allowed, secret := filepath.Join(base, "srv"), filepath.Join(base, "etc")
	for _, d := range []string{allowed, secret} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(secret, filepath.Join(allowed, "link")); err != nil {
		t.Fatal(err)
	}
	allow := []string{allowed}
	tests := []struct {
		h       HostPath
		changes int
		err     string
	}{
		{HostPath{Path: filepath.Join(allowed, "link"), Type: "Directory"}, 0, "outside the Cluster's hostPathAllowList"},
		{HostPath{Path: filepath.Join(allowed, "link/new"), Type: "DirectoryOrCreate"}, 0, "outside"},
		{HostPath{Path: filepath.Join(allowed, "data"), Type: "DirectoryOrCreate"}, 1, ""},
		{HostPath{Path: filepath.Join(allowed, "data"), Type: "File"}, 0, "is a directory, not a File"},
		{HostPath{Path: filepath.Join(allowed, "missing"), Type: "File"}, 0, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.h.Path+" "+tt.h.Type, func(t *testing.T) {
			ch, err := checkHostPath(tt.h, allow, false)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
			if len(ch) != tt.changes {
				t.Errorf("changes %v", ch)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(secret, "new")); err == nil {
		t.Error("created a directory through the symlink")
	}
}
