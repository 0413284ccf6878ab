package net

import "context"

// Applied is what a host last converged to and how far it has drifted.
type Applied struct {
	ConfigHash string   `json:"configHash,omitempty"` // empty when the host was never applied
	Drift      []Change `json:"drift,omitempty"`      // what a re-apply of that config would change
	// Config is that config, for the agent's own checks (the cluster DNS
	// server); not sent.
	Config *NodeConfig `json:"-"`
}

// Status dry-runs the config this host last applied: any change it would
// make is drift (a rule deleted, a route changed, a file edited by hand).
// It changes nothing on the host; it may record that it verified the VIP
// rules (a cache next to the state file, see vipcache.go), so the next idle
// pass need not read 30k rules again.
func Status(ctx context.Context, stateFile string) (*Applied, error) {
	if stateFile == "" {
		stateFile = DefaultStateFile
	}
	st, err := readApplied(stateFile)
	if err != nil || st.Config == nil {
		return &Applied{}, err
	}
	res, err := apply(ctx, *st.Config, true, &st)
	if err != nil {
		return nil, err
	}
	return &Applied{ConfigHash: st.ConfigHash, Drift: res.Changes, Config: st.Config}, nil
}
