package cli

import (
	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/reconcile"
)

type diffOptions struct {
	ios    *IOStreams
	hosts  hostFlags
	output string
	prune  bool
	// pruneVolumes shows what apply --prune-volumes would delete.
	pruneVolumes bool
}

func newDiffCmd(ios *IOStreams) *cobra.Command {
	o := &diffOptions{ios: ios}
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show what apply would change on the hosts",
		Long: `Show what apply would change on the hosts, grouped by host.
Exit status: 0 when the hosts match the manifests, 1 when changes are pending,
2 or more on error (like kubectl diff).`,
		Example: `  reconcile diff --repo ssh://git@example.com/ops/apps.git --path prod
  reconcile diff -f examples/nginx -o markdown > plan.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDiff(cmd, o) },
	}
	o.hosts.register(cmd)
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text, json, yaml or markdown")
	cmd.Flags().BoolVar(&o.prune, "prune", true, "show deletion of pods the manifests no longer declare")
	cmd.Flags().BoolVar(&o.pruneVolumes, "prune-volumes", false, "show deletion of the volumes of PersistentVolumeClaims the manifests no longer declare, as apply --prune-volumes does")
	return cmd
}

func runDiff(cmd *cobra.Command, o *diffOptions) error {
	if err := checkPlanFormat(o.output); err != nil {
		return err
	}
	if err := o.hosts.requireManifests("diff"); err != nil {
		return err
	}
	ctx, c, done, err := o.hosts.connected(cmd, o.ios)
	if err != nil {
		return err
	}
	defer done()
	plan, err := reconcile.ComputePlanWith(ctx, c.desired, c.hosts, c.unreachable, reconcile.PlanOptions{Prune: o.prune, PruneVolumes: o.pruneVolumes})
	if err != nil {
		return err
	}
	if err := printPlan(o.ios.Out, plan, o.output); err != nil {
		return err
	}
	switch {
	case len(plan.Unreachable) > 0:
		return reconcile.Unreachable(plan.Unreachable)
	case plan.HasChanges():
		return silent(ExitChanges)
	}
	return nil
}
