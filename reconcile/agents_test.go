package reconcile

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconcile-dev/reconcile/runtime"
)

// fakeELF is the smallest file debug/elf reads as a 64-bit executable for
// machine: a header without program or section headers.
func fakeELF(machine elf.Machine) []byte {
	var b bytes.Buffer
	b.Write([]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	b.Write(make([]byte, 9))
	le := binary.LittleEndian
	binary.Write(&b, le, uint16(elf.ET_EXEC))
	binary.Write(&b, le, uint16(machine))
	binary.Write(&b, le, uint32(elf.EV_CURRENT))
	binary.Write(&b, le, [3]uint64{}) // entry, phoff, shoff
	binary.Write(&b, le, uint32(0))   // flags
	binary.Write(&b, le, [6]uint16{64, 56, 0, 64, 0, 0})
	return b.Bytes()
}

func TestAgentLookup(t *testing.T) {
	root := t.TempDir()
	put := func(rel string, content []byte) string {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, content, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	amd, arm := fakeELF(elf.EM_X86_64), fakeELF(elf.EM_AARCH64)
	self := put("bin/reconcile", amd)
	nextArm := put("bin/reconcile-linux-arm64", arm)
	dirArm := put("agents/reconcile-linux-arm64", arm)
	put("wrong/reconcile-linux-arm64", amd)
	put("script/reconcile-linux-arm64", []byte("#!/bin/sh\n"))
	os.MkdirAll(filepath.Join(root, "home"), 0o755)
	link := filepath.Join(root, "home", "reconcile")
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	armSelf := put("armbin/reconcile", arm)

	tests := []struct {
		name    string
		l       AgentLookup
		arch    string
		want    string
		wantErr string
	}{
		{name: "the CLI is its own agent", l: AgentLookup{Self: self}, arch: "amd64", want: self},
		{name: "next to the CLI", l: AgentLookup{Self: self}, arch: "arm64", want: nextArm},
		{name: "--agent-dir first", l: AgentLookup{Dir: filepath.Join(root, "agents"), Self: self}, arch: "arm64", want: dirArm},
		{name: "--agent-dir without it: the usual places", l: AgentLookup{Dir: filepath.Join(root, "agents"), Self: self}, arch: "amd64", want: self},
		{name: "next to a symlink's target", l: AgentLookup{Self: link}, arch: "arm64", want: nextArm},
		{name: "an arm64 CLI looks next to it for amd64", l: AgentLookup{Self: armSelf}, arch: "amd64",
			wantErr: "no agent for amd64 on this host: build it with make build or pass --agent-dir (looked for " + filepath.Join(root, "armbin", "reconcile-linux-amd64") + ")"},
		{name: "wrong architecture", l: AgentLookup{Dir: filepath.Join(root, "wrong"), Self: self}, arch: "arm64",
			wantErr: "agent for arm64: " + filepath.Join(root, "wrong", "reconcile-linux-arm64") + " is a linux/amd64 executable, not linux/arm64"},
		{name: "not an executable", l: AgentLookup{Dir: filepath.Join(root, "script")}, arch: "arm64", wantErr: "not a linux executable"},
		{name: "nowhere", l: AgentLookup{Dir: filepath.Join(root, "none"), Self: armSelf}, arch: "amd64",
			wantErr: "(looked for " + filepath.Join(root, "none", "reconcile-linux-amd64") + ", " + filepath.Join(root, "armbin", "reconcile-linux-amd64") + ")"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.l.Find(tt.arch)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Find(%s) = %q, %v; want error %q", tt.arch, got, err, tt.wantErr)
				}
				var na *runtime.NoAgentError
				if strings.HasPrefix(tt.wantErr, "no agent") || strings.HasPrefix(tt.wantErr, "(looked") {
					if !errors.As(err, &na) {
						t.Errorf("error %T, want *runtime.NoAgentError", err)
					}
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Find(%s) = %q, %v; want %q", tt.arch, got, err, tt.want)
			}
		})
	}
}
