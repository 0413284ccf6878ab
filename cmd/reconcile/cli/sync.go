package cli

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/reconcile"
	"github.com/reconcile-dev/reconcile/resources"
)

type syncOptions struct {
	ios           *IOStreams
	hosts         hostFlags
	once          bool
	interval      time.Duration
	prune         bool
	allowEmpty    bool
	metricsFile   string
	endpointsFile string
	lock          lockFlags
}

func newSyncCmd(ios *IOStreams) *cobra.Command {
	o := &syncOptions{ios: ios}
	cmd := &cobra.Command{
		Use:   "sync (--once | --interval DURATION)",
		Short: "Converge the hosts to git once, or continuously as a daemon",
		Long: `Fetch the repository and converge the hosts, like apply, repairing drift
(a pod removed by hand, a rule deleted, a route changed, an endpoints file
edited). A pass that finds nothing changed costs one call per host and
writes nothing. With --interval it runs until stopped, and also watches
each host's Docker events so a dying pod leaves every endpoints file and
VIP within seconds, and its replacement starts without waiting.`,
		Example: `  reconcile sync --once --repo ssh://git@example.com/ops/apps.git --path prod
  reconcile sync --interval 30s --repo ... --metrics-file /var/lib/node_exporter/textfile_collector/reconcile.prom`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSync(cmd, o) },
	}
	o.hosts.register(cmd)
	cmd.Flags().BoolVar(&o.once, "once", false, "run one pass and exit (for cron and CI)")
	cmd.Flags().DurationVar(&o.interval, "interval", 0, "run a pass this often until stopped (e.g. 30s)")
	cmd.Flags().BoolVar(&o.prune, "prune", true, "delete pods of Deployments the manifests no longer declare")
	cmd.Flags().BoolVar(&o.allowEmpty, "allow-empty", false, "let prune delete every workload when the manifests declare no Deployment (otherwise the pass fails)")
	o.lock.register(cmd)
	cmd.Flags().StringVar(&o.endpointsFile, "endpoints-file", "", "also write the endpoints file (v1 EndpointsList JSON) here, locally, after every pass")
	cmd.Flags().StringVar(&o.metricsFile, "metrics-file", "", "write Prometheus metrics here after every pass (node_exporter textfile collector)")
	return cmd
}

func runSync(cmd *cobra.Command, o *syncOptions) error {
	if o.once == (o.interval > 0) {
		return flagErrorf("use exactly one of --once and --interval DURATION")
	}
	if err := o.hosts.requireManifests("sync"); err != nil {
		return err
	}
	if err := o.lock.check(); err != nil {
		return err
	}
	if err := o.hosts.ssh.check(); err != nil {
		return err
	}
	rep, err := newReporter(o.ios, &logs)
	if err != nil {
		return err
	}
	o.hosts.prepare()
	co, err := o.hosts.connectOptions()
	if err != nil {
		return err
	}
	src := o.hosts.source.options()
	if rep.progress && !rep.json {
		src.Log = o.ios.ErrOut
	}
	// A single pass dials the hosts the last load named while it loads, as
	// apply and diff do (connect). Not the daemon: after a failed first
	// load it would hold idle connections until the next pass.
	var early *reconcile.EarlyDial
	recalled := reconcile.RecallTargets(src)
	if o.once {
		early = startEarlyDial(cmd.Context(), recalled, co)
		defer early.Close() // what Connect did not adopt
	}
	var remember sync.Once
	s := reconcile.NewSyncer(reconcile.SyncOptions{
		Source: src,
		Connect: func(ctx context.Context, c *resources.Cluster) (map[string]reconcile.Host, map[string]error) {
			co := co
			co.Early = early // handed over once, to the first dial of the same targets
			hosts, errs := connectHosts(ctx, c, co)
			// The first dial of a run is of the whole inventory.
			remember.Do(func() { reconcile.RememberTargets(src, recalled, reconcile.Targets(c)) })
			return hosts, errs
		},
		Lock:  syncLock(o.ios, &o.lock),
		Apply: reconcile.ApplyOptions{Prune: o.prune, AllowEmpty: o.allowEmpty, Progress: rep.event},
		Log:   rep.log,
	})
	defer s.Close()

	if o.once {
		ctx, cancel := o.hosts.withTimeout(cmd.Context())
		defer cancel()
		p := s.Pass(ctx)
		o.report(rep, p)
		return passError(p)
	}
	rep.line(fmt.Sprintf("sync: every %s; watching Docker events on every host", o.interval), "interval", o.interval.String())
	s.Run(cmd.Context(), o.interval, func(p *reconcile.PassReport) { o.report(rep, p) })
	return nil
}

// report prints a pass and writes the metrics file.
func (o *syncOptions) report(rep *reporter, p *reconcile.PassReport) {
	commit := shortSHA(p.Commit)
	for _, d := range p.Drift {
		if rep.json {
			rep.log.Warn("drift", "node", d.Node, "kind", d.Kind, "target", d.Target, "action", d.Action, "detail", d.Detail)
		} else {
			fmt.Fprintf(o.ios.ErrOut, "drift on %s: %s %s %s (%s)\n", d.Node, d.Kind, d.Target, d.Action, d.Detail)
		}
	}
	changes := 0
	if p.Result != nil {
		changes = p.Result.Changes
	}
	args := []any{"outcome", p.Outcome, "commit", p.Commit, "calls", p.Calls, "writes", p.Writes,
		"changes", changes, "drift", len(p.Drift), "duration", p.Duration.Round(time.Millisecond).String()}
	if p.Err != nil {
		args = append(args, "error", p.Err.Error())
	}
	if rep.json {
		rep.log.Info("sync pass", args...)
	} else {
		msg := fmt.Sprintf("sync: %s at %s (%d calls, %d writes, %s)", p.Outcome, commit, p.Calls, p.Writes, p.Duration.Round(time.Millisecond))
		if p.Outcome == reconcile.OutcomeApplied {
			msg = fmt.Sprintf("sync: applied %s: %d changes, %d drift repaired (%d calls, %s)", commit, changes, len(p.Drift), p.Calls, p.Duration.Round(time.Millisecond))
		}
		if p.Err != nil {
			msg += ": " + p.Err.Error()
		}
		fmt.Fprintln(o.ios.ErrOut, msg)
	}
	if err := writeEndpointsFile(o.endpointsFile, p.EndpointsFile); err != nil {
		rep.log.Warn("writing the local endpoints file", "err", err)
	}
	if o.metricsFile != "" {
		if err := writeSyncMetrics(o.metricsFile, p); err != nil {
			rep.log.Warn("writing metrics", "file", o.metricsFile, "err", err)
		}
	}
}

// passError is a failed pass's error for sync --once, already reported: its
// kind picks the exit code in the one table.
func passError(p *reconcile.PassReport) error {
	switch p.Outcome {
	case reconcile.OutcomeInSync, reconcile.OutcomeApplied:
		return nil
	}
	if p.Outcome == reconcile.OutcomeLocked && exitCode(p.Err) == ExitError {
		return silent(ExitLocked) // the lock could not be taken for another reason
	}
	if p.Err == nil {
		return silent(ExitError)
	}
	return reported(p.Err)
}
