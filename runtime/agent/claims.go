package agent

import (
	"context"
	"fmt"

	"github.com/docker/docker/client"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/runtime"
)

// Claim operations.
const (
	ClaimsList   = "list"   // the cluster's claim volumes, with Usage their bytes used
	ClaimsEnsure = "ensure" // make Claim's volume unless the host has it
	ClaimsRemove = "remove" // remove Claim's volume if no container mounts it
)

// ClaimsRequest is one claim operation. The host checks again what it is
// told: it only makes, and only removes, a volume named for the claim that
// carries the claim's labels (runtime/claims.go), never another volume.
type ClaimsRequest struct {
	Cluster    string           `json:"cluster"`
	DockerHost string           `json:"dockerHost,omitempty"`
	Op         string           `json:"op"`
	Claim      runtime.ClaimRef `json:"claim,omitzero"`   // ensure, remove
	Source     string           `json:"source,omitempty"` // ensure: the new volume's LabelSource
	Usage      bool             `json:"usage,omitempty"`  // list: measure each volume's bytes used (bounded)
	DryRun     bool             `json:"dryRun,omitempty"`
	Fence      string           `json:"fence,omitempty"` // as ApplyRequest's
}

// ClaimsResponse is the list, or whether the operation changed anything.
type ClaimsResponse struct {
	Claims  []runtime.Claim `json:"claims,omitempty"`
	Changed bool            `json:"changed"`
}

func serveClaims(ctx context.Context, req ClaimsRequest) (ClaimsResponse, error) {
	var res ClaimsResponse
	dockerHost := req.DockerHost
	if dockerHost == "" {
		dockerHost = "unix:///var/run/docker.sock"
	}
	api, err := client.NewClientWithOpts(client.WithHost(dockerHost), client.WithAPIVersionNegotiation())
	if err != nil {
		return res, fmt.Errorf("docker at %s: %w", dockerHost, err)
	}
	defer api.Close()
	pods := runtime.NewPods("", api)
	var write func(dryRun bool) (bool, error)
	switch req.Op {
	case ClaimsList:
		res.Claims, err = pods.ListClaims(ctx, req.Cluster)
		if err == nil && req.Usage {
			runtime.ClaimUsage(ctx, res.Claims)
		}
		return res, err
	case ClaimsEnsure:
		write = func(dryRun bool) (bool, error) {
			return pods.EnsureClaim(ctx, req.Cluster, req.Claim, req.Source, dryRun)
		}
	case ClaimsRemove:
		write = func(dryRun bool) (bool, error) { return pods.RemoveClaim(ctx, req.Cluster, req.Claim, dryRun) }
	default:
		return res, fmt.Errorf("unknown claims op %q: want %s, %s or %s", req.Op, ClaimsList, ClaimsEnsure, ClaimsRemove)
	}
	// Checked again by runtime before any Docker call; here too, so a bad
	// request is refused before the lock is even looked at.
	if err := req.Claim.Check(); err != nil {
		return res, err
	}
	if req.DryRun {
		res.Changed, err = write(true)
		return res, err
	}
	err = rnet.Fenced(ctx, "", req.Fence, func() error {
		var err error
		res.Changed, err = write(false)
		return err
	})
	return res, err
}
