package runtime

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/reconcile-dev/reconcile/resources"
)

// Reasons of a pod whose init containers did not complete, as kubectl
// shows them.
const (
	ReasonInitError = "Init:Error"
)

// createMulti creates a pod of several containers, or one with init
// containers: the infrastructure container first (it takes the pod IP),
// then each init container in order, each run to completion (a sidecar,
// restartPolicy Always, is started and left running), then the app
// containers. Anything failing removes what was made, so the next try
// starts over, as kubelet recreates a pod sandbox.
func (p *Pods) createMulti(ctx context.Context, s PodSpec) (Pod, error) {
	var warnings []string
	seen := map[string]bool{}
	for _, c := range append(append([]resources.Container{}, s.InitContainers...), s.containers()...) {
		if seen[c.Image] {
			continue
		}
		seen[c.Image] = true
		w, err := p.ensureImage(ctx, c, s.PullSecrets)
		if err != nil {
			reason := ReasonErrImagePull
			if pullPolicy(c) == PullNever {
				reason = ReasonErrImageNeverPull
			}
			return Pod{}, p.podError(s.Name, reason, &createError{node: p.node, pod: s.Name, err: err})
		}
		warnings = append(warnings, w...)
	}
	for _, c := range append(append([]resources.Container(nil), s.InitContainers...), s.containers()...) {
		if err := p.checkNonRoot(ctx, s, c); err != nil {
			return Pod{}, err
		}
	}
	warnings = append(warnings, specWarnings(s)...)
	if err := p.ensurePauseImage(ctx); err != nil {
		return Pod{}, p.podError(s.Name, ReasonCreateContainer, err)
	}

	infra, ip, err := p.createInfra(ctx, s)
	if err != nil {
		return Pod{}, p.podError(s.Name, ReasonCreateContainer, fmt.Errorf("%s: create pod %s: %w", p.node, s.Name, err))
	}
	made := []string{infra}
	fail := func(reason string, err error) (Pod, error) {
		if rmErr := p.removeAll(context.WithoutCancel(ctx), made); rmErr != nil {
			return Pod{}, fmt.Errorf("%w (and removing the pod's containers failed: %v)", err, rmErr)
		}
		return Pod{}, p.podError(s.Name, reason, err)
	}
	if err := p.api.ContainerStart(ctx, infra, container.StartOptions{}); err != nil {
		return fail(ReasonRunContainer, fmt.Errorf("%s: start pod %s (IP %s): infrastructure container: %w", p.node, s.Name, ip, err))
	}
	pn := podNet{ip: ip, infra: infra}

	initCtx := ctx
	if s.InitDeadline > 0 {
		var cancel context.CancelFunc
		initCtx, cancel = context.WithTimeout(ctx, s.InitDeadline)
		defer cancel()
	}
	for _, c := range s.InitContainers {
		pn.role = RoleInit
		if c.RestartPolicy == resources.RestartPolicyAlways {
			pn.role = RoleSidecar
		}
		id, err := p.createOne(ctx, s, c, pn, containerName(s.Name, c.Name, false))
		if id != "" {
			made = append(made, id)
		}
		if err != nil {
			return fail(ReasonCreateContainer, err)
		}
		if err := p.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
			return fail(ReasonRunContainer, fmt.Errorf("%s: start pod %s: init container %s: %w", p.node, s.Name, c.Name, err))
		}
		if pn.role == RoleSidecar {
			continue // started is what a sidecar needs before the next one
		}
		if err := p.waitInit(initCtx, s, c, id); err != nil {
			return fail(ReasonInitError, err)
		}
	}

	pn.role = RoleApp
	var first string
	for i, c := range s.containers() {
		id, err := p.createOne(ctx, s, c, pn, containerName(s.Name, c.Name, i == 0))
		if id != "" {
			made = append(made, id)
		}
		if err != nil {
			return fail(ReasonCreateContainer, err)
		}
		if i == 0 {
			first = id
		}
		if err := p.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
			return fail(ReasonRunContainer, fmt.Errorf("%s: start pod %s (IP %s): container %s: %w", p.node, s.Name, ip, c.Name, err))
		}
	}
	pod, err := p.Inspect(ctx, first)
	if err != nil {
		return Pod{}, err
	}
	pod.Warnings = warnings
	return pod, nil
}

// createInfra chooses the pod IP and creates the infrastructure container
// holding it, under the lock, so that parallel creates see each other.
func (p *Pods) createInfra(ctx context.Context, s PodSpec) (string, netip.Addr, error) {
	p.ipMu.Lock()
	defer p.ipMu.Unlock()
	subnet, gw, used, err := p.usedPodIPs(ctx)
	if err != nil {
		return "", netip.Addr{}, err
	}
	ip, err := nextFreeIP(subnet, gw, used)
	if err != nil {
		return "", netip.Addr{}, podFault{err}
	}
	cfg, hc, nc, err := infraConfig(s, ip)
	if err != nil {
		return "", netip.Addr{}, podFault{err}
	}
	resp, err := p.api.ContainerCreate(ctx, cfg, hc, nc, nil, s.Name+infraSuffix)
	if err != nil {
		return "", netip.Addr{}, err
	}
	return resp.ID, ip, nil
}

func (p *Pods) createOne(ctx context.Context, s PodSpec, c resources.Container, pn podNet, name string) (string, error) {
	cfg, hc, nc, err := appContainerConfig(s, c, pn)
	if err != nil {
		return "", fmt.Errorf("%s: create pod %s: container %s: %w", p.node, s.Name, c.Name, podFault{err})
	}
	resp, err := p.api.ContainerCreate(ctx, cfg, hc, nc, nil, name)
	if err != nil {
		return "", fmt.Errorf("%s: create pod %s: container %s: %w", p.node, s.Name, c.Name, err)
	}
	return resp.ID, nil
}

// waitInit waits for an init container to exit; anything but exit 0 is
// the pod's failure, with the container's last lines.
func (p *Pods) waitInit(ctx context.Context, s PodSpec, c resources.Container, id string) error {
	okc, errc := p.api.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	var code int64
	select {
	case r := <-okc:
		if r.Error != nil {
			return fmt.Errorf("%s: pod %s: init container %s: %w", p.node, s.Name, c.Name, podFault{errors.New(r.Error.Message)})
		}
		code = r.StatusCode
	case err := <-errc:
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return fmt.Errorf("%s: pod %s: init container %s did not complete within %s: %w", p.node, s.Name, c.Name, s.InitDeadline, podFault{err})
		}
		return fmt.Errorf("%s: pod %s: wait for init container %s: %w", p.node, s.Name, c.Name, err)
	}
	if code == 0 {
		return nil
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	logs, _ := p.Logs(lctx, id, 5)
	msg := fmt.Sprintf("%s: pod %s: init container %s exited with code %d", p.node, s.Name, c.Name, code)
	if l := strings.TrimSpace(logs); l != "" {
		msg += ": " + truncateBytes([]byte(l), 300)
	}
	return podFault{errors.New(msg)}
}

// removeAll force-removes containers of a pod being made.
func (p *Pods) removeAll(ctx context.Context, ids []string) error {
	var errs []error
	for i := len(ids) - 1; i >= 0; i-- { // the infrastructure container last
		if err := p.api.ContainerRemove(ctx, ids[i], container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
