package reconcile

import "github.com/reconcile-dev/reconcile/runtime"

// placer spreads new pods: a Deployment's pods go to the node with the fewest
// of its pods, then the fewest pods overall, then the first name in order,
// so two runners given the same state choose the same nodes.
type placer struct {
	nodes []string       // reachable nodes, sorted
	mine  map[string]int // this Deployment's pods per node
	total map[string]int // all pods per node
}

func newPlacer(nodes []string, total map[string]int) *placer {
	t := make(map[string]int, len(total))
	for k, v := range total {
		t[k] = v
	}
	return &placer{nodes: nodes, mine: map[string]int{}, total: t}
}

// keep records an existing pod that stays.
func (p *placer) keep(node string) { p.mine[node]++ }

// next picks the node for one more pod and records it there.
func (p *placer) next() string {
	best := ""
	for _, n := range p.nodes {
		if best == "" || p.mine[n] < p.mine[best] || (p.mine[n] == p.mine[best] && p.total[n] < p.total[best]) {
			best = n
		}
	}
	if best != "" {
		p.mine[best]++
		p.total[best]++
	}
	return best
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
