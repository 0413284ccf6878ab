package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/reconcile"
)

type rolloutHistoryOptions struct {
	ios       *IOStreams
	hosts     hostFlags
	namespace string
}

func newRolloutHistoryCmd(ios *IOStreams) *cobra.Command {
	o := &rolloutHistoryOptions{ios: ios}
	cmd := &cobra.Command{
		Use:   "history deploy/NAME",
		Short: "List the template revisions of a Deployment that the hosts keep",
		Long: `List the pod template revisions of a Deployment recorded on the hosts, oldest
first, as kubectl rollout history lists its ReplicaSets: apply records each
new template with the next revision number and keeps revisionHistoryLimit old
ones (default 10). CHANGE-CAUSE is the kubernetes.io/change-cause annotation;
COMMIT is the desired state that declared the revision (the git commit, or
tree-<hash> for -f). apply --rollback-on-failure goes back to the revision
before the newest.`,
		Example: `  reconcile rollout history deploy/my-nginx --filename examples/nginx`,
		Args:    cobra.ExactArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runRolloutHistory(cmd, o, args[0]) },
	}
	o.hosts.register(cmd)
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "default", "namespace of the Deployment")
	return cmd
}

func runRolloutHistory(cmd *cobra.Command, o *rolloutHistoryOptions, arg string) error {
	ref, err := reconcile.ParsePodRef(o.namespace, arg)
	if err != nil || ref.Deployment == "" {
		return flagErrorf("rollout history needs deploy/NAME, got %q", arg)
	}
	ctx, c, done, err := o.hosts.connected(cmd, o.ios)
	if err != nil {
		return err
	}
	defer done()
	revs, err := reconcile.RolloutHistory(ctx, c.hosts, ref.Namespace, ref.Deployment)
	if err != nil {
		return err
	}
	printRolloutHistory(o.ios.Out, ref.Deployment, revs)
	return nil
}

// printRolloutHistory prints kubectl rollout history's table, with the
// commit that declared each revision.
func printRolloutHistory(w io.Writer, name string, revs []reconcile.TemplateRevision) {
	fmt.Fprintf(w, "deployment.apps/%s\n", name)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "REVISION\tCOMMIT\tCHANGE-CAUSE")
	for _, r := range revs {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", r.Revision, orNone(shortSHA(r.Commit)), orNone(r.ChangeCause))
	}
	tw.Flush()
}
