package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeMachine makes `uname -m` print machine in the sessions of an sshd:
// a uname earlier in the sessions' PATH.
func fakeMachine(t *testing.T, machine string) string {
	dir := t.TempDir()
	script := "#!/bin/sh\nif [ \"$1\" = -m ]; then echo " + machine + "; exit 0; fi\nexec /usr/bin/uname \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "uname"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return "SetEnv=PATH=" + dir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}

// TestEnsureAgentByArch: the host's uname -m picks the agent, in the same
// round trip as the check of its copy; an architecture without an agent,
// or one the agent is not built for, is an error naming the host.
func TestEnsureAgentByArch(t *testing.T) {
	local := t.TempDir()
	agents := map[string]string{}
	remoteOf := map[string]string{}
	for _, a := range Archs {
		content := "#!/bin/sh\necho agent-" + a + "\n"
		agents[a] = writeFile(t, filepath.Join(local, "reconcile-linux-"+a), content)
		sum := sha256.Sum256([]byte(content))
		remoteOf[a] = "reconcile-" + hex.EncodeToString(sum[:])[:12]
	}
	both := func(arch string) (string, error) { return agents[arch], nil }
	amd64Only := func(arch string) (string, error) {
		if arch == "amd64" {
			return agents[arch], nil
		}
		return "", &NoAgentError{Arch: arch, Looked: []string{"/opt/bin/reconcile-linux-" + arch}}
	}
	tests := []struct {
		name, machine string
		find          AgentFinder
		wantArch      string
		wantErr       string
		wantErrType   func(error) bool
	}{
		{name: "x86_64", machine: "x86_64", find: both, wantArch: "amd64"},
		{name: "aarch64", machine: "aarch64", find: both, wantArch: "arm64"},
		{name: "arm64", machine: "arm64", find: both, wantArch: "arm64"},
		{name: "no arm64 agent", machine: "aarch64", find: amd64Only, wantErr: "no agent for arm64 on node-3: build it with make build or pass --agent-dir (looked for /opt/bin/reconcile-linux-arm64)", wantErrType: isType[*NoAgentError]},
		{name: "unsupported", machine: "riscv64", find: both, wantErr: `node-3: unsupported architecture "riscv64" (uname -m)`, wantErrType: isType[*UnsupportedArchError]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := dialTestHost(t, "node-3", fakeMachine(t, tt.machine))
			h.binDir = filepath.Join(t.TempDir(), "bin")
			for _, wantRounds := range []int{2, 1} { // install, then only the check
				before := h.runs
				remote, arch, err := h.EnsureAgent(context.Background(), tt.find)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("error %v, want %q", err, tt.wantErr)
					}
					if !tt.wantErrType(err) {
						t.Errorf("error of type %T", err)
					}
					if h.runs-before != 1 {
						t.Errorf("%d round trips before the error, want 1", h.runs-before)
					}
					if _, err := os.Stat(h.binDir); !os.IsNotExist(err) {
						t.Errorf("the host's agent directory was made: %v", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if arch != tt.wantArch || filepath.Base(remote) != remoteOf[tt.wantArch] {
					t.Errorf("got %s for %s, want %s for %s", filepath.Base(remote), arch, remoteOf[tt.wantArch], tt.wantArch)
				}
				if rounds := h.runs - before; rounds != wantRounds {
					t.Errorf("%d round trips, want %d", rounds, wantRounds)
				}
				out, err := h.Run(context.Background(), nil, remote)
				if want := "agent-" + tt.wantArch + "\n"; err != nil || string(out) != want {
					t.Errorf("the copy says %q, %v; want %q", out, err, want)
				}
			}
		})
	}
}

func TestArchOfMachine(t *testing.T) {
	for m, want := range map[string]string{"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "", "": ""} {
		if got, _ := ArchOfMachine(m); got != want {
			t.Errorf("ArchOfMachine(%q) = %q, want %q", m, got, want)
		}
	}
}

func isType[E error](err error) bool {
	var e E
	return errors.As(err, &e)
}

// TestCheckAgentThenEnsure: CheckAgent is the one read-only round trip of
// EnsureAgent, which a run makes while its manifests load
// (reconcile.EarlyDial); EnsureChecked then only copies what the look
// found missing, and an agent the look cannot match (no build for the
// host's architecture) fails it with no round trip of its own.
func TestCheckAgentThenEnsure(t *testing.T) {
	content := "#!/bin/sh\necho agent\n"
	agent := writeFile(t, filepath.Join(t.TempDir(), "reconcile-linux-amd64"), content)
	find := func(string) (string, error) { return agent, nil }
	h := dialTestHost(t, "node-1", fakeMachine(t, "x86_64"))
	h.binDir = filepath.Join(t.TempDir(), "bin")

	rounds := func(f func()) int { before := h.runs; f(); return h.runs - before }
	var chk *AgentCheck
	if n := rounds(func() { chk = h.CheckAgent(context.Background(), find) }); n != 1 || chk.Err() != nil {
		t.Fatalf("look: %d round trips, error %v; want 1, none", n, chk.Err())
	}
	if _, err := os.Stat(h.binDir); !os.IsNotExist(err) {
		t.Fatalf("the look made the agent directory: %v", err)
	}
	for i, want := range []int{1, 0} { // the copy, then nothing: the second look found it
		var err error
		if n := rounds(func() { _, _, err = h.EnsureChecked(context.Background(), chk) }); err != nil || n != want {
			t.Fatalf("ensure %d: %d round trips, error %v; want %d, none", i, n, err, want)
		}
		chk = h.CheckAgent(context.Background(), find)
	}

	bad := h.CheckAgent(context.Background(), func(arch string) (string, error) {
		return "", &NoAgentError{Arch: arch, Looked: []string{"/nowhere"}}
	})
	var err error
	if n := rounds(func() { _, _, err = h.EnsureChecked(context.Background(), bad) }); !isType[*NoAgentError](err) || n != 0 {
		t.Fatalf("ensure after a failed look: %d round trips, error %v; want 0, NoAgentError", n, err)
	}
}
