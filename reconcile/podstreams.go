package reconcile

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/reconcile-dev/reconcile/runtime"
)

// StreamHost is a Host whose pods' logs can be read and in whose pods
// commands can run (logs, exec). The SSH host is one; the planner's fakes
// need not be.
type StreamHost interface {
	Streams() *runtime.Streams
}

// Streams reaches the host's Docker log and exec API over its SSH
// connection.
func (s *sshHost) Streams() *runtime.Streams { return runtime.NewStreams(s.h.Name, s.h.Docker()) }

// PodRef names what logs and exec act on: one pod, or every pod of a
// Deployment (deploy/NAME).
type PodRef struct {
	Namespace  string
	Pod        string
	Deployment string
}

func (r PodRef) String() string {
	if r.Deployment != "" {
		return "deployment/" + r.Deployment
	}
	return "pod/" + r.Pod
}

// ParsePodRef reads kubectl's forms: NAME, pod/NAME, po/NAME, deploy/NAME,
// deployment/NAME, deployments.apps/NAME.
func ParsePodRef(namespace, s string) (PodRef, error) {
	kind, name, ok := strings.Cut(s, "/")
	if !ok {
		kind, name = "pod", s
	}
	if name == "" || strings.Contains(name, "/") {
		return PodRef{}, fmt.Errorf("%q is not a pod or deployment: use NAME, pod/NAME or deploy/NAME", s)
	}
	switch strings.ToLower(kind) {
	case "pod", "pods", "po":
		return PodRef{Namespace: namespace, Pod: name}, nil
	case "deploy", "deployment", "deployments", "deployment.apps", "deployments.apps":
		return PodRef{Namespace: namespace, Deployment: name}, nil
	}
	return PodRef{}, fmt.Errorf("cannot read logs or exec into a %s: use pod/NAME or deploy/NAME", kind)
}

// hostContainers is every pod container of the cluster on the reachable
// hosts, read in parallel, with where they are.
type hostContainers struct {
	all     []runtime.PodContainer
	streams map[string]*runtime.Streams // by node
	failed  []NodeError                 // hosts that could not be listed, or have no stream access
}

func listContainers(ctx context.Context, cluster string, hosts map[string]Host, unreachable map[string]error) *hostContainers {
	hc := &hostContainers{streams: map[string]*runtime.Streams{}, failed: nodeErrors(unreachable)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, h := range hosts {
		sh, ok := h.(StreamHost)
		if !ok {
			hc.failed = append(hc.failed, NodeError{Node: name, Error: "this host gives no access to logs or exec"})
			continue
		}
		st := sh.Streams()
		wg.Go(func() {
			cs, err := st.PodContainers(ctx, cluster)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				hc.failed = append(hc.failed, NodeError{Node: name, Error: err.Error()})
				return
			}
			hc.streams[name] = st
			hc.all = append(hc.all, cs...)
		})
	}
	wg.Wait()
	sort.SliceStable(hc.all, func(i, j int) bool {
		a, b := hc.all[i], hc.all[j]
		if a.Namespace+"/"+a.Pod != b.Namespace+"/"+b.Pod {
			return a.Namespace+"/"+a.Pod < b.Namespace+"/"+b.Pod
		}
		return false // PodContainers' order within a pod
	})
	sort.Slice(hc.failed, func(i, j int) bool { return hc.failed[i].Node < hc.failed[j].Node })
	return hc
}

// pods are the containers of the pods ref names, by pod name in order.
func (hc *hostContainers) pods(ref PodRef) (names []string, byPod map[string][]runtime.PodContainer) {
	byPod = map[string][]runtime.PodContainer{}
	for _, c := range hc.all {
		if c.Namespace != ref.Namespace {
			continue
		}
		if (ref.Pod != "" && c.Pod != ref.Pod) || (ref.Deployment != "" && c.Deployment != ref.Deployment) {
			continue
		}
		if _, ok := byPod[c.Pod]; !ok {
			names = append(names, c.Pod)
		}
		byPod[c.Pod] = append(byPod[c.Pod], c)
	}
	return names, byPod
}

// notFound says ref has no pods, and which hosts could not be looked at.
func (hc *hostContainers) notFound(ref PodRef) error {
	msg := fmt.Sprintf("pods %q not found in namespace %q", ref.Pod, ref.Namespace)
	if ref.Deployment != "" {
		msg = fmt.Sprintf("deployment %q in namespace %q has no pods on the hosts", ref.Deployment, ref.Namespace)
	}
	if len(hc.failed) > 0 {
		return fmt.Errorf("%s (not every host could be looked at)\n%w", msg, Unreachable(hc.failed))
	}
	return &NotFoundError{msg: msg}
}

// NotFoundError is a pod or Deployment that logs or exec cannot find.
type NotFoundError struct{ msg string }

func (e *NotFoundError) Error() string { return e.msg }

// containerNames are a pod's distinct container names in PodContainers'
// order (init containers first), each once.
func containerNames(cs []runtime.PodContainer) []string {
	var names []string
	seen := map[string]bool{}
	for _, c := range cs {
		if !seen[c.Name] {
			seen[c.Name] = true
			names = append(names, c.Name)
		}
	}
	return names
}

// current is the container of that name that runs now: the newest one
// (an older one of the same name is an instance reconcile kept).
func current(cs []runtime.PodContainer, name string) (runtime.PodContainer, bool) {
	var cur runtime.PodContainer
	found := false
	for _, c := range cs {
		if c.Name == name && (!found || c.Created.After(cur.Created)) {
			cur, found = c, true
		}
	}
	return cur, found
}

// defaultContainer is kubectl's choice when -c is not given: the pod's
// first app container. The notice names the others, as kubectl's
// "Defaulted container" does, when there are any.
func defaultContainer(cs []runtime.PodContainer) (name, notice string) {
	names := containerNames(cs)
	for _, c := range cs {
		if c.Role == runtime.RoleApp && c.First {
			name = c.Name
			break
		}
	}
	if name == "" {
		for _, c := range cs {
			if c.Role == runtime.RoleApp {
				name = c.Name
				break
			}
		}
	}
	if name == "" && len(names) > 0 {
		name = names[0]
	}
	if len(names) > 1 {
		var list []string
		for _, n := range names {
			c, _ := current(cs, n)
			if c.Role != runtime.RoleApp {
				n += " (init)"
			}
			list = append(list, n)
		}
		notice = fmt.Sprintf("Defaulted container %q out of: %s", name, strings.Join(list, ", "))
	}
	return name, notice
}
