package kubelet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/reconcile-dev/reconcile/runtime"
	"github.com/reconcile-dev/reconcile/runtime/probe"
)

// worker runs one running container's startup and liveness probes.
type worker struct {
	cancel context.CancelFunc
}

// watch starts the probe worker of a running supervised container that
// has probes, once.
func (s *Supervisor) watch(ctx context.Context, id string) {
	s.mu.Lock()
	if _, ok := s.workers[id]; ok {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	c, err := s.api.ContainerInspect(ctx, id)
	if err != nil || c.Config == nil || c.State == nil || !c.State.Running {
		return
	}
	l := c.Config.Labels
	if l[runtime.LabelRestartPolicy] != runtime.RestartAlways || l[runtime.LabelCluster] != s.cfg.Cluster || l[runtime.LabelProbes] == "" {
		return
	}
	var ps runtime.Probes
	if err := json.Unmarshal([]byte(l[runtime.LabelProbes]), &ps); err != nil {
		s.cfg.Logf("supervisor: %s: probes label: %v", c.Name, err)
		return
	}
	started, err := time.Parse(time.RFC3339Nano, c.State.StartedAt)
	if err != nil {
		started = time.Now()
	}
	wctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	if _, ok := s.workers[id]; ok {
		s.mu.Unlock()
		cancel()
		return
	}
	s.workers[id] = &worker{cancel: cancel}
	s.mu.Unlock()
	name := fmt.Sprintf("pod %s container %s", l[runtime.LabelPod], l[runtime.LabelContainer])
	go s.probeLoop(wctx, id, name, l[runtime.LabelPod], l[runtime.LabelContainer], ps, started)
}

func (s *Supervisor) unwatch(id string) {
	s.mu.Lock()
	w := s.workers[id]
	delete(s.workers, id)
	s.mu.Unlock()
	if w != nil {
		w.cancel()
	}
}

func (s *Supervisor) stopWorkers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, w := range s.workers {
		w.cancel()
		delete(s.workers, id)
	}
}

// probeLoop is kubelet's prober for one container: the startup probe
// until it succeeds (liveness and readiness wait for it), then the
// liveness probe for as long as the container runs. A probe that fails
// failureThreshold times in a row gets the container killed.
func (s *Supervisor) probeLoop(ctx context.Context, id, name, pod, ctr string, ps runtime.Probes, started time.Time) {
	if st := ps.Startup; st != nil {
		ok, msg := s.runProbe(ctx, id, st, started, true)
		if ctx.Err() != nil {
			return
		}
		if !ok {
			s.kill(context.WithoutCancel(ctx), id, name, "Startup probe failed: "+msg)
			return
		}
		if err := s.openGate(pod, ctr); err != nil {
			s.cfg.Logf("supervisor: %s: %v", name, err)
		}
		s.cfg.Logf("supervisor: %s: startup probe succeeded", name)
	}
	if lv := ps.Liveness; lv != nil {
		ok, msg := s.runProbe(ctx, id, lv, started, false)
		if ctx.Err() == nil && !ok {
			s.kill(context.WithoutCancel(ctx), id, name, "Liveness probe failed: "+msg)
		}
	}
}

// runProbe probes from initialDelaySeconds after the container started,
// every periodSeconds, until failureThreshold failures in a row (false,
// with the last failure), or, with untilSuccess (a startup probe), until
// successThreshold successes in a row (true), or until ctx ends.
func (s *Supervisor) runProbe(ctx context.Context, id string, pc *runtime.ProbeCheck, started time.Time, untilSuccess bool) (bool, string) {
	if d := time.Until(started.Add(time.Duration(pc.InitialDelaySeconds) * time.Second)); d > 0 {
		select {
		case <-ctx.Done():
			return false, ""
		case <-time.After(d):
		}
	}
	t := time.NewTicker(time.Duration(pc.PeriodSeconds) * time.Second)
	defer t.Stop()
	var th thresholds
	for {
		err := s.check(ctx, id, pc)
		if ctx.Err() != nil {
			return false, ""
		}
		switch th.observe(pc, err) {
		case passed:
			if untilSuccess {
				return true, ""
			}
		case failed:
			return false, err.Error()
		}
		select {
		case <-ctx.Done():
			return false, ""
		case <-t.C:
		}
	}
}

// thresholds counts a probe's results in a row, as kubelet's worker does.
type thresholds struct{ successes, failures int32 }

type verdict int

const (
	undecided verdict = iota
	passed            // successThreshold successes in a row
	failed            // failureThreshold failures in a row
)

func (t *thresholds) observe(pc *runtime.ProbeCheck, err error) verdict {
	if err == nil {
		t.failures = 0
		t.successes++
		if t.successes >= max(pc.SuccessThreshold, 1) {
			return passed
		}
		return undecided
	}
	t.successes = 0
	t.failures++
	if t.failures >= max(pc.FailureThreshold, 1) {
		return failed
	}
	return undecided
}

// check runs one probe: httpGet and tcpSocket from the host to the pod IP
// (the supervisor is on the host network, as kubelet probes), exec inside
// the container through Docker.
func (s *Supervisor) check(ctx context.Context, id string, pc *runtime.ProbeCheck) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(pc.TimeoutSeconds)*time.Second)
	defer cancel()
	var err error
	switch {
	case pc.HTTP != "":
		_, err = probe.CheckHTTP(ctx, pc.HTTP, pc.Headers)
	case pc.TCP != "":
		_, err = probe.CheckTCP(ctx, pc.TCP)
	case len(pc.Exec) > 0:
		err = s.execProbe(ctx, id, pc.Exec)
	default:
		err = errors.New("probe has no handler")
	}
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("timeout after %ds: %w", pc.TimeoutSeconds, err)
	}
	return err
}

// execProbe runs cmd in the container; exit status 0 is success. Its
// output is bounded: only the first KiB is kept for the message.
func (s *Supervisor) execProbe(ctx context.Context, id string, cmd []string) error {
	ex, err := s.api.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return err
	}
	att, err := s.api.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return err
	}
	defer att.Close()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		lw := &limitWriter{w: &out, n: 1024}
		_, err := stdcopy.StdCopy(lw, lw, att.Reader)
		done <- err
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-done:
	}
	in, err := s.api.ContainerExecInspect(ctx, ex.ID)
	if err != nil {
		return err
	}
	if in.ExitCode != 0 {
		return fmt.Errorf("%s: exit code %d: %s", strings.Join(cmd, " "), in.ExitCode, strings.TrimSpace(out.String()))
	}
	return nil
}

type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
