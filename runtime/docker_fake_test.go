package runtime

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fakeDocker is an in-memory DockerAPI for unit tests: enough of the daemon's
// behaviour (labels, list filters, fixed IPs, network endpoints) to test what
// Pods asks of it. Methods Pods does not use panic via the nil embedded
// interface.
type fakeDocker struct {
	DockerAPI

	mu         sync.Mutex
	log        []string
	networks   map[string]network.Inspect
	containers map[string]*fakeContainer
	order      []string
	images     map[string]bool
	pullErr    string // sent in the progress stream, as dockerd does
	// pullAuth, when set, is the only X-Registry-Auth a pull succeeds
	// with, as a registry with basic auth; pullAuths records each pull's.
	pullAuth          string
	pullAuths         []string
	startErr          error
	lastNetworkCreate network.CreateOptions
	nextID            int
}

type fakeContainer struct {
	name   string
	cfg    *container.Config
	host   *container.HostConfig
	net    *network.NetworkingConfig
	state  string
	status string
}

func newFakeDocker() *fakeDocker {
	return &fakeDocker{
		networks:   map[string]network.Inspect{},
		containers: map[string]*fakeContainer{},
		images:     map[string]bool{},
	}
}

func (f *fakeDocker) record(format string, args ...any) {
	f.log = append(f.log, fmt.Sprintf(format, args...))
}

func (f *fakeDocker) calls(method string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.log {
		if strings.HasPrefix(l, method+" ") || l == method {
			out = append(out, l)
		}
	}
	return out
}

func notFound(what string) error { return cerrdefs.ErrNotFound.WithMessage(what + " not found") }

func (f *fakeDocker) NetworkInspect(_ context.Context, id string, _ network.InspectOptions) (network.Inspect, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("NetworkInspect %s", id)
	nw, ok := f.networks[id]
	if !ok {
		return network.Inspect{}, notFound("network " + id)
	}
	// Endpoints exist only for running containers, as in dockerd.
	nw.Containers = map[string]network.EndpointResource{}
	for _, id := range f.order {
		c := f.containers[id]
		if c.state != "running" {
			continue
		}
		if es := c.net.EndpointsConfig[PodNetwork]; es != nil && es.IPAMConfig != nil {
			nw.Containers[id] = network.EndpointResource{Name: c.name, IPv4Address: es.IPAMConfig.IPv4Address + "/24"}
		}
	}
	return nw, nil
}

func (f *fakeDocker) NetworkCreate(_ context.Context, name string, o network.CreateOptions) (network.CreateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("NetworkCreate %s", name)
	f.lastNetworkCreate = o
	f.networks[name] = network.Inspect{ID: "net-" + name, Name: name, Labels: o.Labels, IPAM: *o.IPAM, Options: o.Options}
	return network.CreateResponse{ID: "net-" + name}, nil
}

// NetworkRemove refuses while a running container is attached, as dockerd.
func (f *fakeDocker) NetworkRemove(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("NetworkRemove %s", id)
	name := strings.TrimPrefix(id, "net-")
	if _, ok := f.networks[name]; !ok {
		return notFound("network " + id)
	}
	for _, c := range f.containers {
		if es := c.net.EndpointsConfig[PodNetwork]; es != nil && c.state == "running" && name == PodNetwork {
			return cerrdefs.ErrPermissionDenied.WithMessage("error while removing network: network " + name + " has active endpoints")
		}
	}
	delete(f.networks, name)
	return nil
}

func (f *fakeDocker) ContainerCreate(_ context.Context, cfg *container.Config, host *container.HostConfig, nc *network.NetworkingConfig, _ *ocispec.Platform, name string) (container.CreateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("ContainerCreate %s", name)
	for _, c := range f.containers {
		if c.name == name {
			return container.CreateResponse{}, cerrdefs.ErrConflict.WithMessage("name in use")
		}
	}
	f.nextID++
	id := fmt.Sprintf("c%d", f.nextID)
	f.containers[id] = &fakeContainer{name: name, cfg: cfg, host: host, net: nc, state: "created", status: "Created"}
	f.order = append(f.order, id)
	return container.CreateResponse{ID: id}, nil
}

func (f *fakeDocker) ContainerStart(_ context.Context, id string, _ container.StartOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("ContainerStart %s", id)
	if f.startErr != nil {
		return f.startErr
	}
	c, ok := f.containers[id]
	if !ok {
		return notFound("container " + id)
	}
	c.state, c.status = "running", "Up 1 second"
	if hc := c.cfg.Healthcheck; hc != nil && len(hc.Test) > 0 && hc.Test[0] != "NONE" {
		c.status += " (health: starting)"
	}
	return nil
}

func (f *fakeDocker) ContainerStop(_ context.Context, id string, o container.StopOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("ContainerStop %s timeout=%d", id, *o.Timeout)
	c, ok := f.containers[id]
	if !ok {
		return notFound("container " + id)
	}
	c.state, c.status = "exited", "Exited (0) 1 second ago"
	return nil
}

func (f *fakeDocker) ContainerUpdate(_ context.Context, id string, u container.UpdateConfig) (container.UpdateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("ContainerUpdate %s restart=%s", id, u.RestartPolicy.Name)
	if _, ok := f.containers[id]; !ok {
		return container.UpdateResponse{}, notFound("container " + id)
	}
	return container.UpdateResponse{}, nil
}

func (f *fakeDocker) ContainerRemove(_ context.Context, id string, o container.RemoveOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("ContainerRemove %s force=%v", id, o.Force)
	if _, ok := f.containers[id]; !ok {
		return notFound("container " + id)
	}
	delete(f.containers, id)
	for i, o := range f.order {
		if o == id {
			f.order = append(f.order[:i], f.order[i+1:]...)
			break
		}
	}
	return nil
}

func (f *fakeDocker) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("ContainerInspect %s", id)
	c, ok := f.containers[id]
	if !ok {
		return container.InspectResponse{}, notFound("container " + id)
	}
	r := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID:           id,
			Name:         "/" + c.name,
			Created:      "2026-01-02T03:04:05.000000006Z",
			RestartCount: 2,
			State:        &container.State{Status: c.state},
		},
		Config:          c.cfg,
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{}},
	}
	if c.state == "running" {
		r.State.StartedAt = "2026-01-02T03:04:06Z"
		if strings.Contains(c.status, "health") {
			r.State.Health = &container.Health{Status: "starting"}
		}
		if es := c.net.EndpointsConfig[PodNetwork]; es != nil {
			r.NetworkSettings.Networks[PodNetwork] = &network.EndpointSettings{IPAddress: es.IPAMConfig.IPv4Address}
		}
	}
	return r, nil
}

// ContainerList supports the filters Pods uses: label=key=value.
func (f *fakeDocker) ContainerList(_ context.Context, o container.ListOptions) ([]container.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	labels := o.Filters.Get("label")
	sort.Strings(labels) // filters are a map; keep the log stable
	f.record("ContainerList all=%v filters=%v", o.All, labels)
	var out []container.Summary
next:
	for _, id := range f.order {
		c := f.containers[id]
		if !o.All && c.state != "running" {
			continue
		}
		for _, l := range o.Filters.Get("label") {
			k, v, hasValue := strings.Cut(l, "=")
			if got, ok := c.cfg.Labels[k]; !ok || hasValue && got != v {
				continue next
			}
		}
		s := container.Summary{
			ID: id, Names: []string{"/" + c.name}, Image: c.cfg.Image, Labels: c.cfg.Labels,
			State: c.state, Status: c.status, Created: 1767322800,
			NetworkSettings: &container.NetworkSettingsSummary{Networks: map[string]*network.EndpointSettings{}},
		}
		if es := c.net.EndpointsConfig[PodNetwork]; es != nil {
			copied := &network.EndpointSettings{IPAMConfig: es.IPAMConfig}
			if c.state == "running" {
				copied.IPAddress = es.IPAMConfig.IPv4Address
			}
			s.NetworkSettings.Networks[PodNetwork] = copied
		}
		out = append(out, s)
	}
	return out, nil
}

func (f *fakeDocker) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("ImageInspect %s", ref)
	if !f.images[ref] {
		return image.InspectResponse{}, notFound("image " + ref)
	}
	return image.InspectResponse{ID: "sha256:" + ref}, nil
}

func (f *fakeDocker) ImagePull(_ context.Context, ref string, o image.PullOptions) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("ImagePull %s", ref)
	f.pullAuths = append(f.pullAuths, o.RegistryAuth)
	stream := `{"status":"Pulling from library/nginx","id":"latest"}` + "\n"
	pullErr := f.pullErr
	if f.pullAuth != "" && o.RegistryAuth != f.pullAuth {
		pullErr = "Head \"http://" + ref + "\": unauthorized: authentication required" // dockerd's words for a 401
	}
	if pullErr != "" {
		stream += fmt.Sprintf(`{"errorDetail":{"message":%q},"error":%q}`, pullErr, pullErr) + "\n"
	} else {
		f.images[ref] = true
		stream += `{"status":"Status: Downloaded newer image for nginx:latest"}` + "\n"
	}
	return io.NopCloser(strings.NewReader(stream)), nil
}
