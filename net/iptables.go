package net

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

// liveTable is the part of one iptables table that we own, as iptables-save
// prints it.
type liveTable struct {
	chains map[string]bool
	rules  map[string][]string // chain -> "-A ..." lines in order
}

func parseTable(text []byte, name string) liveTable {
	lt := liveTable{chains: map[string]bool{}, rules: map[string][]string{}}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "*"):
			in = line[1:] == name
		case !in:
		case strings.HasPrefix(line, ":"+chainPrefix):
			ch, _, _ := strings.Cut(line[1:], " ")
			lt.chains[ch] = true
		case strings.HasPrefix(line, "-A "+chainPrefix):
			ch, _, _ := strings.Cut(line[3:], " ")
			lt.rules[ch] = append(lt.rules[ch], line)
		}
	}
	return lt
}

// diffTable compares what we render with what is live, and returns the
// changes plus the stale per-service chains to delete.
func diffTable(tableName string, want, live liveTable) ([]Change, []string) {
	var changes []Change
	var names []string
	for ch := range want.chains {
		names = append(names, ch)
	}
	sort.Strings(names)
	for _, ch := range names {
		switch {
		case !live.chains[ch]:
			changes = append(changes, Change{Kind: KindChain, Action: ActionAdd, Target: tableName + "/" + ch,
				Detail: fmt.Sprintf("%d rules", len(want.rules[ch]))})
		case !equalLines(want.rules[ch], live.rules[ch]):
			changes = append(changes, Change{Kind: KindRules, Action: ActionUpdate, Target: tableName + "/" + ch,
				Detail: fmt.Sprintf("%d rules, was %d", len(want.rules[ch]), len(live.rules[ch]))})
		}
	}
	var stale []string
	for ch := range live.chains {
		if want.chains[ch] || !(strings.HasPrefix(ch, svcChainPrefix) || strings.HasPrefix(ch, sepChainPrefix)) {
			continue
		}
		stale = append(stale, ch)
	}
	sort.Strings(stale)
	for _, ch := range stale {
		changes = append(changes, Change{Kind: KindChain, Action: ActionDelete, Target: tableName + "/" + ch})
	}
	return changes, stale
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func iptablesSave(ctx context.Context, tableName string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "iptables-save", "-t", tableName)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("iptables-save -t %s: %w: %s", tableName, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func iptablesRestore(ctx context.Context, input []byte) error {
	var stderr bytes.Buffer
	// --noflush: only the chains we declare are flushed; Docker's and
	// everyone else's stay as they are. One call is one transaction.
	cmd := exec.CommandContext(ctx, "iptables-restore", "--noflush", "-w", "10")
	cmd.Stdin = bytes.NewReader(input)
	cmd.Stderr = &stderr
	if out, err := cmd.Output(); err != nil {
		return fmt.Errorf("iptables-restore --noflush: %w: %s%s", err, strings.TrimSpace(stderr.String()), strings.TrimSpace(string(out)))
	}
	return nil
}

// syncTable brings one table's chains of ours to the rendering.
// It returns the chains of ours that exist afterwards.
func syncTable(ctx context.Context, tableName string, render func(stale []string) []byte, dryRun bool) ([]Change, map[string]bool, error) {
	saved, err := iptablesSave(ctx, tableName)
	if err != nil {
		return nil, nil, err
	}
	live := parseTable(saved, tableName)
	want := parseTable(render(nil), tableName)
	changes, stale := diffTable(tableName, want, live)
	if len(changes) == 0 || dryRun {
		return changes, live.chains, nil
	}
	if err := iptablesRestore(ctx, render(stale)); err != nil {
		return nil, live.chains, fmt.Errorf("table %s: %w", tableName, err)
	}
	return changes, want.chains, nil
}

// syncHooks makes sure the jumps from the built-in chains into ours exist.
// chains holds, per table, our chains that exist: a jump to a missing chain
// cannot be checked (iptables -C fails), and in a dry run it is missing anyway.
func syncHooks(chains map[string]map[string]bool, dryRun bool) ([]Change, error) {
	ipt, err := iptables.New(iptables.IPFamily(iptables.ProtocolIPv4), iptables.Timeout(10))
	if err != nil {
		return nil, fmt.Errorf("iptables: %w (is the iptables package installed?)", err)
	}
	var changes []Change
	pos := map[string]int{}
	for _, h := range hooks() {
		key := h.table + "/" + h.chain
		pos[key]++
		ok := false
		if chains[h.table][h.spec[len(h.spec)-1]] {
			ok, err = ipt.Exists(h.table, h.chain, h.spec...)
			if err != nil {
				return changes, fmt.Errorf("check hook %s: %w", h, err)
			}
		}
		if ok {
			continue
		}
		changes = append(changes, Change{Kind: KindHook, Action: ActionAdd, Target: key, Detail: strings.Join(h.spec, " ")})
		if dryRun {
			continue
		}
		if err := ipt.Insert(h.table, h.chain, pos[key], h.spec...); err != nil {
			return changes, fmt.Errorf("insert hook %s: %w", h, err)
		}
	}
	return changes, nil
}
