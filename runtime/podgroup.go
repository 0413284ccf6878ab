package runtime

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// ContainerStatus is one container of a pod, as `kubectl get pod -o json`
// lists them in containerStatuses and initContainerStatuses.
type ContainerStatus struct {
	Name, ID, Image string
	Role            string // LabelContainerRole: RoleApp, RoleInit, RoleSidecar; empty for a one-container pod
	State, Health   string
	Ready           bool
	Restarts        int
	ExitCode        int
	Reason          string     // CrashLoopBackOff, Error, Completed, OOMKilled (see Pod.Reason)
	LastState       *LastState `json:",omitempty"`
}

// Statuses are the pod's containers; a one-container pod, which has no
// Containers, is its own one entry.
func (p Pod) Statuses() []ContainerStatus {
	if len(p.Containers) > 0 {
		return p.Containers
	}
	return []ContainerStatus{{Name: p.Deployment, ID: p.ID, Image: p.Image, State: p.State, Health: p.Health,
		Ready: p.Ready, Restarts: p.Restarts, ExitCode: p.ExitCode, Reason: p.Reason, LastState: p.LastState}}
}

// Holds says whether container id is the pod's infrastructure container or
// one of its app containers (whose end ends the pod's serving).
func (p Pod) Holds(id string) bool {
	if p.ID == id || (p.InfraID != "" && p.InfraID == id) {
		return true
	}
	for _, c := range p.Containers {
		if c.ID == id && c.Role == RoleApp {
			return true
		}
	}
	return false
}

// member is one container of a pod as List or Inspect found it.
type member struct {
	pod  Pod // the container's view: labels, state, health, IP
	role string
	name string // LabelContainer
	// expected lists, on the infrastructure container, the pod's app and
	// init containers.
	expected, expectedInit []string
}

func memberOf(pod Pod, l map[string]string) member {
	m := member{pod: pod, role: l[LabelContainerRole], name: l[LabelContainer]}
	if m.role == RoleInfra {
		_ = json.Unmarshal([]byte(l[LabelPodContainers]), &m.expected)
		_ = json.Unmarshal([]byte(l[LabelPodInitContainers]), &m.expectedInit)
	}
	return m
}

func (m member) status() ContainerStatus {
	return ContainerStatus{Name: m.name, ID: m.pod.ID, Image: m.pod.Image, Role: m.role, State: m.pod.State,
		Health: m.pod.Health, Ready: m.pod.Ready, Restarts: m.pod.Restarts, ExitCode: m.pod.ExitCode,
		Reason: m.pod.Reason, LastState: m.pod.LastState}
}

// mergePods turns the containers of one host into pods: a one-container
// pod is its container; the containers of a multi-container pod (same
// LabelPod) become one Pod.
func mergePods(ms []member) []Pod {
	groups := map[string][]member{}
	var order []string
	for _, m := range ms {
		k := m.pod.Namespace + "/" + m.pod.Name
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], m)
	}
	pods := make([]Pod, 0, len(order))
	for _, k := range order {
		g := groups[k]
		if len(g) == 1 && g[0].role == "" {
			pods = append(pods, g[0].pod)
			continue
		}
		pods = append(pods, mergeGroup(g))
	}
	return pods
}

// mergeGroup is one multi-container pod from its containers. Its ID is
// its first app container's (the one named like the pod), else the
// infrastructure container's. It is running and ready only when the
// infrastructure container and every app container it expects run (and
// are ready); a pod missing a container, or whose infrastructure container
// stopped, is dead and gets replaced as a whole, as Kubernetes replaces a
// pod whose sandbox is gone.
func mergeGroup(g []member) Pod {
	var infra *member
	apps := map[string]member{}
	inits := map[string]member{}
	for i := range g {
		switch g[i].role {
		case RoleInfra:
			infra = &g[i]
		case RoleInit, RoleSidecar:
			inits[g[i].name] = g[i]
		default:
			apps[g[i].name] = g[i]
		}
	}
	base := g[0]
	if infra != nil {
		base = *infra
	}
	p := base.pod
	p.Containers = nil
	p.Restarts, p.Reason, p.Supervised, p.LastState = 0, "", false, nil
	// lastOf keeps the latest previous end of any container.
	lastOf := func(m member) {
		if ls := m.pod.LastState; ls != nil && (p.LastState == nil || ls.FinishedAt.After(p.LastState.FinishedAt)) {
			p.LastState = ls
		}
	}
	var expected, expectedInit []string
	if infra != nil {
		expected, expectedInit = infra.expected, infra.expectedInit
		p.Created = infra.pod.Created
	}
	if len(expected) == 0 {
		for _, m := range g {
			if m.role == RoleApp {
				expected = append(expected, m.name)
			}
		}
	}

	initDone, initFailed, initRunning := 0, false, false
	for _, n := range expectedInit {
		m, ok := inits[n]
		if !ok {
			continue
		}
		p.Containers = append(p.Containers, m.status())
		p.Restarts += m.pod.Restarts
		lastOf(m)
		switch {
		case m.role == RoleSidecar && m.pod.Reason != "":
			// Restarted by the supervisor: the pod waits on it, as
			// kubectl's Init:CrashLoopBackOff.
			if p.Reason == "" {
				p.Reason = "Init:" + m.pod.Reason
			}
			initDone++
		case m.role == RoleSidecar && m.pod.State == "running":
			initDone++
		case m.role == RoleInit && (m.pod.State == "exited" || m.pod.State == "dead") && m.pod.ExitCode == 0:
			initDone++
		case m.pod.State == "exited" || m.pod.State == "dead":
			initFailed = true
		default:
			initRunning = true
		}
	}

	missing := false
	p.ID = ""
	p.State, p.Health, p.Ready, p.ExitCode = "running", HealthNone, true, 0
	for i, n := range expected {
		m, ok := apps[n]
		if !ok {
			missing = true
			p.Ready = false
			continue
		}
		if i == 0 {
			p.ID, p.Image = m.pod.ID, m.pod.Image
		}
		p.Containers = append(p.Containers, m.status())
		p.Restarts += m.pod.Restarts
		lastOf(m)
		p.Supervised = p.Supervised || m.pod.Supervised
		p.Ready = p.Ready && m.pod.Ready
		if m.pod.State != "running" && p.State == "running" {
			p.State, p.ExitCode = m.pod.State, m.pod.ExitCode
			if m.pod.Reason != "" {
				p.Reason = m.pod.Reason
			}
		}
		p.Health = worseHealth(p.Health, m.pod.Health)
	}
	if infra != nil {
		p.InfraID = infra.pod.ID
		if p.ID == "" {
			p.ID = infra.pod.ID
		}
	}
	switch {
	case infra == nil || infra.pod.State != "running":
		// The network namespace is gone: nothing of the pod can serve.
		p.State, p.Ready, p.Supervised, p.Reason = "dead", false, false, ""
	case missing && (initRunning || initFailed || initDone < len(expectedInit)):
		p.State, p.Ready = "created", false
		if initFailed {
			p.Reason = ReasonInitError
		} else {
			p.Reason = fmt.Sprintf("Init:%d/%d", initDone, len(expectedInit))
		}
	case missing:
		p.State, p.Ready, p.Supervised, p.Reason = "dead", false, false, ""
	}
	return p
}

// worseHealth orders Docker's health states: unhealthy before starting
// before healthy before none.
func worseHealth(a, b string) string {
	rank := map[string]int{HealthNone: 0, HealthHealthy: 1, HealthStarting: 2, HealthUnhealthy: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// inspectGroup is Inspect of a multi-container pod: every container of
// the pod inspected, then merged as List does.
func (p *Pods) inspectGroup(ctx context.Context, cluster, pod string) (Pod, error) {
	cs, err := p.podContainers(ctx, cluster, pod)
	if err != nil {
		return Pod{}, err
	}
	var ms []member
	for _, c := range cs {
		m, _, err := p.inspectMember(ctx, c.ID)
		if err != nil {
			return Pod{}, err
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return Pod{}, fmt.Errorf("%s: pod %s has no containers", p.node, pod)
	}
	return mergeGroup(ms), nil
}

// podContainers lists every container of one pod of cluster.
func (p *Pods) podContainers(ctx context.Context, cluster, pod string) ([]container.Summary, error) {
	cs, err := p.api.ContainerList(ctx, container.ListOptions{
		All: true,
		Filters: filters.NewArgs(
			filters.Arg("label", LabelManagedBy+"="+ManagedBy),
			filters.Arg("label", LabelCluster+"="+cluster),
			filters.Arg("label", LabelPod+"="+pod),
		),
	})
	if err != nil {
		return nil, fmt.Errorf("%s: list containers of pod %s: %w", p.node, pod, err)
	}
	return cs, nil
}
