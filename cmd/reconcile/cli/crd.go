package cli

import (
	"github.com/reconcile-dev/reconcile/resources"
	"github.com/spf13/cobra"
)

// newCrdCmd prints the Cluster kind's CustomResourceDefinition: applied to
// a real Kubernetes cluster first, it lets kubectl apply the whole tree,
// Cluster inventory included (see the README's "Moving to Kubernetes").
func newCrdCmd(ios *IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "crd",
		Short: "Print a CustomResourceDefinition for the Cluster kind, for kubectl apply on a Kubernetes cluster",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := ios.Out.Write(resources.ClusterCRD())
			return err
		},
	}
}
