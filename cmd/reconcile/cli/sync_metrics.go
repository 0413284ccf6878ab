package cli

import (
	"context"

	"github.com/reconcile-dev/reconcile/reconcile"
)

// syncLock takes the hosts' lock for a sync pass, as apply does.
func syncLock(ios *IOStreams, f *lockFlags) func(ctx context.Context, hosts map[string]reconcile.Host, nodes int, wait bool) (context.Context, func(), error) {
	return func(ctx context.Context, hosts map[string]reconcile.Host, nodes int, wait bool) (context.Context, func(), error) {
		w := f.wait
		if !wait {
			w = 0
		}
		return takeLock(ctx, ios, hosts, nodes, "sync", w, f.ttl)
	}
}

// writeSyncMetrics writes a pass as Prometheus text for node_exporter.
func writeSyncMetrics(path string, p *reconcile.PassReport) error {
	r := reconcile.SyncReport{
		Time: p.Start.Add(p.Duration), Duration: p.Duration, Commit: p.Commit,
		Success:  p.Outcome == reconcile.OutcomeInSync || p.Outcome == reconcile.OutcomeApplied,
		Locked:   p.Outcome == reconcile.OutcomeLocked,
		Drift:    len(p.Drift),
		Pods:     map[string]int{reconcile.PodsReady: p.Ready, reconcile.PodsNotReady: p.Pods - p.Ready},
		Services: p.Services,
	}
	if p.Result != nil {
		r.Changes = p.Result.Changes
		r.Unreachable = len(p.Result.Unreachable)
	}
	return reconcile.WriteMetrics(path, r)
}
