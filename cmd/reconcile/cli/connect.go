package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/reconcile"
)

// hostFlags are shared by every command that talks to the hosts.
type hostFlags struct {
	source      sourceFlags
	ssh         sshFlags
	agentBinary string
	agentDir    string
	timeout     time.Duration
}

func (f *hostFlags) register(cmd *cobra.Command) {
	f.source.register(cmd)
	f.ssh.register(cmd)
	cmd.Flags().StringVar(&f.agentBinary, "agent-binary", "", "static linux reconcile binary to install on hosts as the node agent (default: this executable)")
	cmd.Flags().MarkHidden("agent-binary")
	cmd.Flags().StringVar(&f.agentDir, "agent-dir", "", "look here first for the node agent of each host architecture, reconcile-linux-amd64 and reconcile-linux-arm64 (default: this executable for its own architecture, then next to it)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 0, "give up after this long (e.g. 10m); 0 means no limit")
	f.source.KnownHostsFile = "" // set from --known-hosts in connect
}

// withTimeout applies --timeout to ctx.
func (f *hostFlags) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if f.timeout > 0 {
		return context.WithTimeout(ctx, f.timeout)
	}
	return context.WithCancel(ctx)
}

// connected is every host command's prologue: --timeout applied to the
// command's context, the desired state loaded and the hosts dialled. done
// closes the connections and releases the context; call it when finished.
func (f *hostFlags) connected(cmd *cobra.Command, ios *IOStreams) (context.Context, *cluster, func(), error) {
	ctx, cancel := f.withTimeout(cmd.Context())
	c, err := connect(ctx, ios, f)
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	return ctx, c, func() { c.Close(); cancel() }, nil
}

// cluster is a loaded desired state with open connections to its hosts.
type cluster struct {
	desired     *reconcile.Desired
	hosts       map[string]reconcile.Host
	unreachable map[string]error
}

func (c *cluster) Close() {
	for _, h := range c.hosts {
		h.Close()
	}
}

// requireManifests refuses --cluster alone for commands that plan or
// change: with no Deployments declared, prune would delete every pod.
func (f *hostFlags) requireManifests(cmd string) error {
	if f.source.Dir == "" && f.source.Repo == "" {
		return flagErrorf("%s needs manifests: -f DIR or --repo URL (--cluster alone declares no Deployments, so every pod would be pruned)", cmd)
	}
	return nil
}

// prepare fills the source options that come from the SSH flags: the same
// known_hosts for git, and the first --ssh-key for git unless --git-ssh-key.
func (f *hostFlags) prepare() {
	f.source.KnownHostsFile = f.ssh.KnownHostsFile
	if f.source.GitSSHKey == "" && len(f.ssh.KeyFiles) > 0 {
		// One key often opens both the hosts and the git server.
		f.source.GitSSHKey = f.ssh.KeyFiles[0]
	}
}

// connectOptions says how to reach hosts and where the agents for their
// architectures are (reconcile.AgentLookup has the order).
func (f *hostFlags) connectOptions() (reconcile.ConnectOptions, error) {
	self := f.agentBinary
	if self == "" {
		var err error
		if self, err = os.Executable(); err != nil {
			return reconcile.ConnectOptions{}, fmt.Errorf("find own binary to install as node agent: %w (pass --agent-dir)", err)
		}
	}
	l := reconcile.AgentLookup{Dir: f.agentDir, Self: self}
	return reconcile.ConnectOptions{SSH: f.ssh.options(), Agents: l.Find}, nil
}

// connectHosts dials the hosts; tests put fakes in its place.
var connectHosts = reconcile.Connect

// startEarlyDial starts the dial that overlaps the load; tests with fake
// hosts turn it off.
var startEarlyDial = reconcile.StartEarlyDial

// connect loads the manifests, then dials every node in parallel. Invalid
// manifests stop here, before anything is installed on or sent to a host.
// The SSH handshakes with the hosts the last load of this source named
// start at once, alongside the load (reconcile.EarlyDial), and are closed
// unused when the load fails or names other hosts.
func connect(ctx context.Context, ios *IOStreams, f *hostFlags) (*cluster, error) {
	if err := f.ssh.check(); err != nil {
		return nil, err
	}
	f.prepare()
	co, coErr := f.connectOptions() // reported after the load, as before
	memoOpts := f.source.options()
	recalled := reconcile.RecallTargets(memoOpts)
	var early *reconcile.EarlyDial
	if coErr == nil {
		early = startEarlyDial(ctx, recalled, co)
	}
	defer early.Close() // what Connect did not adopt
	d, err := loadDesired(ctx, ios, &f.source)
	if err != nil {
		return nil, err
	}
	if err := d.RequireCluster(); err != nil {
		return nil, err
	}
	if coErr != nil {
		return nil, coErr
	}
	co.Early = early
	hosts, unreachable := connectHosts(ctx, d.Cluster, co)
	reconcile.RememberTargets(memoOpts, recalled, reconcile.Targets(d.Cluster))
	return &cluster{desired: d, hosts: hosts, unreachable: unreachable}, nil
}
