package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/docker/docker/client"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/runtime"
)

// Handler is one verb on the host side.
type Handler struct {
	Name, Short string
	Run         func(ctx context.Context, in io.Reader, out io.Writer) error
}

// Serve makes a verb's handler from a typed function. The response is
// written even when fn fails, so a caller of apply sees what did change.
func Serve[Req, Resp any](v Verb[Req, Resp], short string, fn func(context.Context, Req) (Resp, error)) Handler {
	return Handler{Name: v.Name, Short: short, Run: func(ctx context.Context, in io.Reader, out io.Writer) error {
		var req Req
		dec := json.NewDecoder(in)
		if err := dec.Decode(&req); err != nil {
			return fmt.Errorf("read %s request from stdin: %w", v.Name, err)
		}
		if d, ok := any(&req).(detacher); ok {
			if err := d.attach(io.MultiReader(dec.Buffered(), in)); err != nil {
				return fmt.Errorf("read %s request from stdin: %w", v.Name, err)
			}
		}
		resp, err := fn(ctx, req)
		if werr := json.NewEncoder(out).Encode(resp); werr != nil {
			return errors.Join(err, fmt.Errorf("write %s response: %w", v.Name, werr))
		}
		return err
	}}
}

func serveApply(ctx context.Context, req ApplyRequest) (rnet.Result, error) {
	var res *rnet.Result
	var err error
	if req.DryRun {
		res, err = rnet.Apply(ctx, req.Config, true)
	} else {
		err = rnet.Fenced(ctx, "", req.Fence, func() error {
			res, err = rnet.Apply(ctx, req.Config, false)
			return withDNSServer(ctx, req, res, err)
		})
	}
	if res == nil {
		res = &rnet.Result{Node: req.Config.Node, Changes: []rnet.Change{}}
	}
	if req.DryRun {
		err = withDNSServer(ctx, req, res, err)
	}
	return *res, err
}

func serveTeardown(ctx context.Context, req TeardownRequest) (rnet.Result, error) {
	var res *rnet.Result
	var err error
	if req.DryRun {
		res, err = rnet.Teardown(ctx, req.Files, "", true)
	} else {
		err = rnet.Fenced(ctx, "", req.Fence, func() error {
			res, err = rnet.Teardown(ctx, req.Files, "", false)
			return err
		})
	}
	if res == nil {
		res = &rnet.Result{Changes: []rnet.Change{}}
	}
	res.Node = req.Node
	return *res, err
}

func serveRead(_ context.Context, req ReadRequest) (ReadResponse, error) {
	files, err := rnet.ReadFiles(req.Paths)
	res := ReadResponse{Files: files}
	if len(req.Held) > 0 {
		res.Held = rnet.HeldFiles(req.Held)
	}
	return res, err
}

func serveLock(ctx context.Context, req LockRequest) (LockResponse, error) {
	return rnet.ApplyLock(ctx, req)
}

// serveStatus only reads: the pods from the host's own Docker, our files,
// and a dry run of the network config last applied.
func serveStatus(ctx context.Context, req StatusRequest) (StatusResponse, error) {
	var st StatusResponse
	dockerHost := req.DockerHost
	if dockerHost == "" {
		dockerHost = "unix:///var/run/docker.sock"
	}
	api, err := client.NewClientWithOpts(client.WithHost(dockerHost), client.WithAPIVersionNegotiation())
	if err != nil {
		return st, fmt.Errorf("docker at %s: %w", dockerHost, err)
	}
	defer api.Close()
	pods := runtime.NewPods("", api)
	if st.Pods, err = pods.List(ctx, req.Cluster); err != nil {
		return st, err
	}
	if st.Claims, err = pods.ListClaims(ctx, req.Cluster); err != nil {
		return st, err
	}
	if st.Files, err = rnet.ReadFiles(req.Paths); err != nil {
		return st, err
	}
	applied, err := rnet.Status(ctx, "")
	if err != nil {
		return st, err
	}
	st.Applied = *applied
	if applied.Config != nil {
		// A DNS server container removed or stopped by hand is drift too,
		// so an idle sync pass puts it back.
		dns, err := ensureDNSServer(ctx, ApplyRequest{Config: *applied.Config, DryRun: true, DockerHost: req.DockerHost})
		if err != nil {
			return st, err
		}
		st.Applied.Drift = append(st.Applied.Drift, dns...)
		sup, err := ensureSupervisor(ctx, ApplyRequest{Config: *applied.Config, DryRun: true, DockerHost: req.DockerHost})
		if err != nil {
			return st, err
		}
		st.Applied.Drift = append(st.Applied.Drift, sup...)
	}
	return st, nil
}

// withDNSServer ensures the cluster DNS server once the network converged:
// after the files, so the server starts on the records just written. An
// apply that asks for content changed nothing, and the one that brings it
// follows: this one leaves the containers alone too.
func withDNSServer(ctx context.Context, req ApplyRequest, res *rnet.Result, err error) error {
	if err != nil || res == nil || len(res.NeedContent) > 0 {
		return err
	}
	dns, err := ensureDNSServer(ctx, req)
	res.Changes = append(res.Changes, dns...)
	if err != nil {
		return err
	}
	sup, err := ensureSupervisor(ctx, req)
	res.Changes = append(res.Changes, sup...)
	return err
}
