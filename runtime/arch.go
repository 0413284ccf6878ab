package runtime

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Archs are the architectures the node agent is built for, as GOARCH
// names, in the order hosts are matched against them.
var Archs = []string{"amd64", "arm64"}

// machines maps what `uname -m` prints to GOARCH. Linux says aarch64;
// some kernels and the BSD-derived tools say arm64.
var machines = map[string]string{
	"x86_64":  "amd64",
	"amd64":   "amd64",
	"aarch64": "arm64",
	"arm64":   "arm64",
}

// ArchOfMachine maps a `uname -m` answer to GOARCH.
func ArchOfMachine(machine string) (string, bool) {
	a, ok := machines[machine]
	return a, ok
}

// machinesOf lists the `uname -m` answers of arch, sorted (for the
// inspect script's case patterns).
func machinesOf(arch string) []string {
	var ms []string
	for m, a := range machines {
		if a == arch {
			ms = append(ms, m)
		}
	}
	slices.Sort(ms)
	return ms
}

// AgentFinder returns the local path of the agent binary for a GOARCH, or
// an error saying why there is none (a *NoAgentError when none was found).
type AgentFinder func(arch string) (string, error)

// NoAgentError: the host's architecture has no agent binary here.
type NoAgentError struct {
	Host   string
	Arch   string
	Looked []string // where the lookup looked, in order
}

func (e *NoAgentError) Error() string {
	host := e.Host
	if host == "" {
		host = "this host"
	}
	msg := fmt.Sprintf("no agent for %s on %s: build it with make build or pass --agent-dir", e.Arch, host)
	if len(e.Looked) > 0 {
		msg += " (looked for " + strings.Join(e.Looked, ", ") + ")"
	}
	return msg
}

// UnsupportedArchError: the host is neither amd64 nor arm64.
type UnsupportedArchError struct {
	Host    string
	Machine string
}

func (e *UnsupportedArchError) Error() string {
	return fmt.Sprintf("%s: unsupported architecture %q (uname -m): the node agent runs on x86_64 (amd64) and aarch64 (arm64) hosts", e.Host, e.Machine)
}

// agentCandidate is one local agent binary the inspect script may ask
// about: for every host whose `uname -m` is one of machines.
type agentCandidate struct {
	arch     string   // GOARCH, or "" for any
	machines []string // case patterns; "*" for any
	local    string
	sum      string // hex SHA-256 of local
	err      error  // why there is no binary for arch (local is "")
}

// candidates resolves and hashes the agent for every architecture, so one
// round trip can both read the host's architecture and check its copy.
// Hashing is cached per process (fileSHA256), so a fleet costs one hash
// per architecture, not per host.
func candidates(find AgentFinder) []agentCandidate {
	var cs []agentCandidate
	for _, a := range Archs {
		c := agentCandidate{arch: a, machines: machinesOf(a)}
		if c.local, c.err = find(a); c.err == nil {
			if c.sum, c.err = fileSHA256(c.local); c.err != nil {
				c.err = fmt.Errorf("agent for %s: %w", a, c.err)
				c.local = ""
			}
		}
		cs = append(cs, c)
	}
	return cs
}

// pick is the candidate for what the host's uname -m printed.
func pick(cs []agentCandidate, host, machine string) (agentCandidate, error) {
	for _, c := range cs {
		if slices.Contains(c.machines, "*") {
			return c, nil
		}
	}
	arch, ok := ArchOfMachine(machine)
	if !ok {
		return agentCandidate{}, &UnsupportedArchError{Host: host, Machine: machine}
	}
	for _, c := range cs {
		if c.arch != arch {
			continue
		}
		if c.err != nil {
			var na *NoAgentError
			if errors.As(c.err, &na) && na.Host == "" {
				cp := *na
				cp.Host = host
				return agentCandidate{}, &cp
			}
			return agentCandidate{}, fmt.Errorf("%s: %w", host, c.err)
		}
		return c, nil
	}
	return agentCandidate{}, &NoAgentError{Host: host, Arch: arch}
}
