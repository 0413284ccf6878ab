package runtime

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
)

// The supervisor is the kubelet-like process on every host, a host service
// (see HostService) that acts between CLI runs: it watches the cluster's
// pods on its host through the Docker socket, runs their liveness and
// startup probes, and restarts their containers with back-off.
const (
	SupervisorContainer = "reconcile-kubelet"
	SupervisorImageRepo = "reconcile-kubelet"
	// RoleSupervisor is the supervisor's LabelInfra value.
	RoleSupervisor = "kubelet"
	// SupervisorEnv carries its request (JSON of SupervisorRequest).
	SupervisorEnv = "RECONCILE_KUBELET"

	supervisorVerb   = "kubelet"
	hostDockerSocket = "/var/run/docker.sock"
)

// SupervisorSpec is one host's supervisor container.
type SupervisorSpec struct {
	Cluster   string
	Binary    string // host path of the static reconcile binary to run
	BinarySum string // its SHA-256 in hex, or at least its first 12 digits; empty: computed
	// RestartBackoffBaseSeconds is the Cluster's spec.kubelet setting.
	RestartBackoffBaseSeconds int
	// DockerSocket is the host's Docker socket (default /var/run/docker.sock).
	DockerSocket string
}

// SupervisorRequest is what the supervisor process gets (SupervisorEnv).
type SupervisorRequest struct {
	Cluster                   string `json:"cluster"`
	DockerHost                string `json:"dockerHost"`
	StartedDir                string `json:"startedDir"`
	RestartBackoffBaseSeconds int    `json:"restartBackoffBaseSeconds"`
}

// EnsureSupervisor makes the host run exactly spec's supervisor container
// (see EnsureHostService). The startup gates' directory must exist.
func EnsureSupervisor(ctx context.Context, api client.APIClient, spec SupervisorSpec, dryRun bool) ([]HostServiceChange, error) {
	if spec.RestartBackoffBaseSeconds <= 0 {
		return nil, fmt.Errorf("supervisor: restart back-off base %d s: must be positive", spec.RestartBackoffBaseSeconds)
	}
	return EnsureHostService(ctx, api, supervisorService(spec), dryRun)
}

// supervisorService is the supervisor's container: host network (it
// probes pod IPs as kubelet does, from the host), the Docker socket, and
// the startup gates' directory, the one host path it writes.
func supervisorService(spec SupervisorSpec) HostService {
	sock := spec.DockerSocket
	if sock == "" {
		sock = hostDockerSocket
	}
	req, _ := json.Marshal(SupervisorRequest{Cluster: spec.Cluster, DockerHost: "unix://" + sock,
		StartedDir: StartedDir, RestartBackoffBaseSeconds: spec.RestartBackoffBaseSeconds})
	return HostService{
		What: "supervisor", Container: SupervisorContainer, ImageRepo: SupervisorImageRepo, Role: RoleSupervisor,
		Cluster: spec.Cluster, Binary: spec.Binary, BinarySum: spec.BinarySum, Verb: supervisorVerb,
		Env: []string{SupervisorEnv + "=" + string(req)},
		Mounts: []mount.Mount{
			{Type: mount.TypeBind, Source: sock, Target: sock},
			{Type: mount.TypeBind, Source: StartedDir, Target: StartedDir},
		},
		Restart: container.RestartPolicyAlways,
		Detail:  fmt.Sprintf("(probes, restarts; back-off base %ds)", spec.RestartBackoffBaseSeconds),
	}
}
