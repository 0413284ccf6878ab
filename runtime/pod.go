package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/reconcile-dev/reconcile/resources"
)

// PodSpec is one pod to create on a host.
type PodSpec struct {
	Cluster, Namespace, Deployment, TemplateHash string
	Name                                         string // from PodName(Deployment, TemplateHash)
	Source                                       string // the managing source's identity (LabelSource); may be empty

	Labels      map[string]string // the template's labels; also set on the container as they are
	Annotations map[string]string
	// Containers are the pod's app containers, in order. Container is the
	// first (a pod of one container may set only Container; see
	// containers).
	Containers     []resources.Container
	Container      resources.Container
	InitContainers []resources.Container // run in order before Containers; restartPolicy Always: sidecars
	// InitDeadline bounds how long Create waits for the init containers
	// (the Deployment's progress deadline); 0: until ctx ends.
	InitDeadline time.Duration
	ExtraEnv     []string // NAME=value, after the manifest's env (service discovery)
	ProbeBinary  string   // host path of a static reconcile binary, for HTTP/TCP readiness probes
	// ResolvConf is a host file bind-mounted read-only as the pod's
	// /etc/resolv.conf (the cluster DNS, as the kubelet writes one); empty
	// keeps Docker's.
	ResolvConf string

	TerminationGracePeriod time.Duration // how long Docker waits after SIGTERM on stop and restart

	// Volumes are the pod's volumes as the host provides them (volumes.go).
	Volumes []PodVolume
	// Env is each container's resolved environment, by container name
	// (ConfigMap and Secret values, downward API fields); a container
	// missing from it takes its manifest's literal values.
	Env map[string][]resources.EnvEntry
	// SpecHash and ConfigHashes are recorded on the pod so a later plan
	// can tell a roll for changed ConfigMap/Secret data (Deployment.
	// SpecHash, ConfigHashes).
	SpecHash, ConfigHashes string
	// Immutable is recorded as LabelImmutable.
	Immutable string
	Security  *resources.PodSecurityContext // the pod's securityContext; each container's is in its Container
	// PullSecrets are the .dockerconfigjson values of the pod's
	// imagePullSecrets, in order (resources.Set.PullSecrets). They only
	// ever reach dockerd as a pull's X-Registry-Auth (pullauth.go): never
	// a container's config, label or a file, never JSON.
	PullSecrets [][]byte `json:"-"`
}

// Pod is a pod as it runs on a host, read back from its container.
type Pod struct {
	ID, Name, Namespace, Deployment, TemplateHash, Node, IP, Image string
	Source                                                         string // LabelSource; empty on pods made before sources were recorded
	SpecHash, ConfigHashes                                         string // LabelSpecHash, LabelConfigHashes
	Immutable                                                      string // LabelImmutable

	Labels map[string]string // the template's labels

	State  string // created, running, restarting, exited, dead, paused, removing
	Health string // HealthNone (no readiness probe), HealthStarting, HealthHealthy, HealthUnhealthy
	Ready  bool   // running, and healthy when there is a readiness probe
	// Reason is why a pod that could not be created waits (ErrImagePull,
	// ImagePullBackOff, ...; such a pod has no container), or why its
	// container does not run: CrashLoopBackOff (waiting out the
	// supervisor's back-off), Error, Completed or OOMKilled (ended, about
	// to be restarted).
	Reason string
	// Supervised says the host's supervisor restarts the pod's containers
	// (restartPolicy Always): an ended container is restarting, not dead.
	Supervised bool `json:",omitempty"`
	// LastState is how the container's previous instance ended; nil when
	// it never restarted.
	LastState *LastState `json:",omitempty"`
	OOMKilled bool       `json:",omitempty"` // Inspect only

	// Restarts counts the supervisor's restarts (labels of the container,
	// so List has them); Started needs an inspect per container: List
	// leaves it zero and Inspect fills it.
	Restarts         int
	Created, Started time.Time
	// UpFor is how long the container has run, from the list's coarse
	// Status ("Up 3 minutes"); for minReadySeconds of pods a run finds
	// ready.
	UpFor    time.Duration `json:",omitempty"`
	ExitCode int

	// Containers are a multi-container pod's containers, init containers
	// first; nil for a one-container pod (see Statuses).
	Containers []ContainerStatus
	InfraID    string `json:",omitempty"` // a multi-container pod's infrastructure container

	// Warnings are non-fatal findings from Create, e.g. a failed pull of an
	// image the host already has, or a probe setting Docker cannot honour.
	Warnings []string
}

// containers are the pod's app containers.
func (s PodSpec) containers() []resources.Container {
	if len(s.Containers) > 0 {
		return s.Containers
	}
	return []resources.Container{s.Container}
}

// multi says whether the pod needs an infrastructure container: more than
// one container to share its network, or init containers, which run
// before the app containers in the pod's network.
func (s PodSpec) multi() bool { return len(s.Containers) > 1 || len(s.InitContainers) > 0 }

// podNameAlphabet is Kubernetes' alphabet for generated name suffixes: no
// vowels (no accidental words) and no look-alikes (0/o, 1/l, 3/e).
const podNameAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// PodName is a new pod name in Kubernetes' form:
// <deployment>-<template hash>-<5 random characters>.
func PodName(deployment, templateHash string) string {
	var b [5]byte
	for i := range b {
		b[i] = podNameAlphabet[rand.IntN(len(podNameAlphabet))]
	}
	return deployment + "-" + templateHash + "-" + string(b[:])
}

// List returns the pods of a cluster on this host, with one API call. The
// container list does not carry restart counts or start times; use Inspect
// for those.
func (p *Pods) List(ctx context.Context, cluster string) ([]Pod, error) {
	cs, err := p.api.ContainerList(ctx, container.ListOptions{
		All: true,
		Filters: filters.NewArgs(
			filters.Arg("label", LabelManagedBy+"="+ManagedBy),
			filters.Arg("label", LabelCluster+"="+cluster),
		),
	})
	if err != nil {
		return nil, fmt.Errorf("%s: list pods: %w", p.node, err)
	}
	current := make(map[string]bool, len(cs))
	for _, c := range cs {
		if !isPrevious(c.Names) {
			for _, n := range c.Names {
				current[n] = true
			}
		}
	}
	ms := make([]member, 0, len(cs))
	for _, c := range cs {
		if c.Labels[LabelPod] == "" {
			continue // ours, but not a pod
		}
		if isPrevious(c.Names) && !restartInFlight(c.Names, current) {
			continue // a restarted container's previous instance, not part of its pod
		}
		pod := p.podFromLabels(c.ID, c.Labels)
		pod.State = c.State
		pod.Health, pod.ExitCode = parseStatus(c.Status)
		pod.UpFor = parseUptime(c.Status)
		withRestartState(&pod, c.Labels, 0, false)
		pod.Ready = ready(pod.State, pod.Health)
		pod.Created = time.Unix(c.Created, 0).UTC()
		if pod.Image == "" {
			pod.Image = c.Image
		}
		if c.NetworkSettings != nil {
			if es := c.NetworkSettings.Networks[PodNetwork]; es != nil && es.IPAddress != "" {
				pod.IP = es.IPAddress
			}
		}
		ms = append(ms, memberOf(pod, c.Labels))
	}
	pods := mergePods(ms)
	sort.Slice(pods, func(i, j int) bool {
		if pods[i].Namespace != pods[j].Namespace {
			return pods[i].Namespace < pods[j].Namespace
		}
		return pods[i].Name < pods[j].Name
	})
	return pods, nil
}

// Inspect returns one pod with everything List leaves out; id is any of
// its containers.
func (p *Pods) Inspect(ctx context.Context, id string) (Pod, error) {
	m, cluster, err := p.inspectMember(ctx, id)
	if err != nil {
		return Pod{}, err
	}
	if m.role != "" {
		return p.inspectGroup(ctx, cluster, m.pod.Name)
	}
	return m.pod, nil
}

// inspectMember inspects one container of a pod; it also returns the
// pod's cluster.
func (p *Pods) inspectMember(ctx context.Context, id string) (member, string, error) {
	c, err := p.api.ContainerInspect(ctx, id)
	if err != nil {
		return member{}, "", fmt.Errorf("%s: inspect pod %s: %w", p.node, id, err)
	}
	if c.Config == nil || c.Config.Labels[LabelManagedBy] != ManagedBy || c.Config.Labels[LabelPod] == "" {
		return member{}, "", fmt.Errorf("%s: container %s is not a pod reconcile created", p.node, id)
	}
	pod := p.podFromLabels(c.ID, c.Config.Labels)
	if pod.Image == "" {
		pod.Image = c.Config.Image
	}
	if t, err := time.Parse(time.RFC3339Nano, c.Created); err == nil {
		pod.Created = t
	}
	if s := c.State; s != nil {
		pod.State = s.Status
		pod.ExitCode = s.ExitCode
		pod.OOMKilled = s.OOMKilled
		if s.Health != nil {
			pod.Health = s.Health.Status
		}
		if t, err := time.Parse(time.RFC3339Nano, s.StartedAt); err == nil && !t.IsZero() && t.Year() > 1 {
			pod.Started = t
		}
	}
	if c.Config.Healthcheck == nil || len(c.Config.Healthcheck.Test) == 0 || c.Config.Healthcheck.Test[0] == "NONE" {
		pod.Health = HealthNone
	}
	pod.Ready = ready(pod.State, pod.Health)
	withRestartState(&pod, c.Config.Labels, c.RestartCount, pod.OOMKilled)
	if c.NetworkSettings != nil {
		if es := c.NetworkSettings.Networks[PodNetwork]; es != nil && es.IPAddress != "" {
			pod.IP = es.IPAddress
		}
	}
	return memberOf(pod, c.Config.Labels), c.Config.Labels[LabelCluster], nil
}

func (p *Pods) podFromLabels(id string, l map[string]string) Pod {
	pod := Pod{
		ID:           id,
		Name:         l[LabelPod],
		Namespace:    l[LabelNamespace],
		Deployment:   l[LabelDeployment],
		TemplateHash: l[LabelTemplateHash],
		Node:         p.node,
		IP:           l[LabelPodIP],
		Image:        l[LabelImage],
		Source:       l[LabelSource],
		SpecHash:     l[LabelSpecHash],
		ConfigHashes: l[LabelConfigHashes],
		Immutable:    l[LabelImmutable],
	}
	if err := json.Unmarshal([]byte(l[LabelPodLabels]), &pod.Labels); err != nil || pod.Labels == nil {
		// Someone edited the label by hand: fall back to the plain labels,
		// which are the template's labels plus ours.
		pod.Labels = map[string]string{}
		for k, v := range l {
			if !strings.HasPrefix(k, "reconcile.dev/") {
				pod.Labels[k] = v
			}
		}
	}
	return pod
}

// Create pulls the image if the pull policy says so, gives the pod the next
// free IP of the host's pod subnet, and creates and starts its container.
// A container that was created but failed to start is removed again.
func (p *Pods) Create(ctx context.Context, s PodSpec) (Pod, error) {
	// Errors that dockerd answered with are the pod's (a PodError, e.g.
	// ErrImagePull); errors of the host itself (SSH, a dockerd that does not
	// answer) are returned as they are, so the caller can tell them apart.
	if err := validateSpec(s); err != nil {
		return Pod{}, &PodError{Node: p.node, Pod: s.Name, Reason: ReasonCreateContainerConfig, Err: fmt.Errorf("%s: create pod %s: %w", p.node, s.Name, err)}
	}
	if err := p.checkClaimVolumes(ctx, s); err != nil {
		return Pod{}, err
	}
	if s.multi() {
		return p.createMulti(ctx, s)
	}
	s.Container = s.containers()[0]
	warnings, err := p.ensureImage(ctx, s.Container, s.PullSecrets)
	if err != nil {
		reason := ReasonErrImagePull
		if pullPolicy(s.Container) == PullNever {
			reason = ReasonErrImageNeverPull
		}
		return Pod{}, p.podError(s.Name, reason, &createError{node: p.node, pod: s.Name, err: err})
	}
	if err := p.checkNonRoot(ctx, s, s.Container); err != nil {
		return Pod{}, err
	}
	warnings = append(warnings, specWarnings(s)...)

	id, ip, err := p.createContainer(ctx, s)
	if err != nil {
		return Pod{}, p.podError(s.Name, ReasonCreateContainer, fmt.Errorf("%s: create pod %s: %w", p.node, s.Name, err))
	}
	if err := p.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		// Leave nothing half-made behind; the next apply starts over.
		rmErr := p.api.ContainerRemove(context.WithoutCancel(ctx), id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if rmErr != nil {
			return Pod{}, fmt.Errorf("%s: start pod %s (IP %s): %w (and removing it failed: %v)", p.node, s.Name, ip, err, rmErr)
		}
		return Pod{}, p.podError(s.Name, ReasonRunContainer, fmt.Errorf("%s: start pod %s (IP %s): %w", p.node, s.Name, ip, err))
	}
	pod, err := p.Inspect(ctx, id)
	if err != nil {
		return Pod{}, err
	}
	pod.Warnings = warnings
	return pod, nil
}

// createContainer chooses the pod IP and creates the container holding it,
// under the lock, so that parallel creates on this host see each other.
func (p *Pods) createContainer(ctx context.Context, s PodSpec) (id string, ip netip.Addr, err error) {
	p.ipMu.Lock()
	defer p.ipMu.Unlock()
	subnet, gw, used, err := p.usedPodIPs(ctx)
	if err != nil {
		return "", netip.Addr{}, err
	}
	ip, err = nextFreeIP(subnet, gw, used)
	if err != nil {
		return "", netip.Addr{}, podFault{err}
	}
	cfg, hc, nc, err := containerConfig(s, ip)
	if err != nil {
		return "", netip.Addr{}, podFault{err}
	}
	resp, err := p.api.ContainerCreate(ctx, cfg, hc, nc, nil, s.Name)
	if err != nil {
		return "", netip.Addr{}, err
	}
	return resp.ID, ip, nil
}

func validateSpec(s PodSpec) error {
	var missing []string
	fields := []struct{ name, v string }{
		{"cluster", s.Cluster}, {"namespace", s.Namespace}, {"deployment", s.Deployment},
		{"template hash", s.TemplateHash}, {"name", s.Name},
	}
	for _, c := range append(s.InitContainers, s.containers()...) {
		fields = append(fields, struct{ name, v string }{"image", c.Image})
	}
	for _, f := range fields {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("pod spec without %s", strings.Join(missing, ", "))
	}
	return nil
}

// specWarnings names manifest settings that are accepted but not honoured.
func specWarnings(s PodSpec) []string {
	var w []string
	for _, c := range append(s.InitContainers, s.containers()...) {
		w = append(w, containerWarnings(s, c)...)
	}
	return w
}

func containerWarnings(s PodSpec, c resources.Container) []string {
	var w []string
	if pr := c.ReadinessProbe; pr != nil && pr.SuccessThreshold > 1 {
		w = append(w, fmt.Sprintf("pod %s: readinessProbe.successThreshold=%d is treated as 1", s.Name, pr.SuccessThreshold))
	}
	for _, cp := range c.Ports {
		if cp.Protocol != "" && cp.Protocol != "TCP" && cp.Protocol != "UDP" {
			w = append(w, fmt.Sprintf("pod %s: port %d protocol %s is not supported", s.Name, cp.ContainerPort, cp.Protocol))
		}
	}
	return w
}

// containerConfig maps a one-container pod to Docker's container
// configuration. It is a pure function so the whole mapping is tested
// without a daemon.
func containerConfig(s PodSpec, ip netip.Addr) (*container.Config, *container.HostConfig, *network.NetworkingConfig, error) {
	return appContainerConfig(s, s.containers()[0], podNet{ip: ip})
}

// podNet says how one container gets its pod's network.
type podNet struct {
	ip netip.Addr
	// infra is the infrastructure container whose network namespace (and
	// hostname) the container joins; empty for a one-container pod, whose
	// container holds the pod IP itself.
	infra string
	role  string // LabelContainerRole; empty for a one-container pod
}

// appContainerConfig is the one place that maps one of a pod's containers
// (an app, init or sidecar container) to Docker's configuration; per-
// container additions (volume mounts, env sources) belong here.
func appContainerConfig(s PodSpec, c resources.Container, pn podNet) (*container.Config, *container.HostConfig, *network.NetworkingConfig, error) {
	hc, err := healthcheck(c.ReadinessProbe, c, pn.ip)
	if err != nil {
		return nil, nil, nil, err
	}
	labels, err := podLabels(s, pn.ip)
	if err != nil {
		return nil, nil, nil, err
	}
	labels[LabelContainer] = c.Name
	labels[LabelImage] = c.Image
	if pn.role != "" {
		labels[LabelContainerRole] = pn.role
	}

	env, vars := containerEnv(s, c, pn.ip)
	mounts, err := volumeMounts(s, c)
	if err != nil {
		return nil, nil, nil, err
	}

	cfg := &container.Config{
		Hostname:     podHostname(s.Name),
		Image:        c.Image,
		Env:          env,
		WorkingDir:   c.WorkingDir,
		Labels:       labels,
		Healthcheck:  hc,
		ExposedPorts: exposedPorts(c),
	}
	// Kubernetes: command replaces the image's ENTRYPOINT (and then its CMD
	// is not used), args replace its CMD. Docker does the same when the
	// entrypoint is given: it only falls back to the image's CMD when no
	// entrypoint is.
	if len(c.Command) > 0 {
		cfg.Entrypoint = expandAll(c.Command, vars)
	}
	if len(c.Args) > 0 {
		cfg.Cmd = expandAll(c.Args, vars)
	}
	if s.TerminationGracePeriod > 0 {
		secs := int((s.TerminationGracePeriod + time.Second - 1) / time.Second)
		cfg.StopTimeout = &secs
	}

	host := &container.HostConfig{
		NetworkMode:   container.NetworkMode(PodNetwork),
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
		Resources:     resourcesFor(c.Resources),
	}
	applySecurity(cfg, host, s.Security, c.SecurityContext)
	if pn.role == RoleInit {
		// Run once to completion; Create waits for it and retries the
		// pod with back-off when it fails.
		host.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyDisabled}
	} else if err := superviseConfig(s, c, pn, cfg, host); err != nil {
		return nil, nil, nil, err
	}
	if needsProbeBinary(c.ReadinessProbe) || c.StartupProbe != nil {
		if s.ProbeBinary == "" {
			return nil, nil, nil, fmt.Errorf("readinessProbe needs the reconcile binary on the host, and no path was given")
		}
		host.Mounts = append(host.Mounts, mount.Mount{
			Type:     mount.TypeBind,
			Source:   s.ProbeBinary,
			Target:   ProbePath,
			ReadOnly: true,
		})
	}
	if s.ResolvConf != "" {
		// Docker leaves a container's resolv.conf alone when one is mounted
		// there: the pod's nameserver is the cluster DNS address itself,
		// not Docker's embedded resolver (127.0.0.11) in front of it.
		host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeBind, Source: s.ResolvConf, Target: "/etc/resolv.conf", ReadOnly: true})
	}
	host.Mounts = append(host.Mounts, mounts...)

	if pn.infra != "" {
		// Joined to the infrastructure container: Docker refuses a
		// hostname or exposed ports of its own (both are the infra's).
		cfg.Hostname, cfg.ExposedPorts = "", nil
		host.NetworkMode = container.NetworkMode("container:" + pn.infra)
		return cfg, host, nil, nil
	}
	host.Sysctls = podSysctls(s.Security) // this container owns the pod's network namespace
	nc := &network.NetworkingConfig{
		EndpointsConfig: map[string]*network.EndpointSettings{
			// A fixed address (not just the one IPAM would hand out) so the
			// pod keeps its IP across restarts, as the endpoints file and
			// other hosts' routes expect.
			PodNetwork: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: pn.ip.String()}},
		},
	}
	return cfg, host, nc, nil
}

// podLabels are the labels every container of a pod carries: the
// template's, and ours from which List rebuilds the pod.
func podLabels(s PodSpec, ip netip.Addr) (map[string]string, error) {
	labels := make(map[string]string, len(s.Labels)+14)
	for k, v := range s.Labels {
		labels[k] = v
	}
	podLabels, err := json.Marshal(nonNil(s.Labels))
	if err != nil {
		return nil, err
	}
	ours := map[string]string{
		LabelManagedBy:    ManagedBy,
		LabelCluster:      s.Cluster,
		LabelNamespace:    s.Namespace,
		LabelDeployment:   s.Deployment,
		LabelTemplateHash: s.TemplateHash,
		LabelPod:          s.Name,
		LabelPodIP:        ip.String(),
		LabelPodLabels:    string(podLabels),
	}
	if s.Source != "" {
		ours[LabelSource] = s.Source
	}
	if s.SpecHash != "" {
		ours[LabelSpecHash] = s.SpecHash
	}
	if s.ConfigHashes != "" {
		ours[LabelConfigHashes] = s.ConfigHashes
	}
	if s.Immutable != "" {
		ours[LabelImmutable] = s.Immutable
	}
	if len(s.Annotations) > 0 {
		ann, err := json.Marshal(s.Annotations)
		if err != nil {
			return nil, err
		}
		ours[LabelAnnotations] = string(ann)
	}
	for k, v := range ours {
		labels[k] = v
	}
	return labels, nil
}

// exposedPorts are the containers' ports, as Docker records them.
func exposedPorts(cs ...resources.Container) nat.PortSet {
	var exposed nat.PortSet
	for _, c := range cs {
		for _, cp := range c.Ports {
			proto := strings.ToLower(cp.Protocol)
			if proto == "" {
				proto = "tcp"
			}
			if exposed == nil {
				exposed = nat.PortSet{}
			}
			exposed[nat.Port(fmt.Sprintf("%d/%s", cp.ContainerPort, proto))] = struct{}{}
		}
	}
	return exposed
}

func containerNames(cs []resources.Container) []string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return names
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called on []string
	}
	return string(b)
}

// resourcesFor maps requests and limits like kubelet does for cgroups:
// limits become hard limits, requests become weights and soft reservations.
// Without a memory limit Docker would allow swap on top of the limit; a pod
// gets no swap, as in Kubernetes.
// hostnameMax is the longest hostname Linux accepts (HOST_NAME_MAX), and
// the longest DNS label.
const hostnameMax = 63

// podHostname is the hostname a pod's container gets: its name, cut to 63
// characters as kubelet does (truncatePodHostnameIfNeeded), without a
// trailing '-' or '.' that the cut may leave. Docker would refuse a longer
// one and sethostname(2) could not set it.
func podHostname(name string) string {
	if len(name) <= hostnameMax {
		return name
	}
	return strings.TrimRight(name[:hostnameMax], "-.")
}

func resourcesFor(r resources.ResourceRequirements) container.Resources {
	var out container.Resources
	if q, ok := r.Limits["cpu"]; ok {
		out.NanoCPUs = q.MilliValue() * 1e6
	}
	if q, ok := r.Limits["memory"]; ok {
		out.Memory = q.Value()
		out.MemorySwap = out.Memory
	}
	if q, ok := r.Requests["cpu"]; ok {
		out.CPUShares = max(q.MilliValue()*1024/1000, 2)
	}
	if q, ok := r.Requests["memory"]; ok {
		out.MemoryReservation = q.Value()
	}
	return out
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// createError is a pod that could not be created because of its image. The
// image errors name the node already; it is said once, at the front.
type createError struct {
	node, pod string
	err       error
}

func (e *createError) Error() string {
	msg, _ := strings.CutPrefix(e.err.Error(), e.node+": ")
	return e.node + ": create pod " + e.pod + ": " + msg
}

func (e *createError) Unwrap() error { return e.err }
