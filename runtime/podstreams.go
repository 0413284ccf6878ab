package runtime

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// StreamAPI is the part of the Docker client that logs and exec use;
// *client.Client satisfies it. It is apart from DockerAPI so that the
// planner's fakes need none of it.
type StreamAPI interface {
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerInspect(ctx context.Context, containerID string) (container.InspectResponse, error)
	ContainerLogs(ctx context.Context, containerID string, options container.LogsOptions) (io.ReadCloser, error)
	ContainerExecCreate(ctx context.Context, containerID string, options container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecAttach(ctx context.Context, execID string, config container.ExecAttachOptions) (types.HijackedResponse, error)
	ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
	ContainerExecResize(ctx context.Context, execID string, options container.ResizeOptions) error
	Events(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error)
}

var _ StreamAPI = (*client.Client)(nil)

// Streams reads the logs of one host's pod containers and runs commands in
// them. It only ever touches containers that carry reconcile's labels.
type Streams struct {
	node string
	api  StreamAPI
}

// NewStreams returns the log and exec access to the host called node.
func NewStreams(node string, api StreamAPI) *Streams { return &Streams{node: node, api: api} }

// Node is the host name given to NewStreams.
func (s *Streams) Node() string { return s.node }

// PodContainer is one container of a pod, as logs and exec address it.
type PodContainer struct {
	Node, Namespace, Pod, Deployment string
	Name                             string // the manifest's container name
	ID                               string
	Role                             string // RoleApp, RoleInit or RoleSidecar (a one-container pod's container is RoleApp)
	// First is the pod's default container: the first app container,
	// named like the pod in Docker (kubectl's default for logs and exec).
	First   bool
	State   string
	Created time.Time
}

// PodContainers lists every container of the cluster's pods on this host,
// init containers before app containers, in one API call. The
// infrastructure containers of multi-container pods are not listed: they
// run no workload.
func (s *Streams) PodContainers(ctx context.Context, cluster string) ([]PodContainer, error) {
	cs, err := s.api.ContainerList(ctx, container.ListOptions{
		All: true,
		Filters: filters.NewArgs(
			filters.Arg("label", LabelManagedBy+"="+ManagedBy),
			filters.Arg("label", LabelCluster+"="+cluster),
		),
	})
	if err != nil {
		return nil, fmt.Errorf("%s: list pod containers: %w", s.node, err)
	}
	var out []PodContainer
	for _, c := range cs {
		l := c.Labels
		if l[LabelPod] == "" || l[LabelContainerRole] == RoleInfra {
			continue
		}
		pc := PodContainer{Node: s.node, Namespace: l[LabelNamespace], Pod: l[LabelPod], Deployment: l[LabelDeployment],
			Name: l[LabelContainer], ID: c.ID, Role: l[LabelContainerRole], State: c.State, Created: time.Unix(c.Created, 0).UTC()}
		if pc.Role == "" {
			pc.Role = RoleApp
		}
		for _, n := range c.Names {
			if n == "/"+pc.Pod {
				pc.First = true
			}
		}
		if pc.Name == "" {
			pc.Name = pc.Deployment
		}
		out = append(out, pc)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Namespace != b.Namespace || a.Pod != b.Pod {
			return a.Namespace+"/"+a.Pod < b.Namespace+"/"+b.Pod
		}
		if ra, rb := a.Role == RoleApp, b.Role == RoleApp; ra != rb {
			return !ra // init containers and sidecars first, as kubectl lists them
		}
		if a.First != b.First {
			return a.First
		}
		return a.Created.Before(b.Created)
	})
	return out, nil
}

// LogOptions select what StreamLogs reads, as `kubectl logs` flags do.
type LogOptions struct {
	Follow     bool
	Timestamps bool
	Tail       int       // last lines only; < 0 means all
	Since      time.Time // zero: from the start
	Until      time.Time // zero: to the end (a previous instance ends where the current began)
}

func dockerTime(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10) + "." + fmt.Sprintf("%09d", t.Nanosecond())
}

// StreamLogs copies container id's output to stdout and stderr as Docker's
// log API sends it (demultiplexed: pods never have a TTY), until it ends or,
// with Follow, until the container stops or ctx ends. Memory stays bounded
// by one log frame.
func (s *Streams) StreamLogs(ctx context.Context, id string, o LogOptions, stdout, stderr io.Writer) error {
	lo := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: o.Follow, Timestamps: o.Timestamps, Tail: "all"}
	if o.Tail >= 0 {
		lo.Tail = strconv.Itoa(o.Tail)
	}
	if !o.Since.IsZero() {
		lo.Since = dockerTime(o.Since)
	}
	if !o.Until.IsZero() {
		lo.Until = dockerTime(o.Until)
	}
	rc, err := s.api.ContainerLogs(ctx, id, lo)
	if err != nil {
		return fmt.Errorf("%s: logs of %s: %w", s.node, id, err)
	}
	defer rc.Close()
	// The body does not end when ctx does on every transport; closing it
	// does.
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	defer stop()
	if _, err := stdcopy.StdCopy(stdout, stderr, rc); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: logs of %s: %w", s.node, id, err)
	}
	return nil
}
