package reconcile

import (
	"context"
	"fmt"
	"io"

	"github.com/reconcile-dev/reconcile/runtime"
)

// ExecRequest is one `reconcile exec`.
type ExecRequest struct {
	Ref       PodRef // a pod, or a Deployment: its first pod, as kubectl picks one
	Container string // -c; empty: the pod's default container
	runtime.ExecOptions
}

// Exec runs req's command in its pod's container and returns the
// command's exit code.
func Exec(ctx context.Context, cluster string, hosts map[string]Host, unreachable map[string]error, req ExecRequest, notices io.Writer) (int, error) {
	hc := listContainers(ctx, cluster, hosts, unreachable)
	names, byPod := hc.pods(req.Ref)
	if len(names) == 0 {
		return 0, hc.notFound(req.Ref)
	}
	pod := names[0]
	if req.Ref.Deployment != "" {
		// A running pod, as kubectl's attachable pod for a Deployment.
		for _, n := range names {
			if c, ok := current(byPod[n], mustDefault(byPod[n])); ok && c.State == "running" {
				pod = n
				break
			}
		}
	}
	cs := byPod[pod]
	name := req.Container
	if name == "" {
		var notice string
		name, notice = defaultContainer(cs)
		if notice != "" {
			fmt.Fprintln(notices, notice)
		}
	}
	c, ok := current(cs, name)
	if !ok {
		return 0, fmt.Errorf("container %s is not valid for pod %s: it has %v", name, pod, containerNames(cs))
	}
	return hc.streams[c.Node].Exec(ctx, c.ID, req.ExecOptions)
}

func mustDefault(cs []runtime.PodContainer) string {
	n, _ := defaultContainer(cs)
	return n
}
