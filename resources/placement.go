package resources

import "strconv"

// Placement is the part of a pod spec that says which hosts may run the pod
// and how its replicas spread, as the Kubernetes scheduler reads it. It is
// embedded in PodSpec; reconcile/schedule.go applies it.
type Placement struct {
	NodeSelector              map[string]string          `json:"nodeSelector,omitempty"`
	Affinity                  *Affinity                  `json:"affinity,omitempty"`
	TopologySpreadConstraints []TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
}

// Built-in node labels every node carries, as kubelet sets them. A node's
// own labels (spec.nodes[].labels) may not override them.
const (
	LabelHostname = "kubernetes.io/hostname"
	LabelOS       = "kubernetes.io/os"
	LabelArch     = "kubernetes.io/arch"
)

type Affinity struct {
	NodeAffinity    *NodeAffinity    `json:"nodeAffinity,omitempty"`
	PodAntiAffinity *PodAntiAffinity `json:"podAntiAffinity,omitempty"`
}

type NodeAffinity struct {
	Required  *NodeSelector             `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
	Preferred []PreferredSchedulingTerm `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// NodeSelector matches a node when any one of its terms does.
type NodeSelector struct {
	NodeSelectorTerms []NodeSelectorTerm `json:"nodeSelectorTerms"`
}

// NodeSelectorTerm matches a node when all of its expressions do.
type NodeSelectorTerm struct {
	MatchExpressions []NodeSelectorRequirement `json:"matchExpressions,omitempty"`
}

type NodeSelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"` // In, NotIn, Exists, DoesNotExist, Gt, Lt
	Values   []string `json:"values,omitempty"`
}

type PreferredSchedulingTerm struct {
	Weight     int32            `json:"weight"` // 1-100
	Preference NodeSelectorTerm `json:"preference"`
}

// PodAntiAffinity keeps pods away from hosts that run pods its selector
// matches; only topologyKey kubernetes.io/hostname is supported (a host is
// reconcile's only topology domain besides node labels).
type PodAntiAffinity struct {
	Required  []PodAffinityTerm         `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
	Preferred []WeightedPodAffinityTerm `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

type PodAffinityTerm struct {
	LabelSelector *LabelSelector `json:"labelSelector,omitempty"`
	TopologyKey   string         `json:"topologyKey"`
}

type WeightedPodAffinityTerm struct {
	Weight          int32           `json:"weight"`
	PodAffinityTerm PodAffinityTerm `json:"podAffinityTerm"`
}

const (
	DoNotSchedule  = "DoNotSchedule"
	ScheduleAnyway = "ScheduleAnyway"
)

type TopologySpreadConstraint struct {
	MaxSkew           int32          `json:"maxSkew"`
	TopologyKey       string         `json:"topologyKey"`
	WhenUnsatisfiable string         `json:"whenUnsatisfiable"`
	LabelSelector     *LabelSelector `json:"labelSelector,omitempty"`
}

// Matches reports whether a node with these labels satisfies the
// requirement, with the scheduler's meaning: NotIn and DoesNotExist match
// a node without the key; Gt and Lt compare the value as an integer.
func (r NodeSelectorRequirement) Matches(labels map[string]string) bool {
	v, ok := labels[r.Key]
	switch r.Operator {
	case "In":
		return ok && contains(r.Values, v)
	case "NotIn":
		return !ok || !contains(r.Values, v)
	case "Exists":
		return ok
	case "DoesNotExist":
		return !ok
	case "Gt", "Lt":
		if !ok || len(r.Values) != 1 {
			return false
		}
		n, err1 := strconv.ParseInt(v, 10, 64)
		want, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == "Gt" {
			return n > want
		}
		return n < want
	}
	return false
}

// Matches reports whether every expression of the term matches; an empty
// term matches no node, as in Kubernetes.
func (t NodeSelectorTerm) Matches(labels map[string]string) bool {
	if len(t.MatchExpressions) == 0 {
		return false
	}
	for _, e := range t.MatchExpressions {
		if !e.Matches(labels) {
			return false
		}
	}
	return true
}

// Fits reports whether a node with these labels passes the pod's
// nodeSelector and required node affinity.
func (p *Placement) Fits(labels map[string]string) bool {
	for k, v := range p.NodeSelector {
		if labels[k] != v {
			return false
		}
	}
	if p.Affinity == nil || p.Affinity.NodeAffinity == nil || p.Affinity.NodeAffinity.Required == nil {
		return true
	}
	for _, t := range p.Affinity.NodeAffinity.Required.NodeSelectorTerms {
		if t.Matches(labels) {
			return true
		}
	}
	return false
}

// Preference is the sum of the weights of the preferred node affinity
// terms a node matches.
func (p *Placement) Preference(labels map[string]string) int {
	if p.Affinity == nil || p.Affinity.NodeAffinity == nil {
		return 0
	}
	w := 0
	for _, t := range p.Affinity.NodeAffinity.Preferred {
		if t.Preference.Matches(labels) {
			w += int(t.Weight)
		}
	}
	return w
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// NodeLabels are a node's labels as placement sees them: its own, plus the
// built-in hostname and os labels kubelet would set.
func (n Node) NodeLabels() map[string]string {
	l := make(map[string]string, len(n.Labels)+2)
	for k, v := range n.Labels {
		l[k] = v
	}
	l[LabelHostname] = n.Name
	l[LabelOS] = "linux"
	return l
}
