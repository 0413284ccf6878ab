package cli

import (
	"github.com/spf13/cobra"

	rnet "github.com/reconcile-dev/reconcile/net"
)

// newNodeLockCmd takes, renews or releases this host's run lock, as asked
// by the JSON request on stdin.
func newNodeLockCmd(ios *IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "lock",
		Short: "Acquire, renew or release this host's run lock per the JSON request on stdin",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return rnet.LockAgent(cmd.Context(), ios.In, ios.Out)
		},
	}
}
