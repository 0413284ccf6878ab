package cli

import (
	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/resources"
)

type renderOptions struct {
	ios    *IOStreams
	source sourceFlags
}

func newRenderCmd(ios *IOStreams) *cobra.Command {
	o := &renderOptions{ios: ios}
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Print the normalized desired state as YAML, defaults filled in",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := loadDesired(cmd.Context(), o.ios, &o.source)
			if err != nil {
				return err
			}
			out, err := resources.Render(d.Set)
			if err != nil {
				return err
			}
			_, err = o.ios.Out.Write(out)
			return err
		},
	}
	o.source.registerStandalone(cmd)
	return cmd
}
