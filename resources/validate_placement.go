package resources

import (
	"maps"
	"slices"
	"strconv"
)

// validatePlacement checks nodeSelector, affinity and topology spread
// constraints as kube-apiserver would, and refuses what reconcile's
// scheduler cannot honour (a topology other than a node label).
func validatePlacement(o obj, path string, p *Placement) {
	validateLabels(o, fieldPath(path, "nodeSelector"), p.NodeSelector)
	if a := p.Affinity; a != nil {
		ap := fieldPath(path, "affinity")
		if na := a.NodeAffinity; na != nil {
			np := fieldPath(ap, "nodeAffinity")
			if na.Required != nil {
				rp := fieldPath(np, "requiredDuringSchedulingIgnoredDuringExecution")
				if len(na.Required.NodeSelectorTerms) == 0 {
					o.errorf(fieldPath(rp, "nodeSelectorTerms"), "required: give at least one term")
				}
				for i, t := range na.Required.NodeSelectorTerms {
					validateNodeTerm(o, indexPath(fieldPath(rp, "nodeSelectorTerms"), i), t)
				}
			}
			for i, t := range na.Preferred {
				tp := indexPath(fieldPath(np, "preferredDuringSchedulingIgnoredDuringExecution"), i)
				validateWeight(o, fieldPath(tp, "weight"), t.Weight)
				validateNodeTerm(o, fieldPath(tp, "preference"), t.Preference)
			}
		}
		if pa := a.PodAntiAffinity; pa != nil {
			pp := fieldPath(ap, "podAntiAffinity")
			for i, t := range pa.Required {
				validatePodAffinityTerm(o, indexPath(fieldPath(pp, "requiredDuringSchedulingIgnoredDuringExecution"), i), t)
			}
			for i, t := range pa.Preferred {
				tp := indexPath(fieldPath(pp, "preferredDuringSchedulingIgnoredDuringExecution"), i)
				validateWeight(o, fieldPath(tp, "weight"), t.Weight)
				validatePodAffinityTerm(o, fieldPath(tp, "podAffinityTerm"), t.PodAffinityTerm)
			}
		}
	}
	for i, c := range p.TopologySpreadConstraints {
		cp := indexPath(fieldPath(path, "topologySpreadConstraints"), i)
		if c.MaxSkew < 1 {
			o.errorf(fieldPath(cp, "maxSkew"), "must be greater than 0, not %d", c.MaxSkew)
		}
		validateTopologyKey(o, fieldPath(cp, "topologyKey"), c.TopologyKey)
		switch c.WhenUnsatisfiable {
		case DoNotSchedule, ScheduleAnyway:
		default:
			o.errorf(fieldPath(cp, "whenUnsatisfiable"), "unsupported value %q: supported values: %q, %q", c.WhenUnsatisfiable, DoNotSchedule, ScheduleAnyway)
		}
		if c.LabelSelector != nil {
			validateSelector(o, fieldPath(cp, "labelSelector"), c.LabelSelector)
		}
	}
}

func validateNodeTerm(o obj, path string, t NodeSelectorTerm) {
	for i, e := range t.MatchExpressions {
		ep := indexPath(fieldPath(path, "matchExpressions"), i)
		if msg := qualifiedName(e.Key); msg != "" {
			o.errorf(fieldPath(ep, "key"), "invalid label key %q: %s", e.Key, msg)
		}
		vp := fieldPath(ep, "values")
		switch e.Operator {
		case "In", "NotIn":
			if len(e.Values) == 0 {
				o.errorf(vp, "required when operator is %s", e.Operator)
			}
		case "Exists", "DoesNotExist":
			if len(e.Values) > 0 {
				o.errorf(vp, "must be empty when operator is %s", e.Operator)
			}
		case "Gt", "Lt":
			if len(e.Values) != 1 {
				o.errorf(vp, "must hold exactly one integer when operator is %s", e.Operator)
			} else if _, err := strconv.ParseInt(e.Values[0], 10, 64); err != nil {
				o.errorf(indexPath(vp, 0), "invalid value %q: must be an integer when operator is %s", e.Values[0], e.Operator)
			}
			continue
		default:
			o.errorf(fieldPath(ep, "operator"), "unsupported value %q: supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\", \"Gt\", \"Lt\"", e.Operator)
		}
		for j, v := range e.Values {
			if msg := labelValue(v); msg != "" {
				o.errorf(indexPath(vp, j), "invalid label value %q: %s", v, msg)
			}
		}
	}
}

func validatePodAffinityTerm(o obj, path string, t PodAffinityTerm) {
	if t.TopologyKey != LabelHostname {
		o.errorf(fieldPath(path, "topologyKey"), "unsupported value %q: reconcile supports pod anti-affinity on %q only", t.TopologyKey, LabelHostname)
	}
	if t.LabelSelector == nil {
		o.errorf(fieldPath(path, "labelSelector"), "required: the pods to keep away from")
		return
	}
	validateSelector(o, fieldPath(path, "labelSelector"), t.LabelSelector)
}

func validateTopologyKey(o obj, path, key string) {
	if key == "" {
		o.errorf(path, "required: %q or a node label", LabelHostname)
	} else if msg := qualifiedName(key); msg != "" {
		o.errorf(path, "invalid label key %q: %s", key, msg)
	}
}

func validateWeight(o obj, path string, w int32) {
	if w < 1 || w > 100 {
		o.errorf(path, "must be in the range 1-100, not %d", w)
	}
}

// validateNodeLabels checks a Cluster node's labels; the built-in ones are
// the node's own facts and cannot be set.
func validateNodeLabels(o obj, path string, labels map[string]string) {
	validateLabels(o, path, labels)
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if k == LabelHostname || k == LabelOS {
			o.errorf(keyPath(path, k), "is set by reconcile (the node's name, and linux): remove it")
		}
	}
}
