package net

import (
	"context"
	"os"
	"path/filepath"
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
		want      string // "kind action" or ""
		wantAfter string
	}{
		{name: "missing is written", content: "a\n", want: "file add", wantAfter: "a\n"},
		{name: "missing in dry run", content: "a\n", dryRun: true, want: "file add"},
		{name: "same content is left alone", existing: ptr("a\n"), mode: 0o644, content: "a\n", wantAfter: "a\n"},
		{name: "edited is put back", existing: ptr("edited\n"), mode: 0o644, content: "a\n", want: "file update", wantAfter: "a\n"},
		{name: "edited in dry run", existing: ptr("edited\n"), mode: 0o644, content: "a\n", dryRun: true, want: "file update", wantAfter: "edited\n"},
		{name: "mode is fixed", existing: ptr("a\n"), mode: 0o600, content: "a\n", fileMode: 0o644, want: "file update", wantAfter: "a\n"},
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
			changes, err := syncFile(File{Path: path, Content: []byte(tc.content), Mode: tc.fileMode}, tc.dryRun)
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
