package resources

// PodTolerated holds pod fields that real manifests carry and that mean
// nothing without a Kubernetes API server, a priority scheduler or node
// taints. They are accepted so such manifests apply unchanged, and each
// is warned about so nobody relies on it.
type PodTolerated struct {
	ServiceAccountName           string       `json:"serviceAccountName,omitempty"`
	ServiceAccount               string       `json:"serviceAccount,omitempty"` // the deprecated alias
	AutomountServiceAccountToken *bool        `json:"automountServiceAccountToken,omitempty"`
	PriorityClassName            string       `json:"priorityClassName,omitempty"`
	Tolerations                  []Toleration `json:"tolerations,omitempty"`
}

type Toleration struct {
	Key               string `json:"key,omitempty"`
	Operator          string `json:"operator,omitempty"` // Exists or Equal (default)
	Value             string `json:"value,omitempty"`
	Effect            string `json:"effect,omitempty"` // NoSchedule, PreferNoSchedule, NoExecute
	TolerationSeconds *int64 `json:"tolerationSeconds,omitempty"`
}

func validateTolerated(o obj, path string, p *PodTolerated) {
	for _, f := range []struct{ field, value string }{{"serviceAccountName", p.ServiceAccountName}, {"serviceAccount", p.ServiceAccount}} {
		if f.value != "" {
			o.warnf(fieldPath(path, f.field), "ignored: reconcile has no API server, so pods get no service account token (%q is not looked up)", f.value)
		}
	}
	if a := p.AutomountServiceAccountToken; a != nil && *a {
		o.warnf(fieldPath(path, "automountServiceAccountToken"), "ignored: reconcile has no API server, so no token is mounted")
	}
	if p.PriorityClassName != "" {
		o.warnf(fieldPath(path, "priorityClassName"), "ignored: reconcile does not preempt pods; %q gives no priority", p.PriorityClassName)
	}
	tp := fieldPath(path, "tolerations")
	for i, t := range p.Tolerations {
		ip := indexPath(tp, i)
		switch t.Operator {
		case "", "Equal":
		case "Exists":
			if t.Value != "" {
				o.errorf(fieldPath(ip, "value"), "must be empty when operator is Exists")
			}
		default:
			o.errorf(fieldPath(ip, "operator"), "unsupported value %q: supported values: \"Equal\", \"Exists\"", t.Operator)
		}
		switch t.Effect {
		case "", "NoSchedule", "PreferNoSchedule", "NoExecute":
		default:
			o.errorf(fieldPath(ip, "effect"), "unsupported value %q: supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"", t.Effect)
		}
	}
	if len(p.Tolerations) > 0 {
		o.warnf(tp, "ignored: reconcile's hosts have no taints, so every pod may already run on every host its nodeSelector and affinity allow")
	}
}
