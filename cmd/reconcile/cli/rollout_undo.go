package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/reconcile"
)

type rolloutUndoOptions struct {
	ios        *IOStreams
	hosts      hostFlags
	lock       lockFlags
	namespace  string
	toRevision int
}

func newRolloutUndoCmd(ios *IOStreams) *cobra.Command {
	o := &rolloutUndoOptions{ios: ios}
	cmd := &cobra.Command{
		Use:   "undo deploy/NAME [--to-revision N]",
		Short: "Roll a Deployment back to an earlier template revision the hosts keep",
		Long: `Roll a Deployment out with the pod template of an earlier revision (see
rollout history): by default the one before the newest, or --to-revision N.
It is a rolling update like apply's, waits until the pods are ready, and takes
the hosts' lock like apply. The manifests still declare their own template:
the next apply or sync rolls that out again, so fix the repository too.`,
		Example: `  reconcile rollout undo deploy/my-nginx --filename examples/nginx
  reconcile rollout undo deploy/my-nginx --to-revision 3 --filename examples/nginx`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runRolloutUndo(cmd, o, args[0]) },
	}
	o.hosts.register(cmd)
	o.lock.register(cmd)
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "default", "namespace of the Deployment")
	cmd.Flags().IntVar(&o.toRevision, "to-revision", 0, "the revision to go back to; 0 is the one before the newest")
	return cmd
}

func runRolloutUndo(cmd *cobra.Command, o *rolloutUndoOptions, arg string) error {
	ref, err := reconcile.ParsePodRef(o.namespace, arg)
	if err != nil || ref.Deployment == "" {
		return flagErrorf("rollout undo needs deploy/NAME, got %q", arg)
	}
	if o.toRevision < 0 {
		return flagErrorf("--to-revision %d: must be 0 (the previous revision) or a revision number", o.toRevision)
	}
	if err := o.hosts.requireManifests("rollout undo"); err != nil {
		return err
	}
	if err := o.lock.check(); err != nil {
		return err
	}
	rep, err := newReporter(o.ios, &logs)
	if err != nil {
		return err
	}
	ctx, c, done, err := o.hosts.connected(cmd, o.ios)
	if err != nil {
		return err
	}
	defer done()
	ctx, release, err := takeLock(ctx, o.ios, c.hosts, len(c.desired.Cluster.Spec.Nodes), "rollout undo", o.lock.wait, o.lock.ttl)
	if err != nil {
		return err
	}
	defer release()
	// Read under the lock: another run may have recorded a revision since.
	revs, err := reconcile.RolloutHistory(ctx, c.hosts, ref.Namespace, ref.Deployment)
	if err != nil {
		return err
	}
	to, err := reconcile.UndoTarget(revs, ref.Namespace, ref.Deployment, o.toRevision)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.ios.ErrOut, "deployment.apps/%s: rolling back to revision %d (pod-template-hash %s)\n", ref.Deployment, to.Revision, to.Hash)
	res, err := reconcile.Undo(ctx, c.desired, c.hosts, c.unreachable, ref.Namespace, ref.Deployment, to, reconcile.ApplyOptions{Progress: rep.event, Prune: false})
	if err != nil {
		return err
	}
	if err := res.Err(); err != nil {
		return err
	}
	// kubectl's word for it.
	fmt.Fprintf(o.ios.Out, "deployment.apps/%s rolled back\n", ref.Deployment)
	fmt.Fprintf(o.ios.ErrOut, "the manifests still declare their own template of deployment %s/%s: the next apply or sync rolls it out again\n", ref.Namespace, ref.Deployment)
	return nil
}
