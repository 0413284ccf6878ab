package reconcile

import (
	"context"
	"errors"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
	"github.com/reconcile-dev/reconcile/runtime/agent"
)

// Removing everything. When the desired state holds no Deployment and no
// Service, and no other source has pods on the cluster, a pruning run
// leaves each host as it was before reconcile: like deleting every object
// of a namespace in Kubernetes also removes its endpoints and iptables
// rules, nothing reconcile made stays behind to look deployed. It removes
// the pods, then (per host) the VIP chains and hooks, our routes, the
// sysctls set (back to their recorded values), the endpoints file and the
// state records, then the infrastructure containers and the pod network.
// Emptying a cluster that holds pods still needs --allow-empty (the same
// guard as any prune of everything); a cluster that holds nothing is simply
// kept clean.

// tearsDown says whether a run with this desired state removes reconcile's
// networking from the hosts rather than converging it.
func tearsDown(d *Desired, foreign []runtime.Pod, prune bool) bool {
	return prune && len(d.Deployments) == 0 && !declaresServices(d.Services) && len(foreign) == 0
}

// teardownFiles are the files a run writes on every host, which a teardown
// removes with those the host's own record names.
func teardownFiles(d *Desired) []string {
	// The pods' resolv.conf files go whole: earlier configs named others.
	return []string{d.Cluster.Spec.EndpointsFile, AllocationsFile, RevisionFile, PendingFile, TemplateHistoryFile, ResolvConfDir + "/*"}
}

// teardownNetworks removes, on every reachable node, what the agent made,
// then the pod network; it runs once the pods are gone.
func (r *runner) teardownNetworks(ctx context.Context) {
	r.onEachHost(func(n resources.Node, h Host) {
		res, err := h.NodeTeardown(ctx, teardownFiles(r.d), false)
		if err != nil {
			r.agentFailed(ctx, n.Name, err)
			return
		}
		r.mu.Lock()
		r.res.Changes += len(res.Changes)
		r.mu.Unlock()
		for _, c := range res.Changes {
			r.event(Event{Node: n.Name, Object: c.Kind + "/" + c.Target, Action: c.Action, Detail: c.Detail})
		}
		// Docker's network is not fenced by the agent: check the lock
		// is still ours before removing it.
		if r.lockLost(ctx) != nil {
			return
		}
		removed, err := h.RemoveNetwork(ctx, false)
		if err != nil {
			r.markUnreachable(n.Name, err)
			return
		}
		if removed {
			r.mu.Lock()
			r.res.Changes++
			r.mu.Unlock()
			r.event(Event{Node: n.Name, Object: "network/" + runtime.PodNetwork, Action: "delete"})
		}
	})
}

// agentFailed records a failed agent write: a fenced one stops the run,
// another makes the node unreachable.
func (r *runner) agentFailed(ctx context.Context, node string, err error) {
	var ae *agent.Error
	if errors.As(err, &ae) && ae.Fenced {
		r.mu.Lock()
		r.fenced = err
		r.mu.Unlock()
		return
	}
	if errors.Is(context.Cause(ctx), ErrLockLost) {
		return
	}
	r.markUnreachable(node, err)
}

// planTeardown is the node's part of a teardown plan: whether our pod
// network would go, and what the agent would remove.
func planTeardown(ctx context.Context, d *Desired, h Host) (bool, *rnet.Result, error) {
	exists, err := h.RemoveNetwork(ctx, true)
	if err != nil {
		return false, nil, err
	}
	res, err := h.NodeTeardown(ctx, teardownFiles(d), true)
	return exists, res, err
}
