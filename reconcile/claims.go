package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
	"github.com/reconcile-dev/reconcile/runtime/agent"
)

// A PersistentVolumeClaim is bound to the node that holds its volume: a
// Docker volume labelled with the claim (runtime/claims.go), read from the
// hosts with their pods, so every runner sees the same binding. A claim
// no host holds is bound where its first pod is placed; from then on its
// pods go only there. A claim that no reachable host holds while a node of
// the cluster could not be read waits: its volume may be on that node, and
// a second, empty one elsewhere would hide the data.

// unfitVolume is kube-scheduler's reason for a node other than the one a
// pod's local volume is on.
const unfitVolume = "node(s) had volume node affinity conflict"

func claimRef(c *resources.PersistentVolumeClaim) runtime.ClaimRef {
	return runtime.ClaimRef{Namespace: c.Namespace, Name: c.Name}
}

// claimNodes are the nodes holding each claim's volume (namespace/name to
// sorted nodes), and the cluster's nodes that could not be read.
func claimNodes(cl *resources.Cluster, obs *Observed) (map[string][]string, []string) {
	bound := map[string][]string{}
	for _, n := range slices.Sorted(maps.Keys(obs.Claims)) {
		for _, c := range obs.Claims[n] {
			bound[c.String()] = append(bound[c.String()], n)
		}
	}
	var unread []string
	if cl != nil {
		for _, n := range cl.Spec.Nodes {
			if _, ok := obs.Pods[n.Name]; !ok {
				unread = append(unread, n.Name)
			}
		}
	}
	return bound, unread
}

// claimPin is the node d's pods must run on because of its claims ("" when
// no claim is bound yet), or why none may be placed now.
func (f *fleet) claimPin(d *resources.Deployment) (node, blocked string) {
	for _, c := range d.Claims {
		k := key(c.Namespace, c.Name)
		nodes := f.claims[k]
		switch {
		case len(nodes) > 1:
			return "", fmt.Sprintf("PersistentVolumeClaim %s has a volume on each of %s: reconcile does not choose between them; remove the wrong one by hand", k, strings.Join(nodes, ", "))
		case len(nodes) == 1 && node != "" && node != nodes[0]:
			return "", fmt.Sprintf("the pod's PersistentVolumeClaims are bound on different nodes (%s on %s, another on %s)", k, nodes[0], node)
		case len(nodes) == 1:
			node = nodes[0]
		case len(f.unread) > 0:
			return "", fmt.Sprintf("PersistentVolumeClaim %s is bound on no reachable node, and %s could not be read: its volume may be there, so no second one is made", k, strings.Join(f.unread, ", "))
		}
	}
	return node, ""
}

// bindClaims records that d's unbound claims go with the pod just placed
// on node, so its next pods (and other workloads of the same claim) follow.
func (f *fleet) bindClaims(d *resources.Deployment, node string) {
	for _, c := range d.Claims {
		if k := key(c.Namespace, c.Name); len(f.claims[k]) == 0 {
			f.claims[k] = []string{node}
		}
	}
}

// ensureClaims makes the volumes of d's claims on the node before its pod
// is created there; the first pod so binds them. The agent's refusal (a
// volume of that name that is not ours) is the pod's failure, not the
// host's.
func (r *runner) ensureClaims(ctx context.Context, h Host, a Action, d *resources.Deployment, pod string) error {
	for _, c := range d.Claims {
		ref := claimRef(c)
		created, err := h.EnsureClaim(ctx, ref, r.d.Source)
		var ae *agent.Error
		switch {
		case err != nil && errors.As(err, &ae) && ae.Fenced:
			r.agentFailed(ctx, a.Node, err)
			return err
		case err != nil && errors.As(err, &ae) && ae.Stderr != "":
			return &runtime.PodError{Node: a.Node, Pod: pod, Reason: runtime.ReasonCreateContainerConfig, Err: err}
		case err != nil:
			return err
		}
		if created {
			r.mu.Lock()
			r.res.Changes++
			r.mu.Unlock()
			r.event(Event{Node: a.Node, Object: "persistentvolumeclaim/" + c.Name, Action: "create",
				Detail: "volume " + runtime.ClaimVolume(r.d.Cluster.Name, ref) + ", bound to " + a.Node})
		}
	}
	return nil
}

// ClaimChange is a claim volume a run makes, keeps or deletes.
type ClaimChange struct {
	Action    string `json:"action"` // create, keep or delete
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Node      string `json:"node"`
	Volume    string `json:"volume"`
	Detail    string `json:"detail"`
}

// Claim change actions.
const (
	ClaimCreate = "create"
	ClaimKeep   = "keep"
	ClaimDelete = "delete"
)

func (c ClaimChange) String() string {
	return "PersistentVolumeClaim " + c.Namespace + "/" + c.Name + ": " + c.Detail
}

// keptDetail and deletedDetail are what a claim removed from git reports.
func keptDetail(node string) string {
	return "removed from git, volume kept on " + node + " (delete with --prune-volumes)"
}

func deletedDetail(node string) string { return "removed from git, volume deleted on " + node }

// undeclaredClaims are the claim volumes of this source (or of none) whose
// claim d no longer declares, by node and name.
func undeclaredClaims(d *Desired, obs *Observed) []runtime.Claim {
	var out []runtime.Claim
	for _, n := range slices.Sorted(maps.Keys(obs.Claims)) {
		for _, c := range obs.Claims[n] {
			if d.Set != nil && d.claimNamed(c.Namespace, c.Name) {
				continue
			}
			if c.Source != "" && d.Source != "" && c.Source != d.Source {
				continue // another source's claim
			}
			c.Node = n
			out = append(out, c)
		}
	}
	return out
}

func (d *Desired) claimNamed(ns, name string) bool {
	return slices.ContainsFunc(d.PersistentVolumeClaims, func(c *resources.PersistentVolumeClaim) bool {
		return c.Namespace == ns && c.Name == name
	})
}

// planClaims are the claim changes of a plan: the volumes the creates make
// (claims bound on no node yet), and those of claims removed from git,
// kept unless pruneVolumes.
func planClaims(d *Desired, obs *Observed, actions []Action, pruneVolumes bool) []ClaimChange {
	bound, _ := claimNodes(d.Cluster, obs)
	deps := map[string]*resources.Deployment{}
	for _, dep := range d.Deployments {
		deps[key(dep.Namespace, dep.Name)] = dep
	}
	var out []ClaimChange
	for _, a := range actions {
		dep := deps[key(a.Namespace, a.Deployment)]
		if a.Kind != ActionCreate || dep == nil {
			continue
		}
		for _, c := range dep.Claims {
			k := key(c.Namespace, c.Name)
			if len(bound[k]) > 0 {
				continue
			}
			bound[k] = []string{a.Node}
			out = append(out, ClaimChange{Action: ClaimCreate, Namespace: c.Namespace, Name: c.Name, Node: a.Node,
				Volume: runtime.ClaimVolume(d.Cluster.Name, claimRef(c)), Detail: "volume made on " + a.Node + ", where its first pod goes"})
		}
	}
	for _, c := range undeclaredClaims(d, obs) {
		cc := ClaimChange{Action: ClaimKeep, Namespace: c.Namespace, Name: c.Name, Node: c.Node, Volume: c.Volume, Detail: keptDetail(c.Node)}
		if pruneVolumes {
			cc.Action, cc.Detail = ClaimDelete, deletedDetail(c.Node)
		}
		out = append(out, cc)
	}
	return out
}

// pruneClaims reports, once the pods converged, every claim volume whose
// claim is no longer declared; with PruneVolumes it deletes them, which
// the host refuses while a container still mounts one.
func (r *runner) pruneClaims(ctx context.Context, obs *Observed) {
	for _, c := range undeclaredClaims(r.d, obs) {
		h, ok := r.hosts[c.Node]
		cc := ClaimChange{Action: ClaimKeep, Namespace: c.Namespace, Name: c.Name, Node: c.Node, Volume: c.Volume, Detail: keptDetail(c.Node)}
		if r.o.Prune && r.o.PruneVolumes && ok {
			removed, err := h.RemoveClaim(ctx, c.ClaimRef, false)
			switch {
			case err != nil:
				cc.Detail = "removed from git, volume kept on " + c.Node + ": " + err.Error()
				if ae := (*agent.Error)(nil); errors.As(err, &ae) && ae.Fenced {
					r.agentFailed(ctx, c.Node, err)
				}
			case removed:
				cc.Action, cc.Detail = ClaimDelete, deletedDetail(c.Node)
				r.mu.Lock()
				r.res.Changes++
				r.mu.Unlock()
			}
		}
		r.res.Claims = append(r.res.Claims, cc) // the summary lists them all
		if cc.Action == ClaimDelete {
			r.event(Event{Node: c.Node, Object: "persistentvolumeclaim/" + c.Name, Action: "delete", Detail: "volume " + c.Volume + ", removed from git"})
		}
	}
}
