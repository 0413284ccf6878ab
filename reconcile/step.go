package reconcile

import (
	"sort"

	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// ActionKind is what happens to one pod.
type ActionKind string

const (
	ActionCreate ActionKind = "create"
	ActionDelete ActionKind = "delete"
)

// Action is one pod change on one node.
type Action struct {
	Kind         ActionKind
	Node         string
	Namespace    string
	Deployment   string
	TemplateHash string      // create: the template to run
	Image        string      // create: for display
	Pod          runtime.Pod // delete: the pod to remove
	Reason       string
}

// Reasons shown in plans and progress.
const (
	reasonScaleUp    = "scale up"
	reasonScaleDown  = "scale down"
	reasonNewTmpl    = "new pod template"
	reasonOldTmpl    = "replaced by new pod template"
	reasonNotRunning = "not running"
	reasonPrune      = "no longer declared (pruned)"
)

// DeploymentStatus is a Deployment's rollout state, like kubectl's columns.
type DeploymentStatus struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Kind      string `json:"kind,omitempty"` // DaemonSet; empty for a Deployment
	Replicas  int    `json:"replicas"`       // desired (a DaemonSet's: the matching hosts)
	Updated   int    `json:"updated"`        // pods of the current template
	Ready     int    `json:"ready"`          // ready pods of the current template
	// Available pods of the current template have been ready for
	// minReadySeconds; the rollout is complete when all are.
	Available int  `json:"available"`
	Old       int  `json:"old,omitempty"` // pods of other templates still running
	Complete  bool `json:"complete"`
	// Unschedulable pods fit no reachable node; Reason is the scheduler's
	// "0/3 nodes are available: ..." for them.
	Unschedulable int    `json:"unschedulable,omitempty"`
	Reason        string `json:"reason,omitempty"`
}

// podGroups are a Deployment's observed pods, by role.
type podGroups struct {
	current []runtime.Pod // current template, running or restarting
	old     []runtime.Pod // other templates, running or restarting
	dead    []runtime.Pod // exited, dead or never started: replaced
}

func isLive(p runtime.Pod) bool {
	switch p.State {
	case "running", "restarting", "paused":
		return true
	}
	// A crashed container the host's supervisor restarts (with back-off)
	// keeps its pod, as kubelet's restarts do; the Deployment does not
	// replace a crash-looping pod.
	return p.Restarting()
}

func key(ns, name string) string { return ns + "/" + name }

// groupPods sorts every observed pod into its Deployment's groups; pods of
// Deployments that are not declared come back separately.
func groupPods(ds []*resources.Deployment, obs *Observed, hashes map[string]string) (map[string]*podGroups, []runtime.Pod) {
	groups := map[string]*podGroups{}
	for _, d := range ds {
		groups[key(d.Namespace, d.Name)] = &podGroups{}
	}
	var undeclared []runtime.Pod
	for _, node := range obs.Reachable() {
		for _, p := range obs.Pods[node] {
			k := key(p.Namespace, p.Deployment)
			g, ok := groups[k]
			switch {
			case !ok:
				undeclared = append(undeclared, p)
			case !isLive(p):
				g.dead = append(g.dead, p)
			case p.TemplateHash == hashes[k]:
				g.current = append(g.current, p)
			default:
				g.old = append(g.old, p)
			}
		}
	}
	return groups, undeclared
}

func countReady(ps []runtime.Pod) int {
	n := 0
	for _, p := range ps {
		if p.Ready {
			n++
		}
	}
	return n
}

// Step decides the next pod changes. With final set it returns every change
// needed to reach the desired state at once (what diff shows); otherwise it
// returns only what is safe now under each Deployment's strategy, and the
// caller observes again after acting (what apply does, in a loop).
// The Cluster (nil-safe) gives the node labels placement reads.
func Step(ds []*resources.Deployment, cl *resources.Cluster, obs *Observed, prune, final bool) ([]Action, []DeploymentStatus) {
	// A template hash marshals the whole template: compute each once.
	hashes := make(map[string]string, len(ds))
	for _, d := range ds {
		hashes[key(d.Namespace, d.Name)] = d.TemplateHash()
	}
	groups, undeclared := groupPods(ds, obs, hashes)
	f := newFleet(cl, obs)
	var actions []Action
	var statuses []DeploymentStatus
	for _, d := range ds {
		k := key(d.Namespace, d.Name)
		a, st := stepDeployment(d, hashes[k], groups[k], f, final)
		actions = append(actions, a...)
		statuses = append(statuses, st)
	}
	if prune {
		for _, p := range undeclared {
			actions = append(actions, deleteAction(p, reasonPrune))
		}
	}
	return actions, statuses
}

func deleteAction(p runtime.Pod, reason string) Action {
	return Action{Kind: ActionDelete, Node: p.Node, Namespace: p.Namespace, Deployment: p.Deployment, Pod: p, Reason: reason}
}

func stepDeployment(d *resources.Deployment, hash string, g *podGroups, f *fleet, final bool) ([]Action, DeploymentStatus) {
	if d.DaemonSet != nil {
		return stepDaemonSet(d, hash, g, f, final)
	}
	replicas := int(*d.Spec.Replicas)
	st := DeploymentStatus{Namespace: d.Namespace, Name: d.Name, Replicas: replicas,
		Updated: len(g.current), Ready: countReady(g.current), Old: len(g.old), Available: countAvailable(g.current, d, f.obs)}
	st.Complete = len(g.old) == 0 && len(g.dead) == 0 && st.Updated == replicas && st.Available == replicas

	var actions []Action
	for _, p := range g.dead {
		actions = append(actions, deleteAction(p, reasonNotRunning))
	}

	perNode := map[string]int{}
	for _, p := range g.current {
		perNode[p.Node]++
	}
	// Surplus pods of the current template go first, whatever the strategy.
	current := append([]runtime.Pod(nil), g.current...)
	if len(current) > replicas {
		sort.SliceStable(current, surplusOrder(current, perNode))
		for _, p := range current[:len(current)-replicas] {
			actions = append(actions, deleteAction(p, reasonScaleDown))
			perNode[p.Node]--
		}
		current = current[len(current)-replicas:]
	}

	pl := newPlacer(f, d)
	for _, p := range current {
		pl.keep(p.Node)
	}
	create := func(n int, reason string) {
		for range n {
			node, why := pl.next()
			if node == "" {
				st.Unschedulable, st.Reason = st.Unschedulable+1, why
				continue
			}
			actions = append(actions, Action{Kind: ActionCreate, Node: node, Namespace: d.Namespace,
				Deployment: d.Name, TemplateHash: hash, Image: d.Spec.Template.Spec.Containers[0].Image, Reason: reason})
		}
	}
	createReason := reasonScaleUp
	if len(g.old) > 0 {
		createReason = reasonNewTmpl
		if why := rollReason(d, g.old); why != "" {
			createReason = why
		}
	}
	missing := replicas - len(current)

	if final {
		for _, p := range g.old {
			actions = append(actions, deleteAction(p, reasonOldTmpl))
		}
		create(missing, createReason)
		return actions, st
	}

	if d.Recreates() { // its strategy, or a ReadWriteOnce claim
		if len(g.old) > 0 {
			for _, p := range g.old {
				actions = append(actions, deleteAction(p, reasonOldTmpl))
			}
			return actions, st // new pods start once the old ones are gone
		}
		create(missing, createReason)
		return actions, st
	}

	surge, unavailable := d.RollingParams()
	// Scale up the new template within maxSurge.
	room := replicas + surge - len(current) - len(g.old)
	if n := min(missing, room); n > 0 {
		create(n, createReason)
	}
	// Scale down old pods while at least replicas-maxUnavailable stay ready.
	// Old pods that are not ready serve nothing, so they go first and freely.
	old := append([]runtime.Pod(nil), g.old...)
	sort.SliceStable(old, surplusOrder(old, map[string]int{}))
	budget := countAvailable(current, d, f.obs) + countAvailable(old, d, f.obs) - (replicas - unavailable)
	for _, p := range old {
		if !p.Ready {
			actions = append(actions, deleteAction(p, reasonOldTmpl))
			continue
		}
		if budget > 0 {
			actions = append(actions, deleteAction(p, reasonOldTmpl))
			budget--
		}
	}
	return actions, st
}
