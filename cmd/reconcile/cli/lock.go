package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/reconcile"
)

// lockFlags are shared by the commands that change hosts.
type lockFlags struct {
	wait time.Duration
	ttl  time.Duration
}

func (f *lockFlags) register(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&f.wait, "wait-for-lock", 0, "when another run holds the hosts' lock, wait this long for it (e.g. 5m); 0 exits at once with code 6")
	cmd.Flags().DurationVar(&f.ttl, "lock-ttl", reconcile.DefaultLockTTL, "how long the hosts keep the lock of a run that stopped renewing it (crashed)")
	cmd.Flags().MarkHidden("lock-ttl")
}

// check rejects flag values before any host is contacted.
func (f *lockFlags) check() error {
	if f.wait < 0 {
		return flagErrorf("--wait-for-lock %s: must not be negative", f.wait)
	}
	if f.ttl < time.Second {
		return flagErrorf("--lock-ttl %s: must be at least 1s", f.ttl)
	}
	return nil
}

// takeLock takes the run lock on the reachable hosts of an inventory of
// nodes, so a CI apply and a cron sync never act at once. The run acts
// under the returned context: it carries the lock's fence and ends when the
// lock is lost. release gives the lock back with a fresh context, since the
// run's own may be cancelled or timed out by then.
func takeLock(ctx context.Context, ios *IOStreams, hosts map[string]reconcile.Host, nodes int, cmdName string, wait, ttl time.Duration) (context.Context, func(), error) {
	progress := func(s string) { fmt.Fprintln(ios.ErrOut, s) }
	l, err := reconcile.AcquireLock(ctx, hosts, reconcile.LockOptions{
		Owner:    reconcile.DefaultOwner(cmdName),
		TTL:      ttl,
		Wait:     wait,
		Progress: progress,
		Nodes:    nodes,
	})
	if err != nil {
		return nil, nil, err
	}
	lctx, cancel := l.Context(ctx)
	return lctx, func() {
		cancel()
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.Release(rctx); err != nil {
			progress("warning: " + err.Error())
		}
	}, nil
}
