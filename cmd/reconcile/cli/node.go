package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/reconcile"
	"github.com/reconcile-dev/reconcile/runtime/probe"
)

// agentVerbs are the node agent's verbs: each reads one JSON request on
// stdin and writes one JSON answer on stdout.
var agentVerbs = []struct {
	use, short string
	run        func(ctx context.Context, in io.Reader, out io.Writer) error
}{
	{"apply", "Converge this host's routes, VIP rules and files to the JSON config on stdin", rnet.Agent},
	{"status", "Print this host's pods, our files and network drift (reads only)", reconcile.NodeStatusAgent},
	{"read", "Print the files named in the JSON request on stdin", rnet.ReadAgent},
	{"lock", "Acquire, renew or release this host's run lock per the JSON request on stdin", rnet.LockAgent},
}

// newNodeCmd is the node agent: reconcile runs its own binary on each host
// over SSH with a JSON request on stdin. Hidden: people do not run it.
func newNodeCmd(ios *IOStreams) *cobra.Command {
	node := &cobra.Command{Use: "node", Short: "Node agent (run by reconcile on hosts over SSH)", Hidden: true}
	for _, v := range agentVerbs {
		node.AddCommand(&cobra.Command{
			Use:   v.use,
			Short: v.short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return v.run(cmd.Context(), ios.In, ios.Out)
			},
		})
	}
	return node
}

// newProbeCmd is the readiness check Docker runs inside pods.
func newProbeCmd(ios *IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:                "probe",
		Short:              "Readiness check run inside pods as Docker's HEALTHCHECK",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			if code := probe.Main(args, ios.Out, ios.ErrOut); code != 0 {
				return silent(code)
			}
			return nil
		},
	}
}
