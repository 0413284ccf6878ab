package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

type validateOptions struct {
	ios    *IOStreams
	source sourceFlags
}

func newValidateCmd(ios *IOStreams) *cobra.Command {
	o := &validateOptions{ios: ios}
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the manifests without touching any host",
		Example: `  reconcile validate -f examples/nginx
  reconcile validate --repo ssh://git@example.com/ops/apps.git --ref main --path prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runValidate(cmd, o) },
	}
	o.source.registerStandalone(cmd)
	return cmd
}

func runValidate(cmd *cobra.Command, o *validateOptions) error {
	d, err := loadDesired(cmd.Context(), o.ios, &o.source)
	if err != nil {
		return err
	}
	summary := fmt.Sprintf("%d %s, %d %s", len(d.Deployments), plural(len(d.Deployments), "Deployment", "Deployments"),
		len(d.Services), plural(len(d.Services), "Service", "Services"))
	if d.Cluster != nil {
		summary += fmt.Sprintf(", Cluster %s (%d %s)", d.Cluster.Name, len(d.Cluster.Spec.Nodes), plural(len(d.Cluster.Spec.Nodes), "node", "nodes"))
	}
	if d.Commit != "" {
		summary += " at commit " + d.Commit
	}
	fmt.Fprintf(o.ios.Out, "valid: %s\n", summary)
	return nil
}
