package cli

import (
	"github.com/spf13/cobra"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/reconcile"
	"github.com/reconcile-dev/reconcile/runtime/probe"
)

// newNodeCmd is the node agent: reconcile runs its own binary on each host
// over SSH with a JSON request on stdin. Hidden: people do not run it.
func newNodeCmd(ios *IOStreams) *cobra.Command {
	node := &cobra.Command{Use: "node", Short: "Node agent (run by reconcile on hosts over SSH)", Hidden: true}
	node.AddCommand(
		&cobra.Command{
			Use:   "apply",
			Short: "Converge this host's routes, VIP rules and files to the JSON config on stdin",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return rnet.Agent(cmd.Context(), ios.In, ios.Out)
			},
		},
		&cobra.Command{
			Use:   "status",
			Short: "Print this host's pods, our files and network drift (reads only)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return reconcile.NodeStatusAgent(cmd.Context(), ios.In, ios.Out)
			},
		},
		&cobra.Command{
			Use:   "read",
			Short: "Print the files named in the JSON request on stdin",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return rnet.ReadAgent(cmd.Context(), ios.In, ios.Out)
			},
		},
		newNodeLockCmd(ios),
	)
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
