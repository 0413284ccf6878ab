package reconcile

import (
	"context"
	"sync/atomic"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/runtime"
)

// hostCounters count round trips to hosts and the writes made on them, so
// a sync pass can report (and tests can check) that an idle pass did one
// call per host and wrote nothing.
type hostCounters struct {
	calls  atomic.Int64
	writes atomic.Int64
}

// countingHost wraps a Host with counters shared by all hosts of a syncer.
type countingHost struct {
	Host
	c *hostCounters
}

func (h countingHost) call()       { h.c.calls.Add(1) }
func (h countingHost) write(n int) { h.c.writes.Add(int64(n)) }

func (h countingHost) ListPods(ctx context.Context) ([]runtime.Pod, error) {
	h.call()
	return h.Host.ListPods(ctx)
}

func (h countingHost) InspectPod(ctx context.Context, id string) (runtime.Pod, error) {
	h.call()
	return h.Host.InspectPod(ctx, id)
}

func (h countingHost) EnsureNetwork(ctx context.Context, subnet string) (bool, error) {
	h.call()
	created, err := h.Host.EnsureNetwork(ctx, subnet)
	if created {
		h.write(1)
	}
	return created, err
}

func (h countingHost) HasNetwork(ctx context.Context, subnet string) (bool, error) {
	h.call()
	return h.Host.HasNetwork(ctx, subnet)
}

func (h countingHost) RemoveNetwork(ctx context.Context, dryRun bool) (bool, error) {
	h.call()
	removed, err := h.Host.RemoveNetwork(ctx, dryRun)
	if removed && !dryRun {
		h.write(1)
	}
	return removed, err
}

func (h countingHost) NodeTeardown(ctx context.Context, files []string, dryRun bool) (*rnet.Result, error) {
	h.call()
	res, err := h.Host.NodeTeardown(ctx, files, dryRun)
	if res != nil && !dryRun {
		h.write(len(res.Changes))
	}
	return res, err
}

func (h countingHost) CreatePod(ctx context.Context, s runtime.PodSpec) (runtime.Pod, error) {
	h.call()
	h.write(1)
	return h.Host.CreatePod(ctx, s)
}

func (h countingHost) DeletePod(ctx context.Context, id string, grace time.Duration) error {
	h.call()
	h.write(1)
	return h.Host.DeletePod(ctx, id, grace)
}

func (h countingHost) PodLogs(ctx context.Context, id string, lines int) (string, error) {
	h.call()
	return h.Host.PodLogs(ctx, id, lines)
}

func (h countingHost) NodeApply(ctx context.Context, c rnet.NodeConfig, dryRun bool) (*rnet.Result, error) {
	h.call()
	res, err := h.Host.NodeApply(ctx, c, dryRun)
	if res != nil && !dryRun {
		h.write(len(res.Changes))
	}
	return res, err
}

func (h countingHost) ReadFiles(ctx context.Context, paths []string) (map[string][]byte, error) {
	h.call()
	return h.Host.ReadFiles(ctx, paths)
}

func (h countingHost) ReadFilesNoting(ctx context.Context, paths, held []string) (map[string][]byte, error) {
	if hr, ok := h.Host.(heldReader); ok {
		h.call()
		return hr.ReadFilesNoting(ctx, paths, held)
	}
	return h.ReadFiles(ctx, paths)
}

func (h countingHost) Status(ctx context.Context, paths []string) (*NodeStatus, error) {
	h.call()
	return h.Host.Status(ctx, paths)
}

func (h countingHost) Lock(ctx context.Context, req rnet.LockRequest) (*rnet.LockResponse, error) {
	h.call()
	return h.Host.Lock(ctx, req)
}

func (h countingHost) ListClaims(ctx context.Context, usage bool) ([]runtime.Claim, error) {
	h.call()
	return h.Host.ListClaims(ctx, usage)
}

func (h countingHost) EnsureClaim(ctx context.Context, c runtime.ClaimRef, source string) (bool, error) {
	h.call()
	created, err := h.Host.EnsureClaim(ctx, c, source)
	if created {
		h.write(1)
	}
	return created, err
}

func (h countingHost) RemoveClaim(ctx context.Context, c runtime.ClaimRef, dryRun bool) (bool, error) {
	h.call()
	removed, err := h.Host.RemoveClaim(ctx, c, dryRun)
	if removed && !dryRun {
		h.write(1)
	}
	return removed, err
}
