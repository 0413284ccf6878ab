package net

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// Apply converges this host's networking to c. With dryRun it only reports
// what it would change. It keeps going after a failed step so one broken
// piece does not hold back the rest, and returns every error.
func Apply(ctx context.Context, c NodeConfig, dryRun bool) (*Result, error) {
	res := &Result{Node: c.Node, Changes: []Change{}}
	if err := Validate(c); err != nil {
		return res, err
	}
	var errs []error
	step := func(changes []Change, err error) {
		res.Changes = append(res.Changes, changes...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, sc := range sysctls(c.Bridge) {
		step(syncSysctl(sc[0], sc[1], sc[2], dryRun))
	}
	step(syncRoutes(c, dryRun))
	step(syncHairpin(c.Bridge, dryRun))
	step(syncDNSAddr(c, dryRun))
	// Chains first, then the hooks that jump into them.
	chains := map[string]map[string]bool{}
	for _, tbl := range []struct {
		name   string
		render func(stale []string) []byte
	}{
		{"filter", func(stale []string) []byte { return renderFilter(c, stale) }},
		{"nat", func(stale []string) []byte { return renderNAT(c, stale) }},
	} {
		changes, live, err := syncTable(ctx, tbl.name, tbl.render, dryRun)
		chains[tbl.name] = live
		step(changes, err)
	}
	step(syncHooks(chains, dryRun))
	for _, f := range c.Files {
		step(syncFile(f, dryRun))
	}

	stateFile := c.StateFile
	if stateFile == "" {
		stateFile = DefaultStateFile
	}
	hash := ConfigHash(c)
	prev, err := readApplied(stateFile)
	if err != nil {
		errs = append(errs, err)
	}
	// Hairpin on a new bridge port is upkeep, not drift: ports appear
	// whenever a pod starts or restarts.
	res.Drift = prev.ConfigHash == hash && len(DriftOnly(res.Changes)) > 0
	if !dryRun && len(errs) == 0 && (prev.ConfigHash != hash || prev.Config == nil) {
		want, _ := json.Marshal(appliedState{ConfigHash: hash, Config: &c})
		if err := writeFileAtomic(stateFile, append(want, '\n'), 0o644); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("node %s: %w", c.Node, errors.Join(errs...))
	}
	return res, nil
}

// appliedState is what the agent records after converging: the config
// itself, so any later runner can check the host for drift against it
// without knowing it (a cron job keeps no memory between runs).
type appliedState struct {
	ConfigHash string      `json:"configHash"`
	Config     *NodeConfig `json:"config,omitempty"`
}

func readApplied(path string) (appliedState, error) {
	var st appliedState
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		// A damaged record only costs one full apply: treat it as absent.
		return appliedState{}, nil
	}
	return st, nil
}

// ConfigHash identifies a config; the planner compares it with what a host
// last applied to skip hosts that are already converged.
func ConfigHash(c NodeConfig) string {
	c.StateFile = ""
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
