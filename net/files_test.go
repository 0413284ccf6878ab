package net

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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

func TestReadAgent(t *testing.T) {
	dir := ownedTempDir(t)
	present := filepath.Join(dir, "allocations.json")
	if err := os.WriteFile(present, []byte(`{"a":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(ReadRequest{Paths: []string{present, filepath.Join(dir, "missing.json")}})
	var out bytes.Buffer
	if err := ReadAgent(context.Background(), bytes.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	want := `{"files":{"` + present + `":"eyJhIjoxfQ=="}}` + "\n"
	if out.String() != want {
		t.Errorf("ReadAgent wrote %s, want %s", out.String(), want)
	}
}

func TestAgentRejectsBadConfig(t *testing.T) {
	in := `{"config":{"node":"node-1","services":[{"namespace":"a","name":"b","clusterIP":"nope","ports":[{"port":80}]}]},"dryRun":true}`
	var out bytes.Buffer
	err := Agent(context.Background(), strings.NewReader(in), &out)
	if err == nil || err.Error() != `service a/b: clusterIP "nope": want an IPv4 address` {
		t.Errorf("err = %v", err)
	}
	if want := `{"node":"node-1","changes":[],"drift":false}` + "\n"; out.String() != want {
		t.Errorf("out = %s, want %s", out.String(), want)
	}
}

func TestAgentDryRunInNetns(t *testing.T) {
	needRoot(t)
	const ns = "rcntest-agent"
	newHost(t, ns)
	cfg := baseConfig()
	cfg.StateFile = ownedTempDir(t) + "/state.json"
	in, _ := json.Marshal(AgentRequest{Config: cfg, DryRun: true})
	var out bytes.Buffer
	var err error
	inNetns(t, ns, func() { err = Agent(context.Background(), bytes.NewReader(in), &out) })
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if res.Node != "node-1" || len(res.Changes) == 0 || res.Drift {
		t.Errorf("result: %+v", res)
	}
	if _, err := os.Stat(cfg.StateFile); err == nil {
		t.Error("dry run wrote the state file")
	}
}
