package net

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Teardown removes from this host everything Apply made, found by its
// ownership marks rather than by a config: every RECONCILE-* chain in nat
// and filter with the jumps into them from the built-in chains, every
// route of protocol 82, the sysctls Apply changed (back to the values it
// recorded before changing them), and our files: those named in files,
// those the recorded config lists, and the records themselves (the applied
// config, the VIP cache, the sysctl record), so the next run does not
// believe something is deployed. The Docker network is not the agent's:
// the CLI removes it through Docker.
//
// It keeps what a later run needs to be safe and what is not the host's
// state: the agent binaries (/var/lib/reconcile/bin) and the lock
// directory. Rules, routes and files of others are never touched. With
// dryRun it only reports what it would remove.
func Teardown(ctx context.Context, files []string, stateFile string, dryRun bool) (*Result, error) {
	res := &Result{Changes: []Change{}}
	if stateFile == "" {
		stateFile = DefaultStateFile
	}
	var errs []error
	step := func(changes []Change, err error) {
		res.Changes = append(res.Changes, changes...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range append(slices.Clone(files), stateFile) {
		if err := checkOwnedPath(p); err != nil {
			return res, fmt.Errorf("teardown: %w", err)
		}
	}
	// Rules first: traffic stops matching our VIPs before their routes go.
	step(teardownIPTables(ctx, dryRun))
	step(teardownRoutes(dryRun))
	step(syncDNSAddr(NodeConfig{}, dryRun)) // the cluster DNS address on lo
	step(restoreSysctls(stateFile, dryRun))

	prev, err := readApplied(stateFile)
	if err != nil {
		errs = append(errs, err)
	}
	var remove []string
	for _, p := range files {
		dir, all := strings.CutSuffix(p, "/*")
		if !all {
			remove = append(remove, p)
			continue
		}
		names, err := ownedDirFiles(dir)
		if err != nil {
			errs = append(errs, err)
		}
		remove = append(remove, names...)
	}
	if prev.Config != nil {
		for _, f := range prev.Config.Files {
			remove = append(remove, f.Path)
		}
	}
	// The records last: a teardown that failed half way is found again by
	// the next run, which starts from the marks anyway.
	if len(errs) == 0 {
		remove = append(remove, vipCacheFile(stateFile), sysctlRecordFile(stateFile), stateFile)
	}
	seen := map[string]bool{}
	for _, p := range remove {
		if seen[p] {
			continue
		}
		seen[p] = true
		step(removeOwnedFile(p, dryRun))
	}
	if !dryRun {
		for _, p := range remove {
			removeEmptyDir(filepath.Dir(p))
		}
	}
	return res, errors.Join(errs...)
}

// isOurs says whether a chain name is one of ours.
func isOurs(chain string) bool { return strings.HasPrefix(chain, chainPrefix) }

var builtinChains = map[string]bool{"PREROUTING": true, "INPUT": true, "FORWARD": true, "OUTPUT": true, "POSTROUTING": true}

// jumpTarget returns the chain a saved rule jumps or goes to.
func jumpTarget(rule string) string {
	f := strings.Fields(rule)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "-j" || f[i] == "-g" {
			return f[i+1]
		}
	}
	return ""
}

// teardownPlan is what one table's teardown removes: the hook rules (as
// iptables-save printed them) and our chains.
type teardownPlan struct {
	hooks  []string
	chains []string
}

// planTableTeardown reads one table of an iptables-save output. A rule of
// a built-in chain that jumps into ours is a hook of ours, wherever it
// sits (a hook moved by a firewall script is still ours). A rule of
// someone else's chain that jumps into ours is theirs: it is left alone,
// and since our chain cannot be deleted while it is referenced, the
// table's teardown is refused, naming the rule.
func planTableTeardown(saved []byte, tableName string) (teardownPlan, error) {
	var p teardownPlan
	var foreign []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(saved))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "*"):
			in = line[1:] == tableName
		case !in:
		case strings.HasPrefix(line, ":"):
			ch, _, _ := strings.Cut(line[1:], " ")
			if isOurs(ch) {
				p.chains = append(p.chains, ch)
			}
		case strings.HasPrefix(line, "-A "):
			ch, _, _ := strings.Cut(line[3:], " ")
			if isOurs(ch) || !isOurs(jumpTarget(line)) {
				continue
			}
			if builtinChains[ch] {
				p.hooks = append(p.hooks, line)
			} else {
				foreign = append(foreign, line)
			}
		}
	}
	sort.Strings(p.chains)
	if len(foreign) > 0 {
		return p, fmt.Errorf("table %s: rules reconcile did not make jump into its chains (%s); they are left alone, and so are its chains of that table: remove those rules on the host, then run again",
			tableName, strings.Join(foreign, "; "))
	}
	return p, nil
}

// renderTeardown is one restore transaction for a table: flush our chains
// (declaring them under --noflush does), delete the hooks, delete the
// chains. Nothing else is declared, so nothing else is touched.
func renderTeardown(tableName string, p teardownPlan) []byte {
	var b strings.Builder
	b.WriteString("*" + tableName + "\n")
	for _, ch := range p.chains {
		b.WriteString(":" + ch + " - [0:0]\n")
	}
	for _, h := range p.hooks {
		b.WriteString("-D " + strings.TrimPrefix(h, "-A ") + "\n")
	}
	for _, ch := range p.chains {
		b.WriteString("-X " + ch + "\n")
	}
	b.WriteString("COMMIT\n")
	return []byte(b.String())
}

func teardownIPTables(ctx context.Context, dryRun bool) ([]Change, error) {
	saved, err := iptablesSave(ctx)
	if err != nil {
		return nil, err
	}
	var changes []Change
	var errs []error
	for _, tbl := range []string{"filter", "nat"} {
		p, err := planTableTeardown(saved, tbl)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(p.hooks) == 0 && len(p.chains) == 0 {
			continue
		}
		var ch []Change
		for _, h := range p.hooks {
			chain, rest, _ := strings.Cut(strings.TrimPrefix(h, "-A "), " ")
			ch = append(ch, Change{Kind: KindHook, Action: ActionDelete, Target: tbl + "/" + chain, Detail: rest})
		}
		for _, c := range p.chains {
			ch = append(ch, Change{Kind: KindChain, Action: ActionDelete, Target: tbl + "/" + c})
		}
		if !dryRun {
			if err := iptablesRestore(ctx, renderTeardown(tbl, p)); err != nil {
				errs = append(errs, fmt.Errorf("table %s: %w", tbl, err))
				continue
			}
		}
		changes = append(changes, ch...)
	}
	return changes, errors.Join(errs...)
}

// teardownRoutes deletes every route of ours (protocol 82) in the main
// table; routes of others, with whatever destination, stay.
func teardownRoutes(dryRun bool) ([]Change, error) {
	live, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN, Protocol: RouteProtocol},
		netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Dst.String() < live[j].Dst.String() })
	var changes []Change
	var errs []error
	for _, r := range live {
		if r.Protocol != RouteProtocol || r.Dst == nil {
			continue
		}
		changes = append(changes, Change{Kind: KindRoute, Action: ActionDelete, Target: r.Dst.String(), Detail: describe(r)})
		if dryRun {
			continue
		}
		if err := netlink.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("delete route %s: %w", r.Dst, err))
		}
	}
	return changes, errors.Join(errs...)
}

// sysctlRecordFile holds, per sysctl Apply changed, the value it found
// before its first change, so a teardown can put it back. It lives under
// /run, a tmpfs, because the sysctls do too: both are gone at reboot, so
// the record never outlives the values it describes, and wiping
// /var/lib/reconcile (a fault the suite tries) does not lose it.
// A config with a state file of its own (tests) keeps the record next to
// it instead.
func sysctlRecordFile(stateFile string) string {
	if stateFile == DefaultStateFile {
		return RunDir + "/sysctl-previous.json"
	}
	return filepath.Join(filepath.Dir(stateFile), "sysctl-previous.json")
}

// sysctlRecord maps a sysctl's /proc/sys path to its value before reconcile.
type sysctlRecord map[string]string

func readSysctlRecord(stateFile string) sysctlRecord {
	rec := sysctlRecord{}
	if b, _, err := readOwnedFile(sysctlRecordFile(stateFile)); err == nil {
		_ = json.Unmarshal(b, &rec) // damaged: nothing to restore, said in the README
	}
	return rec
}

// recordSysctl notes a sysctl's value before Apply first changes it. A
// value recorded already is kept: it is the one from before reconcile.
func recordSysctl(stateFile, path, value string) error {
	rec := readSysctlRecord(stateFile)
	if _, ok := rec[path]; ok {
		return nil
	}
	rec[path] = value
	b, _ := json.Marshal(rec)
	return writeOwnedFile(sysctlRecordFile(stateFile), append(b, '\n'), 0o644)
}

// restoreSysctls puts back the values recorded before Apply changed them.
// A sysctl with no record (set by a reconcile older than the record, or
// already so before reconcile) is left as it is; one whose interface is
// gone (the pod bridge) has nothing to restore.
func restoreSysctls(stateFile string, dryRun bool) ([]Change, error) {
	rec := readSysctlRecord(stateFile)
	var changes []Change
	var errs []error
	for _, path := range slices.Sorted(maps.Keys(rec)) {
		if !strings.HasPrefix(path, "/proc/sys/net/") || filepath.Clean(path) != path {
			continue // not one we set: never write a path a file named
		}
		cur, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("read sysctl %s: %w", path, err))
			continue
		}
		was := rec[path]
		if strings.TrimSpace(string(cur)) == was {
			continue
		}
		name := strings.ReplaceAll(strings.TrimPrefix(path, "/proc/sys/"), "/", ".")
		changes = append(changes, Change{Kind: KindSysctl, Action: ActionUpdate, Target: name,
			Detail: strings.TrimSpace(string(cur)) + " -> " + was + " (as before reconcile)"})
		if dryRun {
			continue
		}
		if err := os.WriteFile(path, []byte(was+"\n"), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("restore sysctl %s=%s: %w", name, was, err))
		}
	}
	return changes, errors.Join(errs...)
}

// removeOwnedFile unlinks p, which must be below the directories
// reconcile owns and reached without symlinks; a missing file is no change.
func removeOwnedFile(p string, dryRun bool) ([]Change, error) {
	dir, err := openOwnedDir(p, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("remove %w", err)
	}
	defer dir.Close()
	var st unix.Stat_t
	err = unix.Fstatat(int(dir.Fd()), filepath.Base(p), &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("remove %s: %w", p, err)
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		return nil, fmt.Errorf("remove %s: is a directory; refused", p)
	}
	ch := []Change{{Kind: KindFile, Action: ActionDelete, Target: p}}
	if dryRun {
		return ch, nil
	}
	// unlinkat removes a symlink itself, never its target.
	if err := unix.Unlinkat(int(dir.Fd()), filepath.Base(p), 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("remove %s: %w", p, err)
	}
	return ch, nil
}

// removeEmptyDir removes d when it is empty and strictly below an owned
// directory (the state folder, not /var/lib/reconcile itself); anything
// else, including a folder with files of others, stays.
func removeEmptyDir(d string) {
	if checkOwnedPath(d) != nil {
		return
	}
	parent, err := openOwnedDir(d, false)
	if err != nil {
		return
	}
	defer parent.Close()
	_ = unix.Unlinkat(int(parent.Fd()), filepath.Base(d), unix.AT_REMOVEDIR) // ENOTEMPTY: kept
}

// ownedDirFiles lists the regular files directly in dir, one of our own
// directories reached without a symlink: for files whose names reconcile
// no longer knows (the pods' resolv.conf files of earlier configs).
func ownedDirFiles(dir string) ([]string, error) {
	d, err := openOwnedDir(dir+"/x", false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}
