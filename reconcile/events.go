package reconcile

import (
	"context"
	"strings"

	"github.com/reconcile-dev/reconcile/runtime"
)

// PodEvent is a change Docker reports for one of our pods.
type PodEvent struct {
	Node   string
	ID     string
	Pod    string
	Action string // die, start, destroy, health_status: healthy, ...
}

// gone reports whether the pod stopped serving: it must leave every VIP now.
func (e PodEvent) gone() bool {
	switch {
	case e.Action == "die", e.Action == "kill", e.Action == "oom", e.Action == "stop", e.Action == "destroy", e.Action == "pause":
		return true
	case strings.HasPrefix(e.Action, "health_status") && strings.Contains(e.Action, "unhealthy"):
		return true
	}
	return false
}

// Events streams our pods' container events from the host's Docker over the
// host's SSH connection. The error channel reports the end of the stream.
func (s *sshHost) Events(ctx context.Context) (<-chan PodEvent, <-chan error) {
	in, errs := runtime.PodEvents(ctx, s.h.Docker(), s.h.Name, s.cluster)
	out := make(chan PodEvent, cap(in))
	go func() {
		defer close(out)
		for e := range in {
			select {
			case out <- PodEvent(e):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, errs
}
