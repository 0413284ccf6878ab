package reconcile

import (
	"context"
	"strings"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

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
	msgs, errs := s.h.Docker().Events(ctx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("label", runtime.LabelManagedBy+"="+runtime.ManagedBy),
		filters.Arg("label", runtime.LabelCluster+"="+s.cluster),
	)})
	out := make(chan PodEvent, 64)
	errOut := make(chan error, 1)
	go func() {
		defer close(out)
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					return
				}
				e := PodEvent{Node: s.h.Name, ID: m.Actor.ID, Pod: m.Actor.Attributes[runtime.LabelPod], Action: string(m.Action)}
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			case err := <-errs:
				errOut <- err
				return
			case <-ctx.Done():
				errOut <- ctx.Err()
				return
			}
		}
	}()
	return out, errOut
}
