package runtime

import (
	"encoding/json"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/reconcile-dev/reconcile/resources"
)

// Containers the host's supervisor (the kubelet-like reconcile-kubelet
// container, see supervisor.go) restarts: a pod's app containers and its
// sidecars. Docker's own restart policy is off for them ("no"), so the two
// never race; the supervisor restarts a container that exits, or that its
// liveness or startup probe declares failed, with Kubernetes' back-off.
//
// A restart is a new container, as kubelet makes one: the one that ended
// is renamed <name>_PREV and kept (its logs are `logs --previous`), and the
// new one, under the pod's name, carries the restart state in its labels.
// So everything `get pods` shows comes from one container list of the
// host: no state file, nothing the CLI keeps.
const (
	// LabelRestartPolicy marks a supervised container (value Always).
	LabelRestartPolicy = "reconcile.dev/restart-policy"
	// LabelProbes holds the container's liveness and startup probes
	// (JSON of Probes), with their targets resolved.
	LabelProbes = "reconcile.dev/probes"
	// LabelRestartCount is how often the container was restarted.
	LabelRestartCount = "reconcile.dev/restart-count"
	// LabelLastState is the previous container's end (JSON of LastState).
	LabelLastState = "reconcile.dev/last-state"
	// LabelBackoff is the back-off (in seconds) before the restart after
	// this container's end: Kubernetes' delay, doubled per restart.
	LabelBackoff = "reconcile.dev/backoff-seconds"
	// LabelStartAfter is when the supervisor starts a created container
	// waiting out its back-off (RFC 3339): the pod is in CrashLoopBackOff
	// until then.
	LabelStartAfter = "reconcile.dev/start-after"
	// LabelPodCreated keeps the pod's creation time (RFC 3339) across
	// restarts, which make new containers: the pod's AGE is not theirs.
	LabelPodCreated = "reconcile.dev/pod-created"

	// PrevSuffix ends the Docker name of a restarted container's previous
	// instance. Upper case never occurs in pod or container names.
	PrevSuffix = "_PREV"

	// RestartAlways is the only restartPolicy of a Deployment's pods.
	RestartAlways = "Always"

	ReasonCrashLoopBackOff = "CrashLoopBackOff"
	ReasonError            = "Error"
	ReasonCompleted        = "Completed"
	ReasonOOMKilled        = "OOMKilled"
)

// Probes are a container's probes that the supervisor runs.
type Probes struct {
	Liveness *ProbeCheck `json:"liveness,omitempty"`
	Startup  *ProbeCheck `json:"startup,omitempty"`
}

// LastState is how a container's previous instance ended, as kubectl's
// lastState.terminated.
type LastState struct {
	ExitCode   int       `json:"exitCode"`
	Reason     string    `json:"reason"`            // Error, Completed, OOMKilled
	Message    string    `json:"message,omitempty"` // e.g. "Liveness probe failed: ..."
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	// Container is the previous instance's Docker name (<name>_PREV), whose
	// logs are the container's previous logs.
	Container string `json:"container,omitempty"`
}

// supervisedLabels are the labels that hand container c to the supervisor.
func supervisedLabels(c resources.Container, pn podNet) (map[string]string, error) {
	l := map[string]string{LabelRestartPolicy: RestartAlways}
	var ps Probes
	if c.LivenessProbe != nil {
		pc, err := resolveProbe("livenessProbe", c.LivenessProbe, c, pn.ip)
		if err != nil {
			return nil, err
		}
		ps.Liveness = &pc
	}
	if c.StartupProbe != nil {
		pc, err := resolveProbe("startupProbe", c.StartupProbe, c, pn.ip)
		if err != nil {
			return nil, err
		}
		ps.Startup = &pc
	}
	if ps.Liveness != nil || ps.Startup != nil {
		b, err := json.Marshal(ps)
		if err != nil {
			return nil, err
		}
		l[LabelProbes] = string(b)
	}
	return l, nil
}

// supervised says whether the supervisor restarts a container with these
// labels (containers made before it existed keep Docker's restart policy).
func supervised(l map[string]string) bool { return l[LabelRestartPolicy] == RestartAlways }

// restartState is what a container's labels say about its restarts.
type restartState struct {
	Count      int
	Last       *LastState
	Backoff    time.Duration
	StartAfter time.Time
}

func readRestartState(l map[string]string) restartState {
	var rs restartState
	rs.Count, _ = strconv.Atoi(l[LabelRestartCount])
	if s := l[LabelLastState]; s != "" {
		var ls LastState
		if json.Unmarshal([]byte(s), &ls) == nil {
			rs.Last = &ls
		}
	}
	if n, err := strconv.Atoi(l[LabelBackoff]); err == nil && n > 0 {
		rs.Backoff = time.Duration(n) * time.Second
	}
	if t, err := time.Parse(time.RFC3339Nano, l[LabelStartAfter]); err == nil {
		rs.StartAfter = t
	}
	return rs
}

// nextBackoff is Kubernetes' crash back-off (kubelet's flowcontrol.Backoff
// with backOffPeriod base and MaxContainerBackOff): the first restart is at
// once, the next after base, then double each time up to the cap; a
// container that ran at least BackoffResetAfter starts over. cur is the
// delay the ended container's labels carry; wait is the delay before this
// restart, next the one the new container carries.
func nextBackoff(cur, ran, base time.Duration) (wait, next time.Duration) {
	if ran >= resources.BackoffResetAfter {
		cur = 0
	}
	wait = cur
	switch {
	case cur == 0:
		next = base
	case cur >= resources.RestartBackoffMax/2:
		next = resources.RestartBackoffMax
	default:
		next = 2 * cur
	}
	return min(wait, resources.RestartBackoffMax), min(next, resources.RestartBackoffMax)
}

// terminatedReason is kubelet's reason for a container's end.
func terminatedReason(exitCode int, oom bool) string {
	switch {
	case oom:
		return ReasonOOMKilled
	case exitCode == 0:
		return ReasonCompleted
	}
	return ReasonError
}

// isPrevious says whether a container (by any of its Docker names) is a
// restarted container's previous instance, which is not part of its pod.
func isPrevious(names []string) bool {
	for _, n := range names {
		if strings.HasSuffix(n, PrevSuffix) {
			return true
		}
	}
	return false
}

// restartInFlight says whether a previous instance stands for its pod's
// container: the supervisor renames the ended container <name>_PREV before
// it creates the new <name>, so for a moment (or for good, if the
// supervisor dies in between: it resumes from the _PREV) there is no
// <name>. A listing that skipped the _PREV then would show the pod gone,
// and a reconcile pass would create a second pod in its place.
func restartInFlight(names []string, current map[string]bool) bool {
	for _, n := range names {
		if base, ok := strings.CutSuffix(n, PrevSuffix); ok && current[base] {
			return false
		}
	}
	return true
}

// StartedDir holds, per container with a startup probe, the directory the
// supervisor writes StartedFile into once the probe succeeded; the
// container sees it read-only at startedMount, and its readiness check
// fails until the file is there ("startup holds readiness").
const (
	StartedDir   = "/run/reconcile/started"
	StartedFile  = "ok"
	startedMount = "/.reconcile/started"
)

// StartedPath is the host directory of container ctr of pod's startup gate.
func StartedPath(pod, ctr string) string { return filepath.Join(StartedDir, pod+"_"+ctr) }

// superviseConfig hands an app container or sidecar to the supervisor:
// its labels, Docker's restart policy off, and the startup gate.
func superviseConfig(s PodSpec, c resources.Container, pn podNet, cfg *container.Config, host *container.HostConfig) error {
	l, err := supervisedLabels(c, pn)
	if err != nil {
		return err
	}
	for k, v := range l {
		cfg.Labels[k] = v
	}
	host.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyDisabled}
	if c.StartupProbe == nil {
		return nil
	}
	// A bind (not a mount) so that Docker makes the host directory.
	host.Binds = append(host.Binds, StartedPath(s.Name, c.Name)+":"+startedMount+":ro")
	hc, err := gatedHealthcheck(c, pn.ip)
	if err != nil {
		return err
	}
	cfg.Healthcheck = hc
	return nil
}

// gatedHealthcheck is the readiness check of a container with a startup
// probe: its readiness probe (or nothing) behind the gate file.
func gatedHealthcheck(c resources.Container, podIP netip.Addr) (*container.HealthConfig, error) {
	gate := []string{"CMD", ProbePath, "probe", "--gate", startedMount + "/" + StartedFile}
	if c.ReadinessProbe == nil {
		st, err := resolveProbe("startupProbe", c.StartupProbe, c, podIP)
		if err != nil {
			return nil, err
		}
		return &container.HealthConfig{Test: gate, Interval: time.Duration(st.PeriodSeconds) * time.Second,
			Timeout: time.Second, Retries: 1}, nil
	}
	hc, err := healthcheck(c.ReadinessProbe, c, podIP)
	if err != nil {
		return nil, err
	}
	switch test := hc.Test; {
	case len(test) > 2 && test[1] == ProbePath:
		hc.Test = append(gate, test[3:]...)
	default: // an exec probe: run it through `reconcile probe --exec`
		hc.Test = append(append(gate, "--timeout", hc.Timeout.String(), "--exec", "--"), test[1:]...)
	}
	return hc, nil
}

// withRestartState fills a pod's restart fields from its container's
// labels. A container the supervisor does not own counts Docker's
// restarts (dockerRestarts, from an inspect).
func withRestartState(p *Pod, l map[string]string, dockerRestarts int, oom bool) {
	if !supervised(l) {
		p.Restarts = dockerRestarts
		return
	}
	rs := readRestartState(l)
	p.Supervised, p.Restarts, p.LastState = true, rs.Count, rs.Last
	if t, err := time.Parse(time.RFC3339Nano, l[LabelPodCreated]); err == nil {
		p.Created = t
	}
	if p.Reason != "" {
		return
	}
	switch p.State {
	case container.StateCreated:
		if !rs.StartAfter.IsZero() {
			p.Reason = ReasonCrashLoopBackOff
		}
	case container.StateExited, container.StateDead:
		p.Reason = terminatedReason(p.ExitCode, oom)
	}
}

// Restarting says whether a pod that does not run is the supervisor's to
// restart (ended, or waiting out its back-off), so it is still the same
// pod, as a crash-looping pod is in Kubernetes, and not one to replace.
func (p Pod) Restarting() bool {
	if !p.Supervised {
		return false
	}
	switch p.State {
	case container.StateExited, container.StateDead:
		return true
	case container.StateCreated:
		// The supervisor creates a restart's container, then starts it
		// when the back-off ends: a created container with restarts
		// behind it is that restart, not a pod that never started.
		return p.Restarts > 0 || strings.HasSuffix(p.Reason, ReasonCrashLoopBackOff)
	}
	return false
}
