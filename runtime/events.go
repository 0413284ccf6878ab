package runtime

import (
	"context"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// PodEvent is a change Docker reports for one of our pods.
type PodEvent struct {
	Node   string
	ID     string
	Pod    string
	Action string // die, start, destroy, health_status: healthy, ...
}

// EventSource is the part of Docker's API that streams events.
type EventSource interface {
	Events(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error)
}

// PodEvents streams the container events of cluster's pods on node. The
// error channel reports the end of the stream; the event channel is closed.
func PodEvents(ctx context.Context, api EventSource, node, cluster string) (<-chan PodEvent, <-chan error) {
	msgs, errs := api.Events(ctx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("label", LabelManagedBy+"="+ManagedBy),
		filters.Arg("label", LabelCluster+"="+cluster),
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
				e := PodEvent{Node: node, ID: m.Actor.ID, Pod: m.Actor.Attributes[LabelPod], Action: string(m.Action)}
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
