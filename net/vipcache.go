package net

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// The cheap idle pass (issue 14). Reading our rules back costs one
// iptables-save of the whole ruleset: about a second at 30k rules, most of
// it iptables fetching and printing what the kernel holds. The nf_tables
// kernel keeps a ruleset generation per network namespace that every
// committed change bumps, whoever makes it (iptables-nft, nft, dockerd);
// iptables-nft uses it itself to tell whether its cache is still current.
//
// So a pass that read the rules, found ours exactly as config C renders them
// and changed nothing records (C's hash, the generation it read before the
// read). A later pass for the same C that finds the same generation knows no
// rule changed since, and skips the read. Any edit, flush or restart of a
// firewall script bumps the generation, so the next pass does the full
// check and repairs it: drift is still found within one pass. A pass that
// changed rules records nothing (another change could slip in between our
// write and the read of the generation); the pass after it verifies once.
// The boot id and the namespace's inode are part of the key, since the
// generation starts again at boot; so is the agent build, since a new
// version may render the same config differently and must rewrite it. With the legacy iptables backend there is
// no generation and every pass does the full check.

// vipVerified is the record of the last pass that verified our rules.
type vipVerified struct {
	ConfigHash string `json:"configHash"`
	Generation uint32 `json:"generation"`
	BootID     string `json:"bootID"`
	Netns      uint64 `json:"netns"`
	// Agent identifies the build that rendered the rules: another build may
	// render the same config differently, so its record proves nothing.
	Agent string `json:"agent"`
}

// vipCacheFile sits next to the state file; it is only a cache: deleting it
// costs one full check.
func vipCacheFile(stateFile string) string {
	return filepath.Join(filepath.Dir(stateFile), "vip-verified.json")
}

// currentVIPKey returns the key of the ruleset as it is now, or false when
// there is none to trust (not nf_tables, or the kernel would not say).
func currentVIPKey(ctx context.Context, configHash string) (vipVerified, bool) {
	if !nftBackend(ctx) {
		return vipVerified{}, false
	}
	gen, err := rulesetGeneration()
	if err != nil {
		return vipVerified{}, false
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return vipVerified{}, false
	}
	var st unix.Stat_t
	// The calling thread's namespace, which is the one netlink just asked.
	if err := unix.Stat(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), &st); err != nil {
		return vipVerified{}, false
	}
	agent, err := agentBuild()
	if err != nil {
		return vipVerified{}, false
	}
	return vipVerified{ConfigHash: configHash, Generation: gen, BootID: strings.TrimSpace(string(boot)), Netns: st.Ino, Agent: agent}, true
}

// agentBuild names this binary cheaply: on a host the agent is installed as
// reconcile-<sha12>, named by its content; size and mtime cover a binary
// replaced in place (a test binary, a hand-copied build).
func agentBuild() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	st, err := os.Stat(exe)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %d %d", exe, st.Size(), st.ModTime().UnixNano()), nil
}

func readVIPVerified(stateFile string) vipVerified {
	var v vipVerified
	b, _, err := readOwnedFile(vipCacheFile(stateFile))
	if err == nil {
		_ = json.Unmarshal(b, &v) // damaged: a full check, then rewritten
	}
	return v
}

func writeVIPVerified(stateFile string, v vipVerified) error {
	b, _ := json.Marshal(v)
	return writeOwnedFile(vipCacheFile(stateFile), append(b, '\n'), 0o644)
}

// nftBackend says whether iptables on this host is iptables-nft, whose rules
// live in nf_tables and so bump its generation. The binary's link target
// says it without starting a process (xtables-nft-multi or
// xtables-legacy-multi on Debian, RHEL and Alpine); otherwise iptables -V.
func nftBackend(ctx context.Context) bool {
	if p, err := exec.LookPath("iptables"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			switch base := filepath.Base(real); {
			case strings.Contains(base, "nft"):
				return true
			case strings.Contains(base, "legacy"):
				return false
			}
		}
	}
	out, err := exec.CommandContext(ctx, "iptables", "-V").Output()
	return err == nil && bytes.Contains(out, []byte("nf_tables"))
}

// rulesetGeneration asks nf_tables for its ruleset generation
// (NFT_MSG_GETGEN), in the calling thread's network namespace.
func rulesetGeneration() (uint32, error) {
	req := nl.NewNetlinkRequest(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_GETGEN, 0)
	req.AddData(&nl.Nfgenmsg{NfgenFamily: unix.AF_UNSPEC, Version: nl.NFNETLINK_V0})
	msgs, err := req.Execute(unix.NETLINK_NETFILTER, unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_NEWGEN)
	if err != nil {
		return 0, fmt.Errorf("nf_tables generation: %w", err)
	}
	if len(msgs) != 1 || len(msgs[0]) < nl.SizeofNfgenmsg {
		return 0, fmt.Errorf("nf_tables generation: unexpected answer")
	}
	attrs, err := nl.ParseRouteAttr(msgs[0][nl.SizeofNfgenmsg:])
	if err != nil {
		return 0, fmt.Errorf("nf_tables generation: %w", err)
	}
	for _, a := range attrs {
		if a.Attr.Type == unix.NFTA_GEN_ID && len(a.Value) == 4 {
			return binary.BigEndian.Uint32(a.Value), nil
		}
	}
	return 0, fmt.Errorf("nf_tables generation: no NFTA_GEN_ID in the answer")
}
