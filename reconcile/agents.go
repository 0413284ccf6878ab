package reconcile

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"

	"github.com/reconcile-dev/reconcile/runtime"
)

// AgentLookup finds the node agent for each host architecture: the
// reconcile binary built for linux/ARCH. `make build` puts
// bin/reconcile-linux-arm64 (and -amd64 when the CLI itself is not
// linux/amd64) next to bin/reconcile. The order, first found wins:
//
//  1. Dir/reconcile-linux-ARCH (--agent-dir, $RECONCILE_AGENT_DIR)
//  2. Self, when it is a linux/ARCH binary: the CLI is its own agent
//  3. reconcile-linux-ARCH next to Self (symlinks resolved first, so a
//     link in ~/bin to a checkout's bin/reconcile finds its agents)
type AgentLookup struct {
	Dir  string
	Self string // this executable, or --agent-binary in its place
}

// AgentName is the file name of the agent for arch.
func AgentName(arch string) string { return "reconcile-linux-" + arch }

// elfMachines are the ELF machine types of the agent architectures.
var elfMachines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// Find returns the agent for arch, or a *runtime.NoAgentError naming the
// places looked at. A file found that is not a linux/ARCH executable is an
// error, not skipped: a wrong file where the agent should be is a mistake
// to fix, not to paper over with the next place.
func (l AgentLookup) Find(arch string) (string, error) {
	var looked []string
	try := func(p string) (string, bool, error) {
		looked = append(looked, p)
		fi, err := os.Stat(p)
		if err != nil {
			return "", false, nil
		}
		if !fi.Mode().IsRegular() {
			return "", false, fmt.Errorf("agent for %s: %s is not a regular file", arch, p)
		}
		if err := checkAgent(p, arch); err != nil {
			return "", false, fmt.Errorf("agent for %s: %w", arch, err)
		}
		return p, true, nil
	}
	if l.Dir != "" {
		if p, ok, err := try(filepath.Join(l.Dir, AgentName(arch))); ok || err != nil {
			return p, err
		}
	}
	if l.Self != "" {
		if a, err := agentArch(l.Self); err == nil && a == arch {
			return l.Self, nil
		}
		self := l.Self
		if r, err := filepath.EvalSymlinks(self); err == nil {
			self = r
		}
		if p, ok, err := try(filepath.Join(filepath.Dir(self), AgentName(arch))); ok || err != nil {
			return p, err
		}
	}
	return "", &runtime.NoAgentError{Arch: arch, Looked: looked}
}

// agentArch is the GOARCH of a linux executable, from its ELF header.
func agentArch(p string) (string, error) {
	f, err := elf.Open(p)
	if err != nil {
		return "", fmt.Errorf("%s: not a linux executable: %w", p, err)
	}
	defer f.Close()
	for a, m := range elfMachines {
		if f.Machine == m && f.Class == elf.ELFCLASS64 && (f.Type == elf.ET_EXEC || f.Type == elf.ET_DYN) {
			return a, nil
		}
	}
	return "", fmt.Errorf("%s: not a linux/amd64 or linux/arm64 executable (ELF %s %s %s)", p, f.Class, f.Machine, f.Type)
}

func checkAgent(p, arch string) error {
	a, err := agentArch(p)
	if err != nil {
		return err
	}
	if a != arch {
		return fmt.Errorf("%s is a linux/%s executable, not linux/%s", p, a, arch)
	}
	return nil
}
