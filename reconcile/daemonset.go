package reconcile

import (
	"sort"

	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// Reasons a DaemonSet's pods change.
const (
	reasonNewHost   = "host matches"
	reasonHostUnfit = "host no longer matches nodeSelector/affinity"
	reasonSurplus   = "more than one pod on the host"
)

// stepDaemonSet is stepDeployment for a DaemonSet's workload: one pod of
// the current template on every reachable host that the template's
// nodeSelector and required node affinity allow, and none elsewhere.
// Unlike a Deployment's, its pods leave a host whose labels stop
// matching, as the DaemonSet controller removes them.
//
// A RollingUpdate replaces hosts' pods while at most maxUnavailable
// matching hosts lack a ready pod; with maxSurge the new pod starts beside
// the old one, which goes once the new one is ready. OnDelete leaves old
// pods running: only hosts without a pod get the current template.
func stepDaemonSet(d *resources.Deployment, hash string, g *podGroups, f *fleet, final bool) ([]Action, DeploymentStatus) {
	ds := d.DaemonSet
	pl := &d.Spec.Template.Spec.Placement
	var nodes []string
	fit := map[string]bool{}
	for _, n := range f.nodes {
		if f.fits(pl, n) {
			nodes = append(nodes, n)
			fit[n] = true
		}
	}
	st := DeploymentStatus{Namespace: d.Namespace, Name: d.Name, Kind: "DaemonSet", Replicas: len(nodes), Old: len(g.old)}

	var actions []Action
	for _, p := range g.dead {
		actions = append(actions, deleteAction(p, reasonNotRunning))
	}
	cur, old := map[string][]runtime.Pod{}, map[string][]runtime.Pod{}
	for _, p := range g.current {
		cur[p.Node] = append(cur[p.Node], p)
	}
	for _, p := range g.old {
		old[p.Node] = append(old[p.Node], p)
	}
	// Pods on hosts that no longer match go, whatever the strategy.
	for _, p := range append(append([]runtime.Pod(nil), g.current...), g.old...) {
		if !fit[p.Node] {
			actions = append(actions, deleteAction(p, reasonHostUnfit))
		}
	}
	create := func(node, reason string) {
		actions = append(actions, Action{Kind: ActionCreate, Node: node, Namespace: d.Namespace,
			Deployment: d.Name, TemplateHash: hash, Image: d.Spec.Template.Spec.Containers[0].Image, Reason: reason})
		f.pods[node] = append(f.pods[node], podRef{d.Namespace, d.Spec.Template.Labels})
		f.total[node]++
	}

	surge, unavailable := ds.RollingParams(len(nodes))
	// Hosts without a ready pod count against maxUnavailable; hosts with
	// an old and a new pod against maxSurge.
	for _, n := range nodes {
		if countReady(cur[n])+countReady(old[n]) == 0 {
			unavailable--
		}
		if len(cur[n]) > 0 && len(old[n]) > 0 {
			surge--
		}
	}
	for _, n := range nodes {
		c, o := cur[n], old[n]
		if len(c) > 0 {
			st.Updated++
			if countReady(c) > 0 {
				st.Ready++
			}
		}
		if len(c) > 1 {
			sort.SliceStable(c, surplusOrder(c, map[string]int{}))
			for _, p := range c[:len(c)-1] {
				actions = append(actions, deleteAction(p, reasonSurplus))
			}
			c = c[len(c)-1:]
		}
		switch {
		case len(o) == 0:
			if len(c) == 0 {
				create(n, reasonNewHost)
			}
		case final:
			for _, p := range o {
				actions = append(actions, deleteAction(p, reasonOldTmpl))
			}
			if len(c) == 0 {
				create(n, reasonNewTmpl)
			}
		case ds.Spec.UpdateStrategy.Type == resources.OnDeleteStrategy:
		case len(c) > 0 && countReady(c) > 0:
			// The new pod serves: the old ones are surplus.
			for _, p := range o {
				actions = append(actions, deleteAction(p, reasonOldTmpl))
			}
		case len(c) > 0:
			// A surged pod is starting; wait for it.
		case surge > 0:
			surge--
			create(n, reasonNewTmpl)
		case countReady(o) == 0:
			// Serves nothing already: replace it freely.
			for _, p := range o {
				actions = append(actions, deleteAction(p, reasonOldTmpl))
			}
		case unavailable > 0:
			unavailable--
			for _, p := range o {
				actions = append(actions, deleteAction(p, reasonOldTmpl))
			}
		}
	}
	st.Complete = len(g.dead) == 0 && st.Updated == len(nodes) && st.Ready == len(nodes) && len(g.current) == len(nodes) && len(g.old) == 0
	if ds.Spec.UpdateStrategy.Type == resources.OnDeleteStrategy {
		// Old pods stay until deleted by hand: the DaemonSet is done when
		// every matching host runs a ready pod.
		ready := 0
		for _, n := range nodes {
			if countReady(cur[n])+countReady(old[n]) > 0 {
				ready++
			}
		}
		st.Complete = len(g.dead) == 0 && ready == len(nodes)
	}
	return actions, st
}
