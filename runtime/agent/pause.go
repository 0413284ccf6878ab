package agent

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Pause is the command of a multi-container pod's infrastructure container
// (runtime.InfraContainer): it holds the pod's network namespace, hostname
// and IP while the app containers, joined to it, come and go. It does
// nothing but wait for SIGTERM and reap children, as Kubernetes' pause
// does; running this binary means no pause image has to come from a
// registry.
var Pause = Handler{
	Name:  "pause",
	Short: "Hold a pod's network namespace until SIGTERM (a pod's infrastructure container's command)",
	Run: func(ctx context.Context, _ io.Reader, _ io.Writer) error {
		sigs := make(chan os.Signal, 4)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
		defer signal.Stop(sigs)
		for {
			select {
			case <-ctx.Done():
				return nil
			case s := <-sigs:
				if s != syscall.SIGCHLD {
					return nil
				}
				// As PID 1 it inherits orphans; collect them so none
				// stays a zombie.
				for {
					pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
					if pid <= 0 || err != nil {
						break
					}
				}
			}
		}
	},
}
