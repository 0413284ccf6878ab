package runtime

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/reconcile-dev/reconcile/resources"
)

// ProbePath is where a pod sees the reconcile binary that runs its HTTP and
// TCP readiness checks.
const ProbePath = "/.reconcile/reconcile"

// Health values, as Docker reports them.
const (
	HealthNone      = ""
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// Defaults Kubernetes applies to a probe's zero fields; resources defaults
// them too, but a PodSpec built by hand should mean the same thing.
const (
	defaultPeriodSeconds    = resources.DefaultProbePeriodSeconds
	defaultTimeoutSeconds   = resources.DefaultProbeTimeoutSeconds
	defaultFailureThreshold = resources.DefaultProbeFailureThreshold
)

// healthcheck maps a readinessProbe to a Docker HEALTHCHECK. Docker's health
// status becomes the pod's readiness: ready = running and healthy.
//
// How this differs from kubelet:
//   - Docker runs the first check one period after start (after
//     initialDelaySeconds is over, it still waits for the next tick);
//     kubelet probes right at initialDelaySeconds. A pod with the default
//     periodSeconds=10 becomes ready about 10s after it starts.
//   - initialDelaySeconds maps to StartPeriod: Docker does probe during it,
//     and a success there already makes the pod ready; only failures are
//     not counted.
//   - successThreshold is not supported (always 1): one success is healthy.
//   - Docker has no readiness-only check: "unhealthy" does not restart the
//     container (Docker never acts on health), which is what a readiness
//     probe wants.
//   - HTTP and TCP checks run inside the pod's network namespace against the
//     pod IP, as kubelet does; httpGet.host / tcpSocket.host replace it.
//
// A nil probe disables any HEALTHCHECK the image declares, so Ready means
// running, as in Kubernetes.
func healthcheck(pr *resources.Probe, c resources.Container, podIP netip.Addr) (*container.HealthConfig, error) {
	if pr == nil {
		return &container.HealthConfig{Test: []string{"NONE"}}, nil
	}
	test, err := probeTest(pr, c, podIP)
	if err != nil {
		return nil, err
	}
	seconds := func(v, def int32) time.Duration {
		if v <= 0 {
			v = def
		}
		return time.Duration(v) * time.Second
	}
	retries := int(pr.FailureThreshold)
	if retries <= 0 {
		retries = defaultFailureThreshold
	}
	return &container.HealthConfig{
		Test:        test,
		Interval:    seconds(pr.PeriodSeconds, defaultPeriodSeconds),
		Timeout:     seconds(pr.TimeoutSeconds, defaultTimeoutSeconds),
		StartPeriod: time.Duration(max(pr.InitialDelaySeconds, 0)) * time.Second,
		Retries:     retries,
	}, nil
}

// probeTest is the HEALTHCHECK command for one probe. Exec probes run their
// command directly; HTTP and TCP probes run `reconcile probe`, bind-mounted
// at ProbePath, because images need not have curl, wget or even a shell.
func probeTest(pr *resources.Probe, c resources.Container, podIP netip.Addr) ([]string, error) {
	pc, err := resolveProbe("readinessProbe", pr, c, podIP)
	if err != nil {
		return nil, err
	}
	timeout := strconv.Itoa(int(pc.TimeoutSeconds)) + "s"
	switch {
	case len(pc.Exec) > 0:
		return append([]string{"CMD"}, pc.Exec...), nil
	case pc.HTTP != "":
		test := []string{"CMD", ProbePath, "probe", "--http", pc.HTTP}
		for _, hd := range pc.Headers {
			test = append(test, "--header", hd)
		}
		return append(test, "--timeout", timeout), nil
	default:
		return []string{"CMD", ProbePath, "probe", "--tcp", pc.TCP, "--timeout", timeout}, nil
	}
}

// ProbeCheck is one probe with its target resolved (named ports looked up,
// the pod IP filled in) and Kubernetes' defaults applied: what the host's
// supervisor runs for liveness and startup probes.
type ProbeCheck struct {
	Exec    []string `json:"exec,omitempty"`
	HTTP    string   `json:"http,omitempty"`    // URL
	Headers []string `json:"headers,omitempty"` // Name:Value
	TCP     string   `json:"tcp,omitempty"`     // host:port

	InitialDelaySeconds int32 `json:"initialDelaySeconds,omitempty"`
	PeriodSeconds       int32 `json:"periodSeconds"`
	TimeoutSeconds      int32 `json:"timeoutSeconds"`
	SuccessThreshold    int32 `json:"successThreshold"`
	FailureThreshold    int32 `json:"failureThreshold"`
}

// resolveProbe turns a manifest probe into a ProbeCheck; field names the
// probe in errors (readinessProbe, livenessProbe, startupProbe).
func resolveProbe(field string, pr *resources.Probe, c resources.Container, podIP netip.Addr) (ProbeCheck, error) {
	def := func(v, d int32) int32 {
		if v <= 0 {
			return d
		}
		return v
	}
	pc := ProbeCheck{
		InitialDelaySeconds: max(pr.InitialDelaySeconds, 0),
		PeriodSeconds:       def(pr.PeriodSeconds, defaultPeriodSeconds),
		TimeoutSeconds:      def(pr.TimeoutSeconds, defaultTimeoutSeconds),
		SuccessThreshold:    def(pr.SuccessThreshold, 1),
		FailureThreshold:    def(pr.FailureThreshold, defaultFailureThreshold),
	}
	target := "127.0.0.1"
	if podIP.IsValid() {
		target = podIP.String()
	}
	switch {
	case pr.Exec != nil:
		if len(pr.Exec.Command) == 0 {
			return pc, fmt.Errorf("%s.exec.command is empty", field)
		}
		pc.Exec = pr.Exec.Command
	case pr.HTTPGet != nil:
		h := pr.HTTPGet
		port, err := resolvePort(h.Port, c)
		if err != nil {
			return pc, fmt.Errorf("%s.httpGet.port: %w", field, err)
		}
		host := target
		if h.Host != "" {
			host = h.Host
		}
		scheme := strings.ToLower(h.Scheme)
		if scheme == "" {
			scheme = "http"
		}
		if scheme != "http" && scheme != "https" {
			return pc, fmt.Errorf("%s.httpGet.scheme %q: want HTTP or HTTPS", field, h.Scheme)
		}
		path := h.Path
		if path == "" {
			path = "/"
		} else if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		pc.HTTP = scheme + "://" + net.JoinHostPort(host, strconv.Itoa(int(port))) + path
		for _, hd := range h.HTTPHeaders {
			pc.Headers = append(pc.Headers, hd.Name+":"+hd.Value)
		}
	case pr.TCPSocket != nil:
		port, err := resolvePort(pr.TCPSocket.Port, c)
		if err != nil {
			return pc, fmt.Errorf("%s.tcpSocket.port: %w", field, err)
		}
		host := target
		if pr.TCPSocket.Host != "" {
			host = pr.TCPSocket.Host
		}
		pc.TCP = net.JoinHostPort(host, strconv.Itoa(int(port)))
	default:
		return pc, fmt.Errorf("%s has no handler: give one of exec, httpGet or tcpSocket", field)
	}
	return pc, nil
}

// needsProbeBinary reports whether the probe runs `reconcile probe`.
func needsProbeBinary(pr *resources.Probe) bool {
	return pr != nil && pr.Exec == nil && (pr.HTTPGet != nil || pr.TCPSocket != nil)
}

// resolvePort turns a probe port (a number or the name of one of the
// container's ports) into a number.
func resolvePort(p resources.IntOrString, c resources.Container) (int32, error) {
	if !p.IsString {
		if p.IntVal < 1 || p.IntVal > 65535 {
			return 0, fmt.Errorf("port %d is out of range 1-65535", p.IntVal)
		}
		return p.IntVal, nil
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return resolvePort(resources.FromInt(int32(n)), c)
	}
	var names []string
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort, nil
		}
		if cp.Name != "" {
			names = append(names, cp.Name)
		}
	}
	if len(names) == 0 {
		return 0, fmt.Errorf("container %s has no port named %q (its ports have no names)", c.Name, p.StrVal)
	}
	return 0, fmt.Errorf("container %s has no port named %q (named ports: %s)", c.Name, p.StrVal, strings.Join(names, ", "))
}

// parseStatus reads the health and the exit code out of the Status column of
// a container list ("Up 3 minutes (healthy)", "Exited (137) 2 seconds ago"),
// so listing pods takes one API call instead of one inspect per pod.
func parseStatus(status string) (health string, exitCode int) {
	switch {
	case strings.HasSuffix(status, "(healthy)"):
		health = HealthHealthy
	case strings.HasSuffix(status, "(unhealthy)"):
		health = HealthUnhealthy
	case strings.HasSuffix(status, "(health: starting)"):
		health = HealthStarting
	}
	for _, prefix := range []string{"Exited (", "Restarting ("} {
		rest, ok := strings.CutPrefix(status, prefix)
		if !ok {
			continue
		}
		code, _, ok := strings.Cut(rest, ")")
		if n, err := strconv.Atoi(code); ok && err == nil {
			exitCode = n
		}
	}
	return health, exitCode
}

// ready is the pod's readiness: running, and healthy when it has a check.
func ready(state, health string) bool {
	return state == container.StateRunning && (health == HealthNone || health == HealthHealthy)
}

// parseUptime reads how long a container has run out of the list's
// Status column ("Up 5 seconds", "Up About a minute", "Up 3 hours
// (healthy)"), rounded down as Docker rounds it; 0 when it does not run.
func parseUptime(status string) time.Duration {
	rest, ok := strings.CutPrefix(status, "Up ")
	if !ok {
		return 0
	}
	f := strings.Fields(rest)
	if len(f) < 2 {
		return 0
	}
	n, err := strconv.Atoi(f[0])
	if f[0] == "About" || f[0] == "an" || f[0] == "a" {
		n, err = 1, nil
	}
	if err != nil {
		return 0 // "Less than a second"
	}
	units := map[string]time.Duration{"second": time.Second, "minute": time.Minute, "hour": time.Hour,
		"day": 24 * time.Hour, "week": 7 * 24 * time.Hour, "month": 30 * 24 * time.Hour, "year": 365 * 24 * time.Hour}
	unit := strings.TrimSuffix(f[1], "s")
	if f[0] == "About" && len(f) > 2 {
		unit = strings.TrimSuffix(f[2], "s")
	}
	return time.Duration(n) * units[unit]
}
