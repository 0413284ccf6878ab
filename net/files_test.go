package net

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestSyncFile(t *testing.T) {
	tests := []struct {
		name      string
		existing  *string // nil: no file
		mode      os.FileMode
		content   string
		fileMode  uint32
		dryRun    bool
		withheld  bool   // content by digest only (File.Withheld)
		want      string // "kind action" or ""
		wantAfter string
	}{
		{name: "missing is written", content: "a\n", want: "file add", wantAfter: "a\n"},
		{name: "missing in dry run", content: "a\n", dryRun: true, want: "file add"},
		{name: "same content is left alone", existing: ptr("a\n"), mode: 0o644, content: "a\n", wantAfter: "a\n"},
		{name: "edited is put back", existing: ptr("edited\n"), mode: 0o644, content: "a\n", want: "file update", wantAfter: "a\n"},
		{name: "edited in dry run", existing: ptr("edited\n"), mode: 0o644, content: "a\n", dryRun: true, want: "file update", wantAfter: "edited\n"},
		{name: "mode is fixed", existing: ptr("a\n"), mode: 0o600, content: "a\n", fileMode: 0o644, want: "file update", wantAfter: "a\n"},
		{name: "withheld, same content", existing: ptr("a\n"), mode: 0o644, content: "a\n", withheld: true, wantAfter: "a\n"},
		{name: "withheld, edited, dry run", existing: ptr("edited\n"), mode: 0o644, content: "a\n", withheld: true, dryRun: true, want: "file update", wantAfter: "edited\n"},
		{name: "withheld, same size edited, dry run", existing: ptr("b\n"), mode: 0o644, content: "a\n", withheld: true, dryRun: true, want: "file update", wantAfter: "b\n"},
		{name: "withheld, missing, dry run", content: "a\n", withheld: true, dryRun: true, want: "file add"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := ownedTempDir(t)
			path := filepath.Join(dir, "sub", "endpoints.json")
			if tc.existing != nil {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(*tc.existing), tc.mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tc.mode); err != nil {
					t.Fatal(err)
				}
			}
			f := File{Path: path, Content: []byte(tc.content), Mode: tc.fileMode}
			if tc.withheld {
				f = f.Withheld()
			}
			changes, err := syncFile(f, tc.dryRun)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if len(changes) > 0 {
				got = changes[0].Kind + " " + changes[0].Action
			}
			if got != tc.want {
				t.Errorf("change = %q, want %q", got, tc.want)
			}
			b, err := os.ReadFile(path)
			if tc.wantAfter == "" {
				if err == nil {
					t.Errorf("file exists after a dry run: %q", b)
				}
				return
			}
			if string(b) != tc.wantAfter {
				t.Errorf("content = %q, want %q", b, tc.wantAfter)
			}
			if st, _ := os.Stat(path); st.Mode().Perm() != fileMode(File{Mode: tc.fileMode}) {
				t.Errorf("mode = %v", st.Mode().Perm())
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				t.Errorf("temp files left behind: %v", entries)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// A write never writes a file whose content was withheld: Apply asks for
// the content first (NeedContent) and changes nothing at all, and
// syncFile refuses should it be reached anyway.
func TestWithheldContent(t *testing.T) {
	dir := ownedTempDir(t)
	same, edited, missing := filepath.Join(dir, "same"), filepath.Join(dir, "edited"), filepath.Join(dir, "missing")
	for p, content := range map[string]string{same: "a\n", edited: "edited\n"} {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := []File{
		File{Path: same, Content: []byte("a\n")}.Withheld(),
		File{Path: edited, Content: []byte("a\n")}.Withheld(),
		File{Path: missing, Content: []byte("a\n")}.Withheld(),
		{Path: filepath.Join(dir, "sent"), Content: []byte("a\n")},
	}
	if got, want := needContent(files), []string{edited, missing}; !slices.Equal(got, want) {
		t.Errorf("needContent = %q, want %q", got, want)
	}
	if _, err := syncFile(files[1], false); err == nil || !strings.Contains(err.Error(), "withheld") {
		t.Errorf("write of a withheld file: %v", err)
	}

	cfg := NodeConfig{Node: "node-1", Files: files, StateFile: filepath.Join(dir, "state.json")}
	res, err := Apply(context.Background(), cfg, false)
	if err != nil || !slices.Equal(res.NeedContent, []string{edited, missing}) || len(res.Changes) != 0 {
		t.Fatalf("apply: %+v, %v", res, err)
	}
	for _, p := range []string{missing, filepath.Join(dir, "sent"), cfg.StateFile} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s written by an apply that lacked content", p)
		}
	}
	if b, _ := os.ReadFile(edited); string(b) != "edited\n" {
		t.Errorf("edited file now %q", b)
	}
}

// A config hashes the same whether its files' content travels or not, and
// differently when a file's content differs.
func TestConfigHashByDigest(t *testing.T) {
	full := NodeConfig{Node: "node-1", Files: []File{{Path: "/var/lib/reconcile/a", Content: []byte("a\n")}}}
	withheld := full
	withheld.Files = []File{full.Files[0].Withheld()}
	other := full
	other.Files = []File{{Path: "/var/lib/reconcile/a", Content: []byte("b\n")}}
	if ConfigHash(full) != ConfigHash(withheld) {
		t.Error("withholding the content changed the hash")
	}
	if ConfigHash(full) == ConfigHash(other) {
		t.Error("other content, same hash")
	}
	if full.Files[0].SHA256 != "" || full.Files[0].Content == nil {
		t.Error("ConfigHash changed the caller's files")
	}
	bad := withheld
	bad.Files = []File{{Path: "/var/lib/reconcile/a", Content: []byte("b\n"), SHA256: withheld.Files[0].SHA256, Size: 2}}
	if err := Validate(bad); err == nil || !strings.Contains(err.Error(), "does not match its sha256") {
		t.Errorf("content not matching its digest: %v", err)
	}
}

func TestAgentDryRunInNetns(t *testing.T) {
	needRoot(t)
	const ns = "rcntest-agent"
	newHost(t, ns)
	cfg := baseConfig()
	cfg.StateFile = ownedTempDir(t) + "/state.json"
	// The agent's JSON framing is tested in runtime/agent.
	var res *Result
	var err error
	inNetns(t, ns, func() { res, err = Apply(context.Background(), cfg, true) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Node != "node-1" || len(res.Changes) == 0 || res.Drift {
		t.Errorf("result: %+v", res)
	}
	if _, err := os.Stat(cfg.StateFile); err == nil {
		t.Error("dry run wrote the state file")
	}
}

// The record of the last apply is read with its Services undecoded (an
// idle status whose rules are verified needs none); withServices brings
// them back exactly, and a damaged list names the record.
func TestAppliedRecordServicesLazily(t *testing.T) {
	dir := ownedTempDir(t)
	path := filepath.Join(dir, "state.json")
	cfg := manyServices(20, 2)
	noServices := cfg
	noServices.Services = nil
	now, _ := json.Marshal(appliedRecord{ConfigHash: "h", Config: &noServices, Services: cfg.Services})
	before, _ := json.Marshal(appliedState{ConfigHash: "h", Config: &cfg}) // Services in the config
	for _, b := range [][]byte{append(now, '\n'), before} {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := readApplied(path)
		if err != nil || st.ConfigHash != "h" || st.Config == nil || st.Config.Services != nil || st.Config.Node != cfg.Node || len(st.services) == 0 {
			t.Fatalf("read %+v, %v", st, err)
		}
		if err := st.withServices(); err != nil || !reflect.DeepEqual(st.Config.Services, cfg.Services) {
			t.Fatalf("services %v, %v", len(st.Config.Services), err)
		}
	}
	// Cut anywhere, the record is damaged: no record, or (cut inside the
	// Services) an error naming it once they are needed.
	for _, n := range []int{1, len(now) / 2, len(now) - 30, len(now) - 1} {
		if err := os.WriteFile(path, now[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := readApplied(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.withServices(); st.Config != nil && (err == nil || !strings.Contains(err.Error(), path)) {
			t.Errorf("cut at %d of %d: read %+v, services: %v", n, len(now), st.Config != nil, err)
		}
	}
	if err := os.WriteFile(path, []byte(`{"configHash":"h","config":{"node":"node-1","services":"many"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := readApplied(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.withServices(); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("damaged services: %v", err)
	}
}
