// Package kubelet is the host's supervisor: the long-running process of
// the reconcile-kubelet container (runtime.EnsureSupervisor) that does for
// the cluster's pods on its host what kubelet does between API calls. It
// runs their liveness and startup probes and restarts their ended
// containers with Kubernetes' back-off (runtime.Restart); everything it
// decides is kept in Docker (labels, names), so the CLI reads it from a
// container list and a restarted supervisor carries on where it stopped.
package kubelet

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/reconcile-dev/reconcile/runtime"
)

// passEvery is the periodic pass that catches what events missed (a
// supervisor restart, a lost event stream) and starts containers whose
// back-off ended.
const passEvery = 2 * time.Second

// Config is the supervisor's setting (runtime.SupervisorRequest).
type Config struct {
	Cluster     string
	StartedDir  string        // the startup gates' directory
	BackoffBase time.Duration // Kubernetes' 10 s unless the Cluster says otherwise
	Logf        func(format string, args ...any)
}

// Supervisor watches one cluster's pods on one host.
type Supervisor struct {
	api client.APIClient
	cfg Config

	mu      sync.Mutex
	workers map[string]*worker // by container ID: running containers with probes
	killed  map[string]string  // container ID -> why the supervisor stopped it
	busy    map[string]bool    // container IDs being restarted
}

// New returns a supervisor for cfg on api.
func New(api client.APIClient, cfg Config) *Supervisor {
	if cfg.Logf == nil {
		cfg.Logf = log.New(os.Stderr, "", log.LstdFlags).Printf
	}
	return &Supervisor{api: api, cfg: cfg, workers: map[string]*worker{}, killed: map[string]string{}, busy: map[string]bool{}}
}

// Run supervises until ctx ends: Docker's events for the cluster's
// containers, and a pass every passEvery.
func (s *Supervisor) Run(ctx context.Context) error {
	s.cfg.Logf("supervisor: cluster %s, restart back-off base %s", s.cfg.Cluster, s.cfg.BackoffBase)
	defer s.stopWorkers()
	for ctx.Err() == nil {
		evCtx, cancel := context.WithCancel(ctx)
		msgs, errs := s.api.Events(evCtx, events.ListOptions{Filters: filters.NewArgs(
			filters.Arg("type", string(events.ContainerEventType)),
			filters.Arg("label", runtime.LabelManagedBy+"="+runtime.ManagedBy),
			filters.Arg("label", runtime.LabelCluster+"="+s.cfg.Cluster),
		)})
		s.pass(ctx) // after subscribing: nothing falls between the two
		tick := time.NewTicker(passEvery)
	stream:
		for {
			select {
			case <-ctx.Done():
				break stream
			case m := <-msgs:
				s.event(ctx, m)
			case err := <-errs:
				if ctx.Err() == nil {
					s.cfg.Logf("supervisor: docker events: %v; reconnecting", err)
					time.Sleep(time.Second)
				}
				break stream
			case <-tick.C:
				s.pass(ctx)
			}
		}
		tick.Stop()
		cancel()
	}
	return nil
}

func (s *Supervisor) event(ctx context.Context, m events.Message) {
	id := m.Actor.ID
	switch m.Action {
	case events.ActionStart:
		s.watch(ctx, id)
	case events.ActionDie:
		s.unwatch(id)
		s.restart(ctx, id)
	case events.ActionDestroy:
		s.unwatch(id)
		s.mu.Lock()
		delete(s.killed, id)
		s.mu.Unlock()
	}
}

// pass looks at every container of the cluster on the host: probes for
// running ones, restarts for ended ones, starts for those whose back-off
// is over, and removes startup gates of containers that are gone.
func (s *Supervisor) pass(ctx context.Context) {
	cs, err := s.api.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", runtime.LabelManagedBy+"="+runtime.ManagedBy),
		filters.Arg("label", runtime.LabelCluster+"="+s.cfg.Cluster),
		filters.Arg("label", runtime.LabelRestartPolicy+"="+runtime.RestartAlways),
	)})
	if err != nil {
		s.cfg.Logf("supervisor: list containers: %v", err)
		return
	}
	names := map[string]bool{}
	gates := map[string]bool{}
	for _, c := range cs {
		for _, n := range c.Names {
			names[strings.TrimPrefix(n, "/")] = true
		}
		gates[filepath.Base(runtime.StartedPath(c.Labels[runtime.LabelPod], c.Labels[runtime.LabelContainer]))] = true
	}
	now := time.Now()
	for _, c := range cs {
		name := ""
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		switch {
		case strings.HasSuffix(name, runtime.PrevSuffix):
			// A restart interrupted between moving the container aside
			// and creating its successor: finish it.
			if !names[strings.TrimSuffix(name, runtime.PrevSuffix)] && c.State != container.StateRemoving {
				s.restart(ctx, c.ID)
			}
		case c.State == container.StateRunning:
			s.watch(ctx, c.ID)
		case c.State == container.StateExited || c.State == container.StateDead:
			s.restart(ctx, c.ID)
		case c.State == container.StateCreated:
			if at := runtime.StartAfter(c.Labels); !at.IsZero() && !now.Before(at) {
				s.start(ctx, c.ID, name)
			}
		}
	}
	s.cleanGates(gates)
}

// start starts a container whose back-off is over, unless its pod's
// infrastructure container is gone (then the pod is dead: apply replaces it).
func (s *Supervisor) start(ctx context.Context, id, name string) {
	c, err := s.api.ContainerInspect(ctx, id)
	if err != nil || c.State == nil || c.State.Status != container.StateCreated || !s.infraRunning(ctx, c) {
		return
	}
	if err := s.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		s.cfg.Logf("supervisor: start %s after back-off: %v", name, err)
		return
	}
	s.cfg.Logf("supervisor: started %s after its back-off", name)
}

// restart restarts an ended container (runtime.Restart), once.
func (s *Supervisor) restart(ctx context.Context, id string) {
	s.mu.Lock()
	if s.busy[id] {
		s.mu.Unlock()
		return
	}
	s.busy[id] = true
	why := s.killed[id]
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.busy, id)
		s.mu.Unlock()
	}()

	c, err := s.api.ContainerInspect(ctx, id)
	if cerrdefs.IsNotFound(err) {
		return
	}
	if err != nil {
		s.cfg.Logf("supervisor: inspect %s: %v", id, err)
		return
	}
	if !runtime.Restartable(c) || c.Config.Labels[runtime.LabelCluster] != s.cfg.Cluster || !s.infraRunning(ctx, c) {
		return
	}
	pod, ctr := c.Config.Labels[runtime.LabelPod], c.Config.Labels[runtime.LabelContainer]
	// The new container has not passed its startup probe.
	if err := s.removeGate(pod, ctr); err != nil {
		s.cfg.Logf("supervisor: %v", err)
	}
	r, err := runtime.Restart(ctx, s.api, c, s.cfg.BackoffBase, why)
	if err != nil {
		s.cfg.Logf("supervisor: pod %s container %s: %v", pod, ctr, err)
		return
	}
	s.mu.Lock()
	delete(s.killed, id)
	s.mu.Unlock()
	if r.Wait > 0 {
		// On time, not at the next pass (which still catches it after a
		// supervisor restart: the due time is in the labels).
		time.AfterFunc(time.Until(r.StartAt), func() { s.start(ctx, r.ID, r.Name) })
		s.cfg.Logf("supervisor: pod %s container %s %s (exit %d): restart %d in %s (back-off)", pod, ctr, r.LastState.Reason, r.LastState.ExitCode, r.Count, r.Wait)
	} else {
		s.cfg.Logf("supervisor: pod %s container %s %s (exit %d): restarted (%d)", pod, ctr, r.LastState.Reason, r.LastState.ExitCode, r.Count)
	}
}

// infraRunning says whether the container's pod still has its network:
// a container joined to an infrastructure container that is gone cannot
// be restarted into it.
func (s *Supervisor) infraRunning(ctx context.Context, c container.InspectResponse) bool {
	if c.HostConfig == nil || !c.HostConfig.NetworkMode.IsContainer() {
		return true
	}
	infra, err := s.api.ContainerInspect(ctx, c.HostConfig.NetworkMode.ConnectedContainer())
	return err == nil && infra.State != nil && infra.State.Running
}

// kill stops a container whose probe failed, with its grace period, as
// kubelet kills it; its end is then restarted like a crash.
func (s *Supervisor) kill(ctx context.Context, id, name, why string) {
	s.mu.Lock()
	s.killed[id] = why
	s.mu.Unlock()
	s.cfg.Logf("supervisor: %s: %s; killing it", name, why)
	if err := s.api.ContainerStop(ctx, id, container.StopOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		s.cfg.Logf("supervisor: stop %s: %v", name, err)
	}
}

// gatePath is a container's startup gate file, refusing names that would
// leave the gates' directory (labels are the host's, but a gate path is
// only ever one plain file name below StartedDir).
func (s *Supervisor) gatePath(pod, ctr string) (string, error) {
	dir := filepath.Base(runtime.StartedPath(pod, ctr))
	if pod == "" || ctr == "" || strings.ContainsAny(pod+ctr, "/\\") || dir == "." || dir == ".." {
		return "", fmt.Errorf("startup gate: bad pod or container name %q/%q", pod, ctr)
	}
	return filepath.Join(s.cfg.StartedDir, dir, runtime.StartedFile), nil
}

func (s *Supervisor) openGate(pod, ctr string) error {
	p, err := s.gatePath(pod, ctr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, nil, 0o644)
}

func (s *Supervisor) removeGate(pod, ctr string) error {
	p, err := s.gatePath(pod, ctr)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// cleanGates removes the gate directories of containers that are gone.
func (s *Supervisor) cleanGates(keep map[string]bool) {
	ents, err := os.ReadDir(s.cfg.StartedDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || keep[e.Name()] {
			continue
		}
		// A pod being created may have its directory before its
		// container shows in a list.
		if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < time.Minute {
			continue
		}
		dir := filepath.Join(s.cfg.StartedDir, e.Name())
		os.Remove(filepath.Join(dir, runtime.StartedFile))
		os.Remove(dir) // only when empty: nothing else of anyone's goes
	}
}
