package cli

import (
	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/runtime/agent"
	"github.com/reconcile-dev/reconcile/runtime/probe"
)

// newNodeCmd is the node agent: reconcile runs its own binary on each host
// over SSH with a JSON request on stdin. Hidden: people do not run it.
func newNodeCmd(ios *IOStreams) *cobra.Command {
	node := &cobra.Command{Use: "node", Short: "Node agent (run by reconcile on hosts over SSH)", Hidden: true}
	for _, v := range agent.Verbs {
		node.AddCommand(&cobra.Command{
			Use:   v.Name,
			Short: v.Short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return v.Run(cmd.Context(), ios.In, ios.Out)
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
