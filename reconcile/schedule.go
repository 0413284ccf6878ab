package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// The scheduler's reasons for leaving a node out, worded as kube-scheduler
// words them in "0/3 nodes are available: ...".
const (
	unfitSelector = "node(s) didn't match Pod's node affinity/selector"
	unfitAnti     = "node(s) didn't match pod anti-affinity rules"
	unfitSpread   = "node(s) didn't match pod topology spread constraints"
)

// podRef is a live (or just placed) pod as placement sees it.
type podRef struct {
	namespace string
	labels    map[string]string
}

// fleet is what every placement in one Step shares: the reachable nodes,
// their labels and the pods on each, updated as pods are placed so that a
// Deployment placed later sees the pods placed before it.
type fleet struct {
	nodes  []string                     // reachable nodes, sorted
	labels map[string]map[string]string // node labels, built-ins included
	pods   map[string][]podRef          // live pods per node
	total  map[string]int               // live pods per node
	obs    *Observed                    // for minReadySeconds (available.go)
	// claims are the nodes holding each claim's volume, updated as pods
	// bind claims; unread are the cluster's nodes not read (claims.go).
	claims map[string][]string
	unread []string
}

func newFleet(cl *resources.Cluster, obs *Observed) *fleet {
	f := &fleet{nodes: obs.Reachable(), labels: map[string]map[string]string{}, pods: map[string][]podRef{}, total: map[string]int{}, obs: obs}
	f.claims, f.unread = claimNodes(cl, obs)
	if cl != nil {
		for _, n := range cl.Spec.Nodes {
			f.labels[n.Name] = n.NodeLabels()
		}
	}
	for _, n := range f.nodes {
		if f.labels[n] == nil { // not in the Cluster: only the built-ins
			f.labels[n] = resources.Node{Name: n}.NodeLabels()
		}
		for _, p := range obs.Pods[n] {
			if isLive(p) {
				f.pods[n] = append(f.pods[n], podRef{p.Namespace, p.Labels})
				f.total[n]++
			}
		}
	}
	return f
}

// fits reports whether a pod of this template may run on node at all, by
// its nodeSelector and required node affinity (what a DaemonSet uses).
func (f *fleet) fits(pl *resources.Placement, node string) bool {
	return pl.Fits(f.labels[node])
}

// placer places one Deployment's new pods. Filters first (nodeSelector,
// required node affinity, required pod anti-affinity on the host, spread
// constraints with DoNotSchedule); of the nodes left, the best is the one
// with the highest preferred node affinity weight less the preferred
// anti-affinity weight of the pods it runs, then the fewest matching pods
// in each ScheduleAnyway spread domain, then the fewest of this
// Deployment's pods, then the fewest pods overall, then the first name, so
// two runners given the same state choose the same nodes.
//
// Placement decides only where new pods go. Running pods stay where they
// are when a node's labels change, as Kubernetes' IgnoredDuringExecution
// says; a DaemonSet is the exception (see daemonset.go).
type placer struct {
	d         *resources.Deployment
	f         *fleet
	namespace string
	self      map[string]string // the template's labels
	pl        *resources.Placement
	mine      map[string]int // this Deployment's pods per node
}

func newPlacer(f *fleet, d *resources.Deployment) *placer {
	return &placer{d: d, f: f, namespace: d.Namespace, self: d.Spec.Template.Labels, pl: &d.Spec.Template.Spec.Placement, mine: map[string]int{}}
}

// keep records an existing pod that stays.
func (p *placer) keep(node string) { p.mine[node]++ }

// next picks the node for one more pod and records it there; with no
// node left it returns "" and the scheduler's reason.
func (p *placer) next() (string, string) {
	pin, blocked := p.f.claimPin(p.d)
	if blocked != "" {
		return "", blocked
	}
	unfit := map[string]int{}
	best, bestKey := "", []int(nil)
	for _, n := range p.f.nodes {
		if pin != "" && n != pin {
			unfit[unfitVolume]++
			continue
		}
		if why := p.filter(n); why != "" {
			unfit[why]++
			continue
		}
		k := p.score(n)
		if best == "" || slices.Compare(k, bestKey) < 0 {
			best, bestKey = n, k
		}
	}
	if best == "" {
		return "", unschedulableReason(len(p.f.nodes), unfit)
	}
	p.f.bindClaims(p.d, best)
	p.mine[best]++
	p.f.total[best]++
	p.f.pods[best] = append(p.f.pods[best], podRef{p.namespace, p.self})
	return best, ""
}

func (p *placer) filter(node string) string {
	if !p.f.fits(p.pl, node) {
		return unfitSelector
	}
	if a := p.pl.Affinity; a != nil && a.PodAntiAffinity != nil {
		for _, t := range a.PodAntiAffinity.Required {
			if p.matching(node, t.LabelSelector) > 0 {
				return unfitAnti
			}
		}
	}
	for _, c := range p.pl.TopologySpreadConstraints {
		if c.WhenUnsatisfiable == resources.DoNotSchedule && !p.withinSkew(node, c) {
			return unfitSpread
		}
	}
	return ""
}

// score is compared lexicographically: lower is better.
func (p *placer) score(node string) []int {
	pref := p.pl.Preference(p.f.labels[node])
	if a := p.pl.Affinity; a != nil && a.PodAntiAffinity != nil {
		for _, t := range a.PodAntiAffinity.Preferred {
			if p.matching(node, t.PodAffinityTerm.LabelSelector) > 0 {
				pref -= int(t.Weight)
			}
		}
	}
	spread := 0
	for _, c := range p.pl.TopologySpreadConstraints {
		if c.WhenUnsatisfiable == resources.ScheduleAnyway {
			spread += p.domainCount(p.f.labels[node][c.TopologyKey], c)
		}
	}
	return []int{-pref, spread, p.mine[node], p.f.total[node]}
}

// matching counts the pods of this namespace on node that sel selects.
func (p *placer) matching(node string, sel *resources.LabelSelector) int {
	n := 0
	for _, r := range p.f.pods[node] {
		if r.namespace == p.namespace && sel.Matches(r.labels) {
			n++
		}
	}
	return n
}

// domainCount counts the selected pods in one topology domain: the nodes
// whose label c.TopologyKey has this value, among those the pod may run on
// (Kubernetes' nodeAffinityPolicy: Honor).
func (p *placer) domainCount(value string, c resources.TopologySpreadConstraint) int {
	n := 0
	for _, node := range p.f.nodes {
		if v, ok := p.f.labels[node][c.TopologyKey]; ok && v == value && p.f.fits(p.pl, node) {
			n += p.matching(node, c.LabelSelector)
		}
	}
	return n
}

// withinSkew reports whether one more pod on node keeps the constraint's
// skew (this domain's count less the emptiest domain's) within maxSkew. A
// node without the topology label is not in any domain and is left out.
func (p *placer) withinSkew(node string, c resources.TopologySpreadConstraint) bool {
	value, ok := p.f.labels[node][c.TopologyKey]
	if !ok {
		return false
	}
	counts := map[string]int{}
	for _, n := range p.f.nodes {
		if v, ok := p.f.labels[n][c.TopologyKey]; ok && p.f.fits(p.pl, n) {
			counts[v] += p.matching(n, c.LabelSelector)
		}
	}
	least := -1
	for _, n := range counts {
		if least < 0 || n < least {
			least = n
		}
	}
	return counts[value]+1-least <= int(c.MaxSkew)
}

// unschedulableReason is kube-scheduler's FailedScheduling message.
func unschedulableReason(nodes int, unfit map[string]int) string {
	if nodes == 0 {
		return "0/0 nodes are available: no node could be reached."
	}
	parts := make([]string, 0, len(unfit))
	for _, why := range slices.Sorted(maps.Keys(unfit)) {
		parts = append(parts, fmt.Sprintf("%d %s", unfit[why], why))
	}
	return fmt.Sprintf("0/%d nodes are available: %s.", nodes, strings.Join(parts, ", "))
}

// surplusOrder sorts pods so that the first ones are the best to remove:
// not ready before ready, then from the node that holds the most of this
// Deployment's pods, then the newest (Kubernetes removes the youngest).
func surplusOrder(pods []runtime.Pod, perNode map[string]int) func(i, j int) bool {
	return func(i, j int) bool {
		a, b := pods[i], pods[j]
		if a.Ready != b.Ready {
			return !a.Ready
		}
		if perNode[a.Node] != perNode[b.Node] {
			return perNode[a.Node] > perNode[b.Node]
		}
		if !a.Created.Equal(b.Created) {
			return a.Created.After(b.Created)
		}
		return a.Name < b.Name
	}
}
