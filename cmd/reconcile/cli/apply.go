package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/reconcile"
)

type applyOptions struct {
	ios           *IOStreams
	hosts         hostFlags
	lock          lockFlags
	dryRun        bool
	endpointsFile string
	prune         bool
	pruneVolumes  bool
	allowEmpty    bool
	output        string
	rollback      bool
}

func newApplyCmd(ios *IOStreams) *cobra.Command {
	o := &applyOptions{ios: ios}
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Make the hosts match the manifests and wait until every Deployment is available",
		Long: `Make the hosts match the manifests: create, replace and delete pods (rolling
updates follow each Deployment's strategy), converge routes, VIP rules and the
endpoints file on every host, then wait until every Deployment is available,
like kubectl apply followed by kubectl rollout status.`,
		Example: `  reconcile apply --repo ssh://git@example.com/ops/apps.git --ref main --path prod
  reconcile apply -f examples/nginx --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runApply(cmd, o) },
	}
	o.hosts.register(cmd)
	o.lock.register(cmd)
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print the plan and change nothing")
	cmd.Flags().StringVar(&o.endpointsFile, "endpoints-file", "", "also write the endpoints file (v1 EndpointsList JSON) here, locally")
	cmd.Flags().BoolVar(&o.prune, "prune", true, "delete pods of Deployments the manifests no longer declare")
	cmd.Flags().BoolVar(&o.allowEmpty, "allow-empty", false, "let prune delete every workload when the manifests declare no Deployment (otherwise refused)")
	cmd.Flags().BoolVar(&o.pruneVolumes, "prune-volumes", false, "with --prune, also delete the volumes (the data) of PersistentVolumeClaims the manifests no longer declare; otherwise they are kept and reported")
	cmd.Flags().BoolVar(&o.rollback, "rollback-on-failure", false, "when a rollout misses its progress deadline, roll it back to the previous template the hosts recorded (still exit 5)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json (the result); with --dry-run also yaml or markdown (the plan)")
	return cmd
}

func runApply(cmd *cobra.Command, o *applyOptions) error {
	rep, err := newReporter(o.ios, &logs)
	if err != nil {
		return err
	}
	if err := checkPlanFormat(o.output); err != nil {
		return err
	}
	if !o.dryRun && o.output != "text" && o.output != "json" && o.output != "" {
		return flagErrorf("apply -o %s: without --dry-run the output is text or json", o.output)
	}
	if o.pruneVolumes && !o.prune {
		return flagErrorf("--prune-volumes deletes what --prune leaves behind: it needs --prune")
	}
	if err := o.hosts.requireManifests("apply"); err != nil {
		return err
	}
	if err := o.lock.check(); err != nil {
		return err
	}
	ctx, c, done, err := o.hosts.connected(cmd, o.ios)
	if err != nil {
		return err
	}
	defer done()
	if o.dryRun {
		plan, err := reconcile.ComputePlanWith(ctx, c.desired, c.hosts, c.unreachable, reconcile.PlanOptions{Prune: o.prune, PruneVolumes: o.pruneVolumes})
		if err != nil {
			return err
		}
		if o.allowEmpty {
			plan.Refused = ""
		}
		if err := printPlan(o.ios.Out, plan, o.output); err != nil {
			return err
		}
		if len(plan.Unreachable) > 0 {
			return reconcile.Unreachable(plan.Unreachable)
		}
		return nil
	}
	for _, n := range slices.Sorted(maps.Keys(c.unreachable)) {
		fmt.Fprintf(o.ios.ErrOut, "unreachable: %s\n", reconcile.NodeError{Node: n, Error: c.unreachable[n].Error()})
	}
	// A dry run changes nothing, so only a real apply takes the lock.
	ctx, release, err := takeLock(ctx, o.ios, c.hosts, len(c.desired.Cluster.Spec.Nodes), "apply", o.lock.wait, o.lock.ttl)
	if err != nil {
		return err
	}
	defer release()
	res, err := reconcile.Apply(ctx, c.desired, c.hosts, c.unreachable, reconcile.ApplyOptions{
		Prune: o.prune, PruneVolumes: o.pruneVolumes, AllowEmpty: o.allowEmpty, Progress: rep.event, RollbackOnFailure: o.rollback,
	})
	if res != nil {
		if werr := writeEndpointsFile(o.endpointsFile, res.EndpointsFile); werr != nil && err == nil {
			err = werr
		}
		// A run that lost its lock stopped part way: "applied" would mislead.
		if (err == nil || len(res.Deployments) > 0) && !errors.Is(err, reconcile.ErrLockLost) {
			printApplySummary(o.ios, c.desired, res, o.output == "json")
		}
	}
	if errors.Is(err, reconcile.ErrNoHosts) {
		return fmt.Errorf("%w\n%v", err, res.Err())
	}
	if err != nil {
		return err
	}
	return res.Err()
}

func printEvent(ios *IOStreams, e reconcile.Event) {
	detail := ""
	if e.Detail != "" {
		detail = " (" + e.Detail + ")"
	}
	if e.Node == "" { // the whole cluster's, e.g. a rollback
		fmt.Fprintf(ios.ErrOut, "%s %s%s\n", e.Object, pastTense(e.Action), detail)
		return
	}
	fmt.Fprintf(ios.ErrOut, "%s: %s %s%s\n", e.Node, e.Object, pastTense(e.Action), detail)
}

func pastTense(a string) string {
	switch a {
	case "create", "add":
		return "created"
	case "delete":
		return "deleted"
	case "update":
		return "updated"
	case "rollback":
		return "rolling back"
	case "halted":
		return "not ready, rollout halted"
	}
	return a
}

// printApplySummary prints where each Deployment stands, like kubectl
// rollout status, then the failures with the pod's last log lines; with
// -o json the whole result goes to Out for scripts instead.
func printApplySummary(ios *IOStreams, d *reconcile.Desired, res *reconcile.Result, asJSON bool) {
	if asJSON {
		out := struct {
			Commit string `json:"commit,omitempty"`
			*reconcile.Result
		}{d.Commit, res}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintf(ios.Out, "%s\n", b)
		return
	}
	for _, st := range res.Deployments {
		state := "successfully rolled out"
		if !st.Complete {
			state = "NOT available"
		}
		for _, rb := range res.Rollbacks {
			if rb.Namespace == st.Namespace && rb.Deployment == st.Name {
				state = fmt.Sprintf("rolled back to revision %d", rb.Revision)
				if !st.Complete {
					state = fmt.Sprintf("NOT available (rolling back to revision %d)", rb.Revision)
				}
			}
		}
		kind := "deployment.apps"
		if st.Kind == "DaemonSet" {
			kind = "daemonset.apps"
		}
		fmt.Fprintf(ios.Out, "%s/%s %s: %d/%d ready\n", kind, st.Name, state, st.Ready, st.Replicas)
	}
	for _, f := range res.Failures {
		fmt.Fprintf(ios.ErrOut, "deployment %s/%s: pod %s on %s: %s\n", f.Namespace, f.Deployment, f.Pod, f.Node, f.Reason)
		if logs := strings.TrimSpace(f.Logs); logs != "" {
			fmt.Fprintf(ios.ErrOut, "  last log lines of %s:\n", f.Pod)
			for _, l := range strings.Split(logs, "\n") {
				fmt.Fprintf(ios.ErrOut, "    %s\n", l)
			}
		}
	}
	for _, c := range res.Claims {
		fmt.Fprintln(ios.Out, c.String())
	}
	what := fmt.Sprintf("%d %s", res.Changes, plural(res.Changes, "change", "changes"))
	if res.Drift > 0 {
		what += fmt.Sprintf(", %d drift repaired", res.Drift)
	}
	if d.Commit != "" {
		fmt.Fprintf(ios.ErrOut, "applied commit %s: %s\n", shortSHA(d.Commit), what)
	} else {
		fmt.Fprintf(ios.ErrOut, "applied %s: %s\n", d.Dir, what)
	}
}
