package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// RestartAPI is the part of Docker's API a restart uses.
type RestartAPI interface {
	ContainerInspect(ctx context.Context, containerID string) (container.InspectResponse, error)
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, containerID string, options container.StartOptions) error
	ContainerRemove(ctx context.Context, containerID string, options container.RemoveOptions) error
	ContainerRename(ctx context.Context, containerID, newContainerName string) error
}

// Restartable says whether the supervisor should restart an ended
// container: ours, a pod's app container or sidecar handed to it, not
// released for deletion (Pods.release), not a previous instance.
func Restartable(c container.InspectResponse) bool {
	if c.Config == nil || c.HostConfig == nil || c.State == nil {
		return false
	}
	l := c.Config.Labels
	return l[LabelManagedBy] == ManagedBy && l[LabelPod] != "" && supervised(l) &&
		l[LabelContainerRole] != RoleInit && l[LabelContainerRole] != RoleInfra &&
		c.HostConfig.RestartPolicy.Name == container.RestartPolicyDisabled &&
		(c.State.Status == container.StateExited || c.State.Status == container.StateDead)
}

// Restarted is what Restart did.
type Restarted struct {
	ID        string        // the new container
	Name      string        // its Docker name
	Count     int           // restarts so far
	Wait      time.Duration // back-off before it starts (0: started)
	StartAt   time.Time
	LastState LastState
}

// Restart replaces ended container c by a new one with the same
// configuration, as kubelet restarts a container: c is renamed
// <name>_PREV (an older previous instance is removed), and the new
// container carries the restart count, c's end (message says why it was
// killed, if it was) and the back-off in its labels. It is started at once
// when no back-off applies; otherwise it stays created until StartAt,
// and the caller starts it then (StartDue).
func Restart(ctx context.Context, api RestartAPI, c container.InspectResponse, base time.Duration, message string) (Restarted, error) {
	name := strings.TrimPrefix(c.Name, "/")
	base0 := strings.TrimSuffix(name, PrevSuffix)
	prev := base0 + PrevSuffix
	rs := readRestartState(c.Config.Labels)
	started, _ := time.Parse(time.RFC3339Nano, c.State.StartedAt)
	finished, err := time.Parse(time.RFC3339Nano, c.State.FinishedAt)
	if err != nil || finished.Year() < 2000 {
		finished = time.Now()
	}
	ran := time.Duration(0)
	if started.Year() >= 2000 {
		ran = finished.Sub(started)
	}
	wait, next := nextBackoff(rs.Backoff, ran, base)
	ls := LastState{ExitCode: c.State.ExitCode, Reason: terminatedReason(c.State.ExitCode, c.State.OOMKilled),
		Message: truncateBytes([]byte(message), 200), StartedAt: started.UTC(), FinishedAt: finished.UTC(), Container: prev}
	out := Restarted{Name: base0, Count: rs.Count + 1, Wait: wait, LastState: ls}

	if name != prev { // not already moved aside by an interrupted restart
		if err := removePrevious(ctx, api, prev, c.Config.Labels[LabelPod]); err != nil {
			return out, err
		}
		if err := api.ContainerRename(ctx, c.ID, prev); err != nil {
			return out, fmt.Errorf("restart %s: rename to %s: %w", name, prev, err)
		}
	}

	cfg := *c.Config
	cfg.Labels = make(map[string]string, len(c.Config.Labels)+4)
	for k, v := range c.Config.Labels {
		cfg.Labels[k] = v
	}
	lsJSON, _ := json.Marshal(ls)
	cfg.Labels[LabelRestartCount] = strconv.Itoa(out.Count)
	cfg.Labels[LabelLastState] = string(lsJSON)
	cfg.Labels[LabelBackoff] = strconv.Itoa(int(next / time.Second))
	delete(cfg.Labels, LabelStartAfter)
	if cfg.Labels[LabelPodCreated] == "" {
		if t, err := time.Parse(time.RFC3339Nano, c.Created); err == nil {
			cfg.Labels[LabelPodCreated] = t.UTC().Format(time.RFC3339Nano)
		}
	}
	if wait > 0 {
		out.StartAt = finished.Add(wait).UTC()
		cfg.Labels[LabelStartAfter] = out.StartAt.Format(time.RFC3339Nano)
	}
	hc := *c.HostConfig
	var nc *network.NetworkingConfig
	if hc.NetworkMode.IsContainer() {
		// Docker copies the joined container's hostname into the
		// inspected config, and refuses it (and ports) on create.
		cfg.Hostname, cfg.Domainname, cfg.ExposedPorts = "", "", nil
	} else if ip := c.Config.Labels[LabelPodIP]; ip != "" {
		nc = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			string(hc.NetworkMode): {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: ip}},
		}}
	}
	resp, err := api.ContainerCreate(ctx, &cfg, &hc, nc, nil, base0)
	if err != nil {
		return out, fmt.Errorf("restart %s: create: %w", base0, err)
	}
	out.ID = resp.ID
	if wait == 0 {
		if err := api.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
			return out, fmt.Errorf("restart %s: start: %w", base0, err)
		}
	}
	return out, nil
}

// removePrevious removes an earlier previous instance, if it is one of
// the same pod's.
func removePrevious(ctx context.Context, api RestartAPI, prev, pod string) error {
	old, err := api.ContainerInspect(ctx, prev)
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restart: inspect %s: %w", prev, err)
	}
	if old.Config == nil || old.Config.Labels[LabelManagedBy] != ManagedBy || old.Config.Labels[LabelPod] != pod {
		return fmt.Errorf("restart: a container named %s exists that is not this pod's: leaving it alone", prev)
	}
	if err := api.ContainerRemove(ctx, old.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("restart: remove %s: %w", prev, err)
	}
	return nil
}

// StartAfter is when a container waiting out its back-off is due (zero:
// it does not wait).
func StartAfter(l map[string]string) time.Time {
	if !supervised(l) {
		return time.Time{}
	}
	return readRestartState(l).StartAfter
}
