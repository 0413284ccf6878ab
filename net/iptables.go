package net

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"slices"
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
// changes, the chains to (re)write, and the stale per-service chains to
// delete.
func diffTable(tableName string, want, live liveTable) ([]Change, []string, []string) {
	var write []string
	var out []Change
	var names []string
	for ch := range want.chains {
		names = append(names, ch)
	}
	sort.Strings(names)
	for _, ch := range names {
		switch {
		case !live.chains[ch]:
			write = append(write, ch)
			out = append(out, Change{Kind: KindChain, Action: ActionAdd, Target: tableName + "/" + ch,
				Detail: fmt.Sprintf("%d rules", len(want.rules[ch]))})
		case !equalLines(want.rules[ch], live.rules[ch]):
			write = append(write, ch)
			out = append(out, Change{Kind: KindRules, Action: ActionUpdate, Target: tableName + "/" + ch,
				Detail: fmt.Sprintf("%d rules, was %d", len(want.rules[ch]), len(live.rules[ch]))})
		}
	}
	var stale []string
	for ch := range live.chains {
		if want.chains[ch] || !perServiceChain(ch) {
			continue
		}
		stale = append(stale, ch)
	}
	sort.Strings(stale)
	for _, ch := range stale {
		out = append(out, Change{Kind: KindChain, Action: ActionDelete, Target: tableName + "/" + ch})
	}
	return out, write, stale
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

// iptablesSave reads every table at once: with iptables-nft, reading one
// table costs nearly as much as reading all of them (it fetches the whole
// ruleset either way), so one call serves nat, filter and the hooks.
func iptablesSave(ctx context.Context) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "iptables-save")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("iptables-save: %w: %s", err, strings.TrimSpace(stderr.String()))
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

// syncTable brings one table's chains of ours to want, given the live ones
// (as iptables-save printed them this pass, or as trusted, see
// syncIPTables).
//
// Partial sync (what kube-proxy does since 1.26, KEP-3453): the restore
// declares and rewrites only the chains whose rules differ from the live
// ones, plus the stale ones it deletes; every other chain of ours is left
// as it is. A one-Service change rewrites that Service's chains and the
// dispatch chain, not 30k rules. Since every such pass compares all our
// chains with the live table, a chain edited or flushed by someone else is
// rewritten by the same pass: there is no separate full resync to wait
// for. If the partial restore fails, the whole table of ours is restored
// once (kube-proxy's fallback too).
// It returns the changes and how many restores succeeded.
func syncTable(ctx context.Context, tableName string, live liveTable, want *table, dryRun bool) ([]Change, int, error) {
	wantLive := want.live()
	changes, write, stale := diffTable(tableName, wantLive, live)
	if len(changes) == 0 || dryRun {
		return changes, 0, nil
	}
	if err := iptablesRestore(ctx, renderPartial(tableName, wantLive, live, write, stale)); err != nil {
		if err := iptablesRestore(ctx, want.render(tableName, stale)); err != nil {
			return nil, 0, fmt.Errorf("table %s: %w", tableName, err)
		}
		return changes, 2, nil // if the failed one committed nothing, the count is off and nothing is recorded
	}
	return changes, 1, nil
}

// renderPartial is the restore input that rewrites only the chains in
// write and deletes stale. Declaring a chain under --noflush flushes it;
// chains not declared keep their rules. A long chain that lives already
// and differs in a few rules (the dispatch chain, 2,000 rules, when one
// Service changes) is not declared but edited in place, rule by number
// (lineEdits): rewriting it costs iptables-restore about twice as much.
func renderPartial(tableName string, want, live liveTable, write, stale []string) []byte {
	var t table
	var edits []string
	var rewrite []string
	for _, ch := range write {
		if e := lineEdits(ch, live.rules[ch], want.rules[ch]); live.chains[ch] && e != nil {
			edits = append(edits, e...)
			continue
		}
		rewrite = append(rewrite, ch)
		t.chain(ch)
	}
	for _, ch := range rewrite {
		t.rules = append(t.rules, want.rules[ch]...)
	}
	// After every declaration (a rule may jump to a new chain), before the
	// stale chains go (a rule may jump to one until it is edited away).
	t.rules = append(t.rules, edits...)
	return t.render(tableName, stale)
}

// editMinRules is the length from which a chain is edited in place rather
// than rewritten; maxEdits the most rules such an edit changes.
var editMinRules, maxEdits = 64, 16

// lineEdits are the iptables-restore commands that turn chain ch's rules
// from old into want in place: -R for rules replaced one for one, else
// -D and -I for the differing run between the common head and tail. nil
// when ch is short, or more than maxEdits rules differ: then it is
// rewritten whole.
func lineEdits(ch string, old, want []string) []string {
	if len(old) < editMinRules || len(want) < editMinRules {
		return nil
	}
	head := 0
	for head < len(old) && head < len(want) && old[head] == want[head] {
		head++
	}
	tail := 0
	for tail < len(old)-head && tail < len(want)-head && old[len(old)-1-tail] == want[len(want)-1-tail] {
		tail++
	}
	gone, added := old[head:len(old)-tail], want[head:len(want)-tail]
	if len(gone) > maxEdits || len(added) > maxEdits || len(gone)+len(added) == 0 {
		return nil
	}
	prefix := "-A " + ch + " "
	spec := func(line string) string { return strings.TrimPrefix(line, prefix) }
	var out []string
	if len(gone) == len(added) {
		for i, r := range added {
			out = append(out, fmt.Sprintf("-R %s %d %s", ch, head+i+1, spec(r)))
		}
		return out
	}
	// Deleting from the last keeps the numbers of the others.
	for i := len(gone) - 1; i >= 0; i-- {
		out = append(out, fmt.Sprintf("-D %s %d", ch, head+i+1))
	}
	for i, r := range added {
		if tail == 0 {
			out = append(out, r) // at the end: appended (-A)
			continue
		}
		out = append(out, fmt.Sprintf("-I %s %d %s", ch, head+i+1, spec(r)))
	}
	return out
}

// dockerUserJump is the rule dockerd keeps at the top of FORWARD. Docker
// documents DOCKER-USER as the place for the admin's own filtering, run
// before anything else: our FORWARD hooks (which ACCEPT pod traffic) go
// after it, or they would bypass the admin's firewall. dockerd moves its
// jump back to the top whenever it starts, which keeps ours below it.
const dockerUserJump = "-A FORWARD -j DOCKER-USER"

// builtinRules returns, per built-in chain, its rules in order as
// iptables-save prints them.
func builtinRules(saved []byte, tableName string, chains map[string]bool) map[string][]string {
	out := map[string][]string{}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(saved))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "*"):
			in = line[1:] == tableName
		case in && strings.HasPrefix(line, "-A "):
			ch, _, _ := strings.Cut(line[3:], " ")
			if chains[ch] {
				out[ch] = append(out[ch], line)
			}
		}
	}
	return out
}

// hooksInPlace says whether each of our hooks of one built-in chain is
// there once, in order, and below the anchor (the DOCKER-USER jump in
// FORWARD; nothing elsewhere). Rules of others between them are fine.
func hooksInPlace(rules, ours []string, anchored bool) (missing []bool, ok bool) {
	anchor := -1
	if anchored {
		anchor = slices.Index(rules, dockerUserJump)
	}
	ok = true
	last := anchor
	missing = make([]bool, len(ours))
	for i, h := range ours {
		n, at := 0, -1
		for j, r := range rules {
			if r == h {
				n++
				if at < 0 {
					at = j
				}
			}
		}
		missing[i] = n == 0
		if n != 1 || at < last {
			ok = false
		}
		last = at
	}
	return missing, ok
}

// syncHooks makes sure the jumps from the built-in chains into ours exist,
// in order, and in FORWARD below the jump to DOCKER-USER. saved holds each
// table as iptables-save printed it this pass.
func syncHooks(saved map[string][]byte, dryRun bool) ([]Change, error) {
	type chainHooks struct {
		table, chain string
		hooks        []hook
	}
	var order []*chainHooks
	byKey := map[string]*chainHooks{}
	for _, h := range hooks() {
		key := h.table + "/" + h.chain
		if byKey[key] == nil {
			byKey[key] = &chainHooks{table: h.table, chain: h.chain}
			order = append(order, byKey[key])
		}
		byKey[key].hooks = append(byKey[key].hooks, h)
	}
	builtins := map[string]map[string][]string{}
	for tbl, text := range saved {
		names := map[string]bool{}
		for _, ch := range order {
			if ch.table == tbl {
				names[ch.chain] = true
			}
		}
		builtins[tbl] = builtinRules(text, tbl, names)
	}

	var ipt *iptables.IPTables
	var changes []Change
	for _, ch := range order {
		key := ch.table + "/" + ch.chain
		if saved[ch.table] == nil {
			continue // iptables-save failed: that error is reported already
		}
		lines := make([]string, len(ch.hooks))
		for i, h := range ch.hooks {
			lines[i] = h.line()
		}
		rules := builtins[ch.table][ch.chain]
		anchored := key == "filter/FORWARD"
		missing, ok := hooksInPlace(rules, lines, anchored)
		if ok {
			continue
		}
		for i, h := range ch.hooks {
			c := Change{Kind: KindHook, Action: ActionAdd, Target: key, Detail: strings.Join(h.spec, " ")}
			if !missing[i] {
				c.Action, c.Detail = ActionUpdate, strings.Join(h.spec, " ")+" (moved"+map[bool]string{true: " below the jump to DOCKER-USER", false: ""}[anchored]+")"
			}
			changes = append(changes, c)
		}
		if dryRun {
			continue
		}
		if ipt == nil {
			var err error
			if ipt, err = iptables.New(iptables.IPFamily(iptables.ProtocolIPv4), iptables.Timeout(10)); err != nil {
				return changes, fmt.Errorf("iptables: %w (is the iptables package installed?)", err)
			}
		}
		// Take ours out, then put them back in one block right below the
		// anchor (or at the top).
		for i, h := range ch.hooks {
			for _, r := range rules {
				if r != lines[i] {
					continue
				}
				if err := ipt.Delete(ch.table, ch.chain, h.spec...); err != nil {
					return changes, fmt.Errorf("move hook %s: %w", h, err)
				}
			}
		}
		pos := 1
		if anchored {
			now, err := ipt.List(ch.table, ch.chain)
			if err != nil {
				return changes, fmt.Errorf("list %s: %w", key, err)
			}
			// List starts with the policy line (-P), so an index in it is
			// the rule number of the rule after it.
			if i := slices.Index(now, dockerUserJump); i > 0 {
				pos = i + 1
			}
		}
		for i, h := range ch.hooks {
			if err := ipt.Insert(ch.table, ch.chain, pos+i, h.spec...); err != nil {
				return changes, fmt.Errorf("insert hook %s: %w", h, err)
			}
		}
	}
	return changes, nil
}
