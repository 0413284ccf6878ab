package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// Delete stops a pod, giving it grace to exit after SIGTERM, and removes
// it. A pod that is already gone is not an error. Containers reconcile did
// not create are refused.
func (p *Pods) Delete(ctx context.Context, id string, grace time.Duration) error {
	c, err := p.api.ContainerInspect(ctx, id)
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: delete pod %s: %w", p.node, id, err)
	}
	if c.Config == nil || c.Config.Labels[LabelManagedBy] != ManagedBy {
		return fmt.Errorf("%s: delete %s: container %s was not created by reconcile; leaving it alone", p.node, id, c.Name)
	}
	name := c.Config.Labels[LabelPod]
	if c.Config.Labels[LabelContainerRole] != "" {
		return p.deleteGroup(ctx, c.Config.Labels[LabelCluster], name, grace)
	}
	if err := p.release(ctx, id, c.Config.Labels); err != nil {
		return fmt.Errorf("%s: delete pod %s: %w", p.node, name, err)
	}
	secs := int((grace + time.Second - 1) / time.Second)
	if err := p.api.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%s: stop pod %s: %w", p.node, name, err)
	}
	err = p.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%s: remove pod %s: %w", p.node, name, err)
	}
	// A restarted container's previous instance goes with it.
	err = p.api.ContainerRemove(ctx, strings.TrimPrefix(c.Name, "/")+PrevSuffix, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%s: remove pod %s: %w", p.node, name, err)
	}
	return p.removePodVolumes(ctx, c.Config.Labels[LabelCluster], name)
}

// release takes a container from the host's supervisor before it is
// stopped, so its end is not a crash to restart: the supervisor only
// restarts containers whose Docker restart policy is "no", and Docker
// itself never restarts a stopped unless-stopped container.
func (p *Pods) release(ctx context.Context, id string, l map[string]string) error {
	if !supervised(l) {
		return nil
	}
	_, err := p.api.ContainerUpdate(ctx, id, container.UpdateConfig{RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return err
	}
	return nil
}

// deleteGroup stops a multi-container pod's containers in parallel (each
// gets the grace period, as kubelet stops a pod's containers together),
// the infrastructure container last, and removes them all.
func (p *Pods) deleteGroup(ctx context.Context, cluster, pod string, grace time.Duration) error {
	cs, err := p.podContainers(ctx, cluster, pod)
	if err != nil {
		return err
	}
	secs := int((grace + time.Second - 1) / time.Second)
	var infra []string
	var wg sync.WaitGroup
	errs := make([]error, len(cs))
	for i, c := range cs {
		if c.Labels[LabelContainerRole] == RoleInfra {
			infra = append(infra, c.ID)
			continue
		}
		wg.Go(func() {
			if err := p.release(ctx, c.ID, c.Labels); err != nil {
				errs[i] = fmt.Errorf("%s: stop pod %s container %s: %w", p.node, pod, c.Labels[LabelContainer], err)
				return
			}
			if err := p.api.ContainerStop(ctx, c.ID, container.StopOptions{Timeout: &secs}); err != nil && !cerrdefs.IsNotFound(err) {
				errs[i] = fmt.Errorf("%s: stop pod %s container %s: %w", p.node, pod, c.Labels[LabelContainer], err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var ids []string
	for _, c := range cs {
		if c.Labels[LabelContainerRole] != RoleInfra {
			ids = append(ids, c.ID)
		}
	}
	// removeAll removes from the end: the infrastructure container last.
	if err := p.removeAll(ctx, append(infra, ids...)); err != nil {
		return fmt.Errorf("%s: remove pod %s: %w", p.node, pod, err)
	}
	return p.removePodVolumes(ctx, cluster, pod)
}

// Logs returns the last lines of a pod's output, stdout and stderr
// interleaved; lines <= 0 means all of it.
func (p *Pods) Logs(ctx context.Context, id string, lines int) (string, error) {
	tail := "all"
	if lines > 0 {
		tail = strconv.Itoa(lines)
	}
	rc, err := p.api.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: tail})
	if err != nil {
		return "", fmt.Errorf("%s: logs of pod %s: %w", p.node, id, err)
	}
	defer rc.Close()
	// Pods never have a TTY, so the stream is always multiplexed.
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		return out.String(), fmt.Errorf("%s: logs of pod %s: %w", p.node, id, err)
	}
	return out.String(), nil
}
