package cli

import (
	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/reconcile"
)

func newRolloutCmd(ios *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Watch a Deployment's rollout, list its template revisions, roll it back",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newRolloutStatusCmd(ios))
	cmd.AddCommand(newRolloutHistoryCmd(ios))
	cmd.AddCommand(newRolloutUndoCmd(ios))
	return cmd
}

type rolloutStatusOptions struct {
	ios       *IOStreams
	hosts     hostFlags
	namespace string
}

func newRolloutStatusCmd(ios *IOStreams) *cobra.Command {
	o := &rolloutStatusOptions{ios: ios}
	cmd := &cobra.Command{
		Use:   "status deploy/NAME",
		Short: "Wait until a Deployment's pods all run its declared template and are ready",
		Long: `Watch the pods of a Deployment on the hosts until every replica runs the
template the manifests declare and is ready, printing kubectl's messages as
they change. It changes nothing. It fails (exit code 5) when the counts do not
move for the Deployment's progressDeadlineSeconds, or when --timeout ends.`,
		Example: `  reconcile rollout status deploy/my-nginx --filename examples/nginx --timeout 5m`,
		Args:    cobra.ExactArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runRolloutStatus(cmd, o, args[0]) },
	}
	o.hosts.register(cmd)
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "default", "namespace of the Deployment")
	return cmd
}

func runRolloutStatus(cmd *cobra.Command, o *rolloutStatusOptions, arg string) error {
	ref, err := reconcile.ParsePodRef(o.namespace, arg)
	if err != nil || ref.Deployment == "" {
		return flagErrorf("rollout status needs deploy/NAME, got %q", arg)
	}
	ctx, c, done, err := o.hosts.connected(cmd, o.ios)
	if err != nil {
		return err
	}
	defer done()
	return reconcile.WaitRollout(ctx, c.desired, c.hosts, ref.Namespace, ref.Deployment, o.ios.Out, reconcile.WaitRolloutOptions{})
}
