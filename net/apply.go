package net

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strings"

	"github.com/reconcile-dev/reconcile/resources"
)

// Apply converges this host's networking to c. With dryRun it only reports
// what it would change. It keeps going after a failed step so one broken
// piece does not hold back the rest, and returns every error.
func Apply(ctx context.Context, c NodeConfig, dryRun bool) (*Result, error) {
	return apply(ctx, c, dryRun, nil)
}

// apply is Apply; prev, when not nil, is the state file's record already
// read by the caller (Status), and c is the config it records, its
// Services still undecoded: the hash is the recorded one, and the
// Services are decoded only if the VIP rules must be compared.
func apply(ctx context.Context, c NodeConfig, dryRun bool, prev *appliedState) (*Result, error) {
	res := &Result{Node: c.Node, Changes: []Change{}}
	if err := Validate(c); err != nil {
		return res, err
	}
	files, warnings, err := withHostSearches(c.Files)
	if err != nil {
		return res, err
	}
	res.Warnings = warnings
	files = withChunksResolved(files)
	if !dryRun {
		// A write must not stop half way for want of a file's content:
		// ask for it before changing anything.
		if need := needContent(files); len(need) > 0 {
			res.NeedContent, res.HeldChunks = need, HeldChunkIDs(need)
			return res, nil
		}
	}
	var errs []error
	step := func(changes []Change, err error) {
		res.Changes = append(res.Changes, changes...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	stateFile := c.StateFile
	if stateFile == "" {
		stateFile = DefaultStateFile
	}
	// The value before our first change is recorded before the change, so
	// a teardown can put it back (Teardown).
	record := func(path, was string) error { return recordSysctl(stateFile, path, was) }
	for _, sc := range sysctls(c.Bridge) {
		step(syncSysctl(sc[0], sc[1], sc[2], dryRun, record))
	}
	step(syncRoutes(c, dryRun))
	step(syncHairpin(c.Bridge, dryRun))
	step(syncDNSAddr(c, dryRun))
	var hash string
	recorded := prev != nil
	if recorded {
		hash = prev.ConfigHash
	} else {
		hash = ConfigHash(c)
		st, err := readApplied(stateFile)
		if err != nil {
			errs = append(errs, err)
		}
		if err := st.withServices(); err != nil {
			st = appliedState{} // a damaged record only costs one full apply
		}
		prev = &st
	}
	step(syncIPTables(ctx, c, hash, stateFile, prev, recorded, dryRun))
	for _, f := range files {
		step(syncFile(f, dryRun))
	}
	step(syncVolumes(c, dryRun))
	hpChanges, hpProblems := syncHostPaths(c, dryRun)
	step(hpChanges, nil)
	res.HostPathProblems = hpProblems

	// Hairpin on a new bridge port is upkeep, not drift: ports appear
	// whenever a pod starts or restarts.
	res.Drift = prev.ConfigHash == hash && len(DriftOnly(res.Changes)) > 0
	if !dryRun && len(errs) == 0 && (prev.ConfigHash != hash || prev.Config == nil) {
		// The record holds the files by digest: Status compares them so,
		// and a 2 MB endpoints file need not be stored and read twice.
		rec := c
		rec.Files = make([]File, len(c.Files))
		for i, f := range c.Files {
			if f.HostSearchAt == 0 { // Status merges those again: they keep their content
				f = f.Withheld()
			}
			rec.Files[i] = f
		}
		rec.Volumes = withoutContent(c.Volumes)
		// The Services last, after the config, so a reader that needs
		// none of them stops before them (readApplied).
		svcs := rec.Services
		rec.Services = nil
		want, _ := json.Marshal(appliedRecord{ConfigHash: hash, Config: &rec, Services: svcs})
		if err := writeOwnedFile(stateFile, append(want, '\n'), 0o644); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// No "node X:" here: the agent's caller names the node.
		return res, errors.Join(errs...)
	}
	return res, nil
}

// syncIPTables converges our chains in nat and filter, then the hooks
// that jump into them (see vipcache.go for when it reads nothing back).
// With recorded, c is prev's config, its Services decoded here if needed.
func syncIPTables(ctx context.Context, c NodeConfig, hash, stateFile string, prev *appliedState, recorded, dryRun bool) ([]Change, error) {
	key, keyOK := currentVIPKey(ctx, hash)
	verified := readVIPVerified(stateFile)
	unchanged := keyOK && verified.Generation == key.Generation && verified.BootID == key.BootID && verified.Netns == key.Netns && verified.Agent == key.Agent
	if unchanged && verified.ConfigHash == hash {
		return nil, nil // the idle pass: verified for this config, nothing changed since
	}
	if err := prev.withServices(); err != nil {
		return nil, err
	}
	if recorded {
		c.Services = prev.Config.Services
	}
	trusted := unchanged && prev.Config != nil && verified.ConfigHash == prev.ConfigHash
	var saved []byte
	live := map[string]liveTable{}
	var sel selection // the Services whose own chains are compared; nil: all
	if trusted {
		// No rule changed since a pass verified that ours are what the
		// recorded config renders: that rendering is the live state, as
		// kube-proxy trusts its own last sync, without reading 30k rules.
		// Of the Services' own chains, only those of the changed ones can
		// differ (changed.go).
		sel = changedServices(*prev.Config, c)
		ports := servicePortsOf(*prev.Config, sel)
		live["filter"], live["nat"] = filterTable(*prev.Config, ports).live(), natTable(*prev.Config, ports).live()
	} else {
		var err error
		if saved, err = iptablesSave(ctx); err != nil {
			return nil, err
		}
		live["filter"], live["nat"] = parseTable(saved, "filter"), parseTable(saved, "nat")
	}
	var changes []Change
	var errs []error
	restores := 0
	ports := servicePortsOf(c, sel)
	// Chains first, then the hooks that jump into them.
	for _, tbl := range []struct {
		name string
		want *table
	}{
		{"filter", filterTable(c, ports)},
		{"nat", natTable(c, ports)},
	} {
		ch, n, err := syncTable(ctx, tbl.name, live[tbl.name], tbl.want, dryRun)
		changes = append(changes, ch...)
		restores += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	hookChanges := 0
	if !trusted { // hooks are in place in a verified, unchanged ruleset
		ch, err := syncHooks(map[string][]byte{"filter": saved, "nat": saved}, dryRun)
		changes = append(changes, ch...)
		hookChanges = len(ch)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if !keyOK || len(errs) > 0 {
		return changes, errors.Join(errs...)
	}
	switch {
	case len(changes) == 0:
		// A pass that found nothing to change vouches for the generation
		// it read before its read. A dry run (the status verb) records it
		// too: it is a cache, not state.
	case dryRun || hookChanges > 0:
		return changes, nil
	default:
		// Our restores are one commit each: if the generation moved by
		// exactly that many, nobody else changed a rule in between and
		// the rules are this config's rendering.
		gen, err := rulesetGeneration()
		if err != nil || gen != key.Generation+uint32(restores) {
			return changes, nil
		}
		key.Generation = gen
	}
	if err := writeVIPVerified(stateFile, key); err != nil {
		errs = append(errs, err)
	}
	return changes, errors.Join(errs...)
}

// appliedState is what the agent records after converging: the config
// itself, so any later runner can check the host for drift against it
// without knowing it (a cron job keeps no memory between runs).
type appliedState struct {
	ConfigHash string      `json:"configHash"`
	Config     *NodeConfig `json:"config,omitempty"`
	// services are Config's Services as recorded, until withServices
	// decodes them: an idle pass whose rules are verified needs none, and
	// decoding 2,000 of them was most of its time.
	services json.RawMessage
	path     string
}

// appliedRecord is appliedState as the file holds it: the config's
// Services after the config, last. Records written before hold them in
// the config; readApplied reads both.
type appliedRecord struct {
	ConfigHash string      `json:"configHash"`
	Config     *NodeConfig `json:"config,omitempty"`
	Services   []Service   `json:"services,omitempty"`
}

// readApplied reads the record, its Services left undecoded and, in a
// record that holds them last, unread (see appliedState.withServices).
func readApplied(path string) (appliedState, error) {
	var st appliedState
	b, _, err := readOwnedFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	st, ok := parseApplied(b)
	if !ok {
		// A damaged record only costs one full apply: treat it as absent.
		return appliedState{}, nil
	}
	st.path = path
	return st, nil
}

// parseApplied reads a record's fields in order and stops at its Services,
// keeping their text for withServices.
func parseApplied(b []byte) (appliedState, bool) {
	var st appliedState
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return st, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return st, false
		}
		switch t {
		case "configHash":
			err = dec.Decode(&st.ConfigHash)
		case "config":
			var c struct {
				NodeConfig
				Services json.RawMessage `json:"services,omitempty"` // a record of before: the shallower field, NodeConfig's stays empty
			}
			if err = dec.Decode(&c); err == nil {
				st.Config, st.services = &c.NodeConfig, c.Services
			}
		case "services":
			// The last field: the rest is its value and the closing brace.
			rest := bytes.TrimSpace(b[dec.InputOffset():])
			rest, colon := bytes.CutPrefix(rest, []byte(":"))
			rest, brace := bytes.CutSuffix(rest, []byte("}"))
			if !colon || !brace || st.Config == nil {
				return st, false
			}
			st.services = bytes.TrimSpace(rest)
			return st, true
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return st, false
		}
	}
	return st, true
}

// withServices decodes the recorded Services into Config, once.
func (st *appliedState) withServices() error {
	if st.Config == nil || len(st.services) == 0 {
		return nil
	}
	var svcs []Service
	if err := json.Unmarshal(st.services, &svcs); err != nil {
		return fmt.Errorf("%s: services: %w", st.path, err)
	}
	st.Config.Services, st.services = svcs, nil
	return nil
}

// ConfigHash identifies a config; the planner compares it with what a host
// last applied to skip hosts that are already converged.
//
// Files count by digest (File.SHA256), so a config hashes the same whether
// their content travels with it or not.
func ConfigHash(c NodeConfig) string {
	c.StateFile = ""
	files := make([]File, len(c.Files))
	for i, f := range c.Files {
		files[i] = f.Withheld()
	}
	c.Files = files
	c.Volumes = volumeDigests(c.Volumes)
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Validate checks c before anything on the host is touched.
func Validate(c NodeConfig) error {
	var errs []error
	for _, f := range []struct{ name, v string }{{"podCIDR", c.PodCIDR}, {"clusterPodCIDR", c.ClusterPodCIDR}, {"serviceCIDR", c.ServiceCIDR}} {
		if f.v == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f.v); err != nil || p.Masked() != p || !p.Addr().Is4() {
			errs = append(errs, fmt.Errorf("%s %q: want an IPv4 network like 198.18.0.0/16", f.name, f.v))
		}
	}
	if err := validateClusterDNS(c.ClusterDNS); err != nil {
		errs = append(errs, err)
	}
	if err := validateVolumes(c); err != nil {
		errs = append(errs, err)
	}
	if err := validateHostPaths(c); err != nil {
		errs = append(errs, err)
	}
	// Paths are checked again, with symlinks, when they are opened; this
	// refuses a bad one before anything on the host is touched.
	if c.StateFile != "" {
		if err := checkOwnedPath(c.StateFile); err != nil {
			errs = append(errs, fmt.Errorf("stateFile: %w", err))
		}
	}
	for _, f := range c.Files {
		if err := checkOwnedPath(f.Path); err != nil {
			errs = append(errs, fmt.Errorf("file: %w", err))
		}
		if f.HostSearchAt != 0 && (f.withheld() || f.HostSearchAt < 0 || f.HostSearchAt > resources.MaxDNSSearchPaths) {
			errs = append(errs, fmt.Errorf("file %s: a resolv.conf taking the host's search domains needs its content and 1 to %d cluster entries, not %d", f.Path, resources.MaxDNSSearchPaths, f.HostSearchAt))
		}
		if f.Content != nil && f.SHA256 != "" && (f.Size != len(f.Content) || f.SHA256 != contentDigest(f.Content)) {
			errs = append(errs, fmt.Errorf("file %s: content does not match its sha256 %s and size %d", f.Path, f.SHA256, f.Size))
		}
		if err := validateChunks(f); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range c.Services {
		id := s.Namespace + "/" + s.Name
		if a, err := netip.ParseAddr(s.ClusterIP); err != nil || !a.Is4() {
			errs = append(errs, fmt.Errorf("service %s: clusterIP %q: want an IPv4 address", id, s.ClusterIP))
		}
		for _, p := range s.Ports {
			switch strings.ToUpper(p.Protocol) {
			case "", "TCP", "UDP":
			default:
				errs = append(errs, fmt.Errorf("service %s port %d: protocol %q not supported (TCP or UDP)", id, p.Port, p.Protocol))
			}
			if p.Port < 1 || p.Port > 65535 || p.NodePort < 0 || p.NodePort > 65535 {
				errs = append(errs, fmt.Errorf("service %s: port %d / nodePort %d out of range", id, p.Port, p.NodePort))
			}
			for _, ep := range p.Endpoints {
				if a, err := netip.ParseAddr(ep.IP); err != nil || !a.Is4() || ep.Port < 1 || ep.Port > 65535 {
					errs = append(errs, fmt.Errorf("service %s port %d: bad endpoint %s:%d", id, p.Port, ep.IP, ep.Port))
				}
			}
		}
		errs = append(errs, validateLoadBalancer(id, s)...)
	}
	return errors.Join(errs...)
}

// DriftOnly drops the changes that are upkeep rather than drift: hairpin
// mode on bridge ports that pods added since the last pass.
func DriftOnly(changes []Change) []Change {
	var out []Change
	for _, c := range changes {
		if c.Kind != KindHairpin {
			out = append(out, c)
		}
	}
	return out
}
