package runtime

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"

	"github.com/reconcile-dev/reconcile/resources"
)

// A pod of several containers (or with init containers) is one
// infrastructure container holding the pod's network namespace, IP and
// hostname, as Kubernetes' pause container does, and its containers joined
// to it (NetworkMode container:<infra>), so they reach each other on
// localhost and share one pod IP. A pod of one container needs none: its
// container holds the IP itself and Docker keeps it across restarts, which
// saves a container per pod on hosts running thousands.
//
// Docker names: the first app container is named like the pod (so `docker
// exec POD` reaches it, as `kubectl exec POD` does), the others and the
// init containers <pod>_<container>, the infrastructure container
// <pod>_POD. '_' and upper case never occur in a pod or container name, so
// these cannot collide with another pod's containers.
const (
	// LabelContainerRole marks a container of a multi-container pod with
	// its role; a one-container pod's container has none.
	LabelContainerRole = "reconcile.dev/container-role"
	// LabelPodContainers, on the infrastructure container, lists the pod's
	// app containers (JSON array of names), so that a pod whose container
	// was removed by hand is seen as broken and replaced.
	LabelPodContainers = "reconcile.dev/pod-containers"
	// LabelPodInitContainers lists the init containers likewise.
	LabelPodInitContainers = "reconcile.dev/pod-init-containers"

	RoleInfra   = "infra"
	RoleApp     = "app"
	RoleInit    = "init"
	RoleSidecar = "sidecar" // an init container with restartPolicy: Always

	// PauseImage is an image reconcile makes on each host by importing a
	// tar of one empty directory (no registry, a few hundred bytes); the
	// infrastructure container runs the node agent binary bind-mounted
	// into it, as probes do, with `node pause`.
	PauseImage = "reconcile-pause:1"

	infraSuffix = "_POD"
)

// containerName is the Docker name of one container of pod.
func containerName(pod, container string, first bool) string {
	if first {
		return pod
	}
	return pod + "_" + container
}

// ensurePauseImage imports the pause image when the host lacks it.
func (p *Pods) ensurePauseImage(ctx context.Context) error {
	if _, err := p.api.ImageInspect(ctx, PauseImage); err == nil {
		return nil
	} else if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%s: inspect image %s: %w", p.node, PauseImage, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: ".reconcile/", Mode: 0o755, Typeflag: tar.TypeDir, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	rc, err := p.api.ImageImport(ctx, image.ImportSource{Source: &buf, SourceName: "-"}, PauseImage,
		image.ImportOptions{Changes: []string{"LABEL " + LabelManagedBy + "=" + ManagedBy}})
	if err != nil {
		return fmt.Errorf("%s: import image %s: %w", p.node, PauseImage, err)
	}
	out, _ := io.ReadAll(io.LimitReader(rc, 64<<10))
	rc.Close()
	if _, err := p.api.ImageInspect(ctx, PauseImage); err != nil {
		// Import reports a failure inside its answer, not as an HTTP error.
		return fmt.Errorf("%s: import image %s: %s", p.node, PauseImage, truncateBytes(out, 300))
	}
	return nil
}

// infraConfig is a multi-container pod's infrastructure container: it
// carries the pod's labels (so listings see the pod even when its app
// containers are gone), its IP on the pod network, its hostname and the
// ports of all its containers.
func infraConfig(s PodSpec, ip netip.Addr) (*container.Config, *container.HostConfig, *network.NetworkingConfig, error) {
	if s.ProbeBinary == "" {
		return nil, nil, nil, fmt.Errorf("a pod of several containers needs the reconcile binary on the host for its infrastructure container, and no path was given")
	}
	labels, err := podLabels(s, ip)
	if err != nil {
		return nil, nil, nil, err
	}
	labels[LabelContainerRole] = RoleInfra
	labels[LabelContainer] = "POD"
	labels[LabelImage] = s.containers()[0].Image
	labels[LabelPodContainers] = mustJSON(containerNames(s.containers()))
	if len(s.InitContainers) > 0 {
		labels[LabelPodInitContainers] = mustJSON(containerNames(s.InitContainers))
	}
	var all []resources.Container
	all = append(all, s.InitContainers...)
	all = append(all, s.containers()...)
	stop := 2
	cfg := &container.Config{
		Hostname:     podHostname(s.Name),
		Image:        PauseImage,
		Entrypoint:   []string{ProbePath, "node", "pause"},
		Labels:       labels,
		ExposedPorts: exposedPorts(all...),
		StopTimeout:  &stop,
		Healthcheck:  &container.HealthConfig{Test: []string{"NONE"}},
	}
	host := &container.HostConfig{
		NetworkMode:   container.NetworkMode(PodNetwork),
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
		Mounts:        []mount.Mount{{Type: mount.TypeBind, Source: s.ProbeBinary, Target: ProbePath, ReadOnly: true}},
		LogConfig:     container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "64k", "max-file": "1"}},
		Resources:     container.Resources{Memory: 32 << 20, MemorySwap: 32 << 20, CPUShares: 2},
	}
	if s.ResolvConf != "" {
		host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeBind, Source: s.ResolvConf, Target: "/etc/resolv.conf", ReadOnly: true})
	}
	host.Sysctls = podSysctls(s.Security) // the infrastructure container owns the pod's network namespace
	nc := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		PodNetwork: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: ip.String()}},
	}}
	return cfg, host, nc, nil
}
