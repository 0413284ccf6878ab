package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// Host is what the reconciler needs from one Docker host. The real one talks
// Docker's API and runs the node agent over one SSH connection; unit tests of
// planning and rollout use an in-memory fake.
type Host interface {
	Name() string
	ListPods(ctx context.Context) ([]runtime.Pod, error)
	// InspectPod returns one pod with its restart count and start time.
	InspectPod(ctx context.Context, id string) (runtime.Pod, error)
	EnsureNetwork(ctx context.Context, subnet string) (created bool, err error)
	// HasNetwork reports whether our pod network exists with that subnet.
	HasNetwork(ctx context.Context, subnet string) (bool, error)
	CreatePod(ctx context.Context, spec runtime.PodSpec) (runtime.Pod, error)
	DeletePod(ctx context.Context, id string, grace time.Duration) error
	PodLogs(ctx context.Context, id string, lines int) (string, error)
	// NodeApply converges the host's routes, VIP rules and files; with
	// dryRun it only reports what would change.
	NodeApply(ctx context.Context, c rnet.NodeConfig, dryRun bool) (*rnet.Result, error)
	// ReadFiles returns the contents of those files that exist on the host.
	ReadFiles(ctx context.Context, paths []string) (map[string][]byte, error)
	// Status reads the host's pods, our files and its network drift in one
	// round trip, for sync passes that usually find nothing to do.
	Status(ctx context.Context, paths []string) (*NodeStatus, error)
	// Events streams the host's pod container events until ctx ends.
	Events(ctx context.Context) (<-chan PodEvent, <-chan error)
	// AgentPath is the host path of the reconcile binary used for probes.
	AgentPath() string
	Close() error
}

// sshHost is a Host reached over SSH.
type sshHost struct {
	h       *runtime.Host
	pods    *runtime.Pods
	cluster string
	docker  string // the node's Docker socket, as the agent reaches it
	agent   string // remote path of our binary
}

// ConnectOptions say how to reach the hosts and which binary to install as
// their node agent.
type ConnectOptions struct {
	SSH         runtime.SSHOptions
	AgentBinary string // local path of a static linux reconcile binary (default: this executable)
}

// Connect dials every node of the cluster in parallel and installs the node
// agent where it is missing or of another build. Nodes that cannot be
// reached are returned in the error map; the others are usable.
func Connect(ctx context.Context, c *resources.Cluster, o ConnectOptions) (map[string]Host, map[string]error) {
	targets := make([]runtime.Target, 0, len(c.Spec.Nodes))
	dockerHosts := map[string]string{}
	for _, n := range c.Spec.Nodes {
		targets = append(targets, runtime.Target{Name: n.Name, SSH: n.SSH, DockerHost: n.Docker})
		dockerHosts[n.Name] = n.Docker
	}
	conns, errs := runtime.DialAll(ctx, targets, o.SSH)
	if errs == nil {
		errs = map[string]error{}
	}
	hosts := map[string]Host{}
	type installed struct {
		name, path string
		err        error
	}
	ch := make(chan installed, len(conns))
	for name, h := range conns {
		go func(name string, h *runtime.Host) {
			p, err := h.EnsureBinary(ctx, o.AgentBinary)
			ch <- installed{name, p, err}
		}(name, h)
	}
	for range conns {
		r := <-ch
		h := conns[r.name]
		if r.err != nil {
			errs[r.name] = fmt.Errorf("install node agent: %w", r.err)
			h.Close()
			continue
		}
		hosts[r.name] = &sshHost{h: h, pods: runtime.NewPods(h.Name, h.Docker()), cluster: c.Name, docker: dockerHosts[r.name], agent: r.path}
	}
	return hosts, errs
}

func (s *sshHost) Name() string      { return s.h.Name }
func (s *sshHost) AgentPath() string { return s.agent }
func (s *sshHost) Close() error      { return s.h.Close() }

func (s *sshHost) ListPods(ctx context.Context) ([]runtime.Pod, error) {
	return s.pods.List(ctx, s.cluster)
}

func (s *sshHost) InspectPod(ctx context.Context, id string) (runtime.Pod, error) {
	return s.pods.Inspect(ctx, id)
}

func (s *sshHost) EnsureNetwork(ctx context.Context, subnet string) (bool, error) {
	return s.pods.EnsureNetwork(ctx, s.cluster, subnet)
}

func (s *sshHost) HasNetwork(ctx context.Context, subnet string) (bool, error) {
	return s.pods.HasNetwork(ctx, s.cluster, subnet)
}

func (s *sshHost) CreatePod(ctx context.Context, spec runtime.PodSpec) (runtime.Pod, error) {
	spec.ProbeBinary = s.agent
	return s.pods.Create(ctx, spec)
}

func (s *sshHost) DeletePod(ctx context.Context, id string, grace time.Duration) error {
	return s.pods.Delete(ctx, id, grace)
}

func (s *sshHost) PodLogs(ctx context.Context, id string, lines int) (string, error) {
	return s.pods.Logs(ctx, id, lines)
}

// NodeApply runs `reconcile node apply` on the host: one SSH round trip that
// carries the whole desired node state as JSON.
func (s *sshHost) NodeApply(ctx context.Context, c rnet.NodeConfig, dryRun bool) (*rnet.Result, error) {
	req, err := json.Marshal(map[string]any{"config": c, "dryRun": dryRun})
	if err != nil {
		return nil, err
	}
	out, err := s.h.Run(ctx, bytes.NewReader(req), s.agent+" node apply")
	if err != nil {
		return nil, err
	}
	var res rnet.Result
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("%s: node agent answered %q: %w", s.h.Name, truncate(string(out), 200), err)
	}
	return &res, nil
}

func (s *sshHost) ReadFiles(ctx context.Context, paths []string) (map[string][]byte, error) {
	req, err := json.Marshal(map[string]any{"paths": paths})
	if err != nil {
		return nil, err
	}
	out, err := s.h.Run(ctx, bytes.NewReader(req), s.agent+" node read")
	if err != nil {
		return nil, err
	}
	var res struct {
		Files map[string][]byte `json:"files"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("%s: node agent answered %q: %w", s.h.Name, truncate(string(out), 200), err)
	}
	return res.Files, nil
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
