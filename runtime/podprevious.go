package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// ErrNoPrevious is returned by Previous when a container has no terminated
// instance to show.
var ErrNoPrevious = errors.New("no previous terminated instance")

// LogWindow is where a container instance's output lies: the container
// holding it and the time span of that instance (zero ends: open).
type LogWindow struct {
	ID           string
	Since, Until time.Time
}

// Previous finds the last terminated instance of container c, as `kubectl
// logs --previous` shows it. Two kinds of instance exist:
//
//   - Docker restarted c itself (restart policy, or a restart by hand): the
//     same container holds every instance's output, so the previous one is
//     c's log from the start before the current one up to the current
//     start. A container that is not running is itself the last terminated
//     instance (a crash loop waiting for its next start).
//   - c replaced an earlier container of the same pod and name that
//     reconcile kept (kept lists them: PodContainers' other entries with
//     c's pod and name): the newest of those, whole.
//
// c's own restarts are the more recent (c was created after what it
// replaced), so they come first.
func (s *Streams) Previous(ctx context.Context, c PodContainer, kept []PodContainer) (LogWindow, error) {
	ci, err := s.api.ContainerInspect(ctx, c.ID)
	if err != nil {
		return LogWindow{}, fmt.Errorf("%s: inspect %s: %w", s.node, c.ID, err)
	}
	if ci.Config == nil || ci.Config.Labels[LabelManagedBy] != ManagedBy {
		return LogWindow{}, fmt.Errorf("%s: container %s is not one reconcile created", s.node, c.ID)
	}
	var started, finished time.Time
	running := false
	if st := ci.State; st != nil {
		started, _ = time.Parse(time.RFC3339Nano, st.StartedAt)
		finished, _ = time.Parse(time.RFC3339Nano, st.FinishedAt)
		running = st.Running || st.Restarting
	}
	var keptNewest *PodContainer
	for i := range kept {
		k := &kept[i]
		if k.ID != c.ID && k.Pod == c.Pod && k.Namespace == c.Namespace && k.Name == c.Name && (keptNewest == nil || k.Created.After(keptNewest.Created)) {
			keptNewest = k
		}
	}
	if !running && started.Year() > 1 {
		return LogWindow{ID: c.ID, Since: started, Until: finished}, nil
	}
	// RestartCount counts only the restart policy's restarts; a `docker
	// restart` leaves it alone but is in the event log like any start.
	if since, ok := s.startBefore(ctx, c.ID, ci.Created, started); ok || ci.RestartCount > 0 {
		return LogWindow{ID: c.ID, Since: since, Until: started}, nil
	}
	if keptNewest != nil {
		return LogWindow{ID: keptNewest.ID}, nil
	}
	return LogWindow{}, ErrNoPrevious
}

// startBefore is the last start of container id before t, from dockerd's
// event log; false when there is none or dockerd no longer has it (it
// keeps a bounded number of events).
func (s *Streams) startBefore(ctx context.Context, id, created string, t time.Time) (time.Time, bool) {
	if t.Year() <= 1 {
		return time.Time{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	since := "0"
	if c, err := time.Parse(time.RFC3339Nano, created); err == nil {
		since = dockerTime(c)
	}
	// Until is exclusive enough: the current start is at t, so stop just
	// before it.
	msgs, errs := s.api.Events(ctx, events.ListOptions{
		Since: since,
		Until: dockerTime(t.Add(-time.Millisecond)),
		Filters: filters.NewArgs(
			filters.Arg("type", string(events.ContainerEventType)),
			filters.Arg("container", id),
			filters.Arg("event", string(events.ActionStart)),
		),
	})
	var last time.Time
	for {
		select {
		case m := <-msgs:
			if at := time.Unix(0, m.TimeNano); at.Before(t) && at.After(last) {
				last = at
			}
		case err := <-errs:
			if err != nil && !errors.Is(err, io.EOF) {
				return time.Time{}, false
			}
			return last, !last.IsZero()
		}
	}
}
