package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/docker/docker/client"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/runtime"
)

// NodeStatusRequest asks a host's agent for everything a sync pass needs to
// decide whether there is anything to do, in one round trip.
type NodeStatusRequest struct {
	Cluster    string   `json:"cluster"`
	DockerHost string   `json:"dockerHost"`
	Paths      []string `json:"paths"`
}

// NodeStatus is the agent's answer: the host's pods, our files, and the
// network config it last applied with any drift from it.
type NodeStatus struct {
	Pods    []runtime.Pod     `json:"pods"`
	Files   map[string][]byte `json:"files"`
	Applied rnet.Applied      `json:"applied"`
}

// NodeStatusAgent runs on the host as `reconcile node status`. It only reads.
func NodeStatusAgent(ctx context.Context, in io.Reader, out io.Writer) error {
	var req NodeStatusRequest
	if err := json.NewDecoder(in).Decode(&req); err != nil {
		return fmt.Errorf("read status request from stdin: %w", err)
	}
	dockerHost := req.DockerHost
	if dockerHost == "" {
		dockerHost = "unix:///var/run/docker.sock"
	}
	api, err := client.NewClientWithOpts(client.WithHost(dockerHost), client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("docker at %s: %w", dockerHost, err)
	}
	defer api.Close()
	var st NodeStatus
	if st.Pods, err = runtime.NewPods("", api).List(ctx, req.Cluster); err != nil {
		return err
	}
	if st.Files, err = rnet.ReadFiles(req.Paths); err != nil {
		return err
	}
	applied, err := rnet.Status(ctx, "")
	if err != nil {
		return err
	}
	st.Applied = *applied
	return json.NewEncoder(out).Encode(st)
}

// Status asks the host's agent for its NodeStatus: one SSH round trip.
func (s *sshHost) Status(ctx context.Context, paths []string) (*NodeStatus, error) {
	req, err := json.Marshal(NodeStatusRequest{Cluster: s.cluster, DockerHost: s.docker, Paths: paths})
	if err != nil {
		return nil, err
	}
	out, err := s.h.Run(ctx, bytes.NewReader(req), s.agent+" node status")
	if err != nil {
		return nil, err
	}
	var st NodeStatus
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("%s: node agent answered %q: %w", s.h.Name, truncate(string(out), 200), err)
	}
	for i := range st.Pods {
		st.Pods[i].Node = s.h.Name
	}
	return &st, nil
}
