package agent

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/client"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/runtime"
	"github.com/reconcile-dev/reconcile/runtime/kubelet"
)

// Kubelet runs this host's supervisor in the foreground: the command of
// the reconcile-kubelet container that the apply verb keeps running
// (runtime.EnsureSupervisor); its request comes in runtime.SupervisorEnv.
var Kubelet = Handler{
	Name:  "kubelet",
	Short: "Run this host's pod supervisor: probes and restarts (the reconcile-kubelet container's command)",
	Run: func(ctx context.Context, in io.Reader, _ io.Writer) error {
		var req runtime.SupervisorRequest
		if err := readServiceRequest("kubelet", runtime.SupervisorEnv, in, &req); err != nil {
			return err
		}
		if req.Cluster == "" || req.StartedDir == "" || req.RestartBackoffBaseSeconds <= 0 {
			return fmt.Errorf("kubelet request: want cluster, startedDir and a positive restartBackoffBaseSeconds, got %+v", req)
		}
		api, err := client.NewClientWithOpts(client.WithHost(req.DockerHost), client.WithAPIVersionNegotiation())
		if err != nil {
			return fmt.Errorf("kubelet: docker at %s: %w", req.DockerHost, err)
		}
		defer api.Close()
		ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
		defer stop()
		return kubelet.New(api, kubelet.Config{
			Cluster: req.Cluster, StartedDir: req.StartedDir,
			BackoffBase: time.Duration(req.RestartBackoffBaseSeconds) * time.Second,
			Logf:        log.New(os.Stderr, "", log.LstdFlags).Printf,
		}).Run(ctx)
	},
}

// KindSupervisor is the change kind of the supervisor's image and container.
const KindSupervisor = "supervisor"

// ensureSupervisor runs the supervisor container the config asks for,
// with this agent's own binary.
func ensureSupervisor(ctx context.Context, req ApplyRequest) ([]rnet.Change, error) {
	k := req.Config.Kubelet
	if k == nil {
		return nil, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("supervisor: find own binary: %w", err)
	}
	if !req.DryRun {
		if err := os.MkdirAll(runtime.StartedDir, 0o755); err != nil {
			return nil, fmt.Errorf("node %s: supervisor: %w", req.Config.Node, err)
		}
	}
	dockerHost := req.DockerHost
	if dockerHost == "" {
		dockerHost = "unix:///var/run/docker.sock"
	}
	api, err := client.NewClientWithOpts(client.WithHost(dockerHost), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("supervisor: docker at %s: %w", dockerHost, err)
	}
	defer api.Close()
	done, err := runtime.EnsureSupervisor(ctx, api, runtime.SupervisorSpec{
		Cluster: req.Config.Cluster, Binary: self, BinarySum: installedSum(self),
		RestartBackoffBaseSeconds: k.RestartBackoffBaseSeconds,
		DockerSocket:              strings.TrimPrefix(dockerHost, "unix://"),
	}, req.DryRun)
	changes := make([]rnet.Change, 0, len(done))
	for _, c := range done {
		changes = append(changes, rnet.Change{Kind: KindSupervisor, Action: c.Action, Target: c.Target, Detail: c.Detail})
	}
	if err != nil {
		err = fmt.Errorf("node %s: %w", req.Config.Node, err)
	}
	return changes, err
}
