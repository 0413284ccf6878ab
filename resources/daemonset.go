package resources

// DaemonSet is an apps/v1 DaemonSet: one pod on every host its pod
// template's nodeSelector and required node affinity allow.
//
// reconcile runs it as a Deployment (Workload) whose pods are placed one
// per matching host rather than by count, so endpoints, Services, status
// and pruning treat both kinds alike; pods carry the DaemonSet's name as
// their workload, as Kubernetes names them after it.
type DaemonSet struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       DaemonSetSpec `json:"spec"`
	Source     Source        `json:"-"`

	workload *Deployment
}

type DaemonSetSpec struct {
	Selector             *LabelSelector          `json:"selector"`
	Template             PodTemplateSpec         `json:"template"`
	UpdateStrategy       DaemonSetUpdateStrategy `json:"updateStrategy,omitzero"`
	MinReadySeconds      int32                   `json:"minReadySeconds,omitempty"`
	RevisionHistoryLimit *int32                  `json:"revisionHistoryLimit,omitempty"` // accepted, unused
}

// OnDeleteStrategy replaces a DaemonSet's pod only when it is deleted by
// hand (or its host goes); new hosts get the current template.
const OnDeleteStrategy = "OnDelete"

type DaemonSetUpdateStrategy struct {
	Type          string                       `json:"type,omitempty"` // defaulted to RollingUpdate
	RollingUpdate *RollingUpdateStrategyParams `json:"rollingUpdate,omitempty"`
}

// Default fills in what Kubernetes would: a RollingUpdate of
// maxUnavailable 1, maxSurge 0, and the pod template's defaults.
func (ds *DaemonSet) Default() {
	if ds.Namespace == "" {
		ds.Namespace = DefaultNamespace
	}
	u := &ds.Spec.UpdateStrategy
	if u.Type == "" {
		u.Type = RollingUpdateStrategy
	}
	if u.Type == RollingUpdateStrategy {
		if u.RollingUpdate == nil {
			u.RollingUpdate = &RollingUpdateStrategyParams{}
		}
		if u.RollingUpdate.MaxUnavailable == nil {
			u.RollingUpdate.MaxUnavailable = ptr(FromInt(1))
		}
		if u.RollingUpdate.MaxSurge == nil {
			u.RollingUpdate.MaxSurge = ptr(FromInt(0))
		}
	}
	if ds.Spec.RevisionHistoryLimit == nil {
		ds.Spec.RevisionHistoryLimit = ptr(int32(defaultRevisionHistoryLimit))
	}
	ds.Workload() // defaults the template
}

// Workload is the Deployment reconcile runs for the DaemonSet. It shares
// the DaemonSet's metadata and pod template; its replica count is
// decided per host when planning (see reconcile/daemonset.go).
func (ds *DaemonSet) Workload() *Deployment {
	if ds.workload != nil {
		return ds.workload
	}
	d := &Deployment{
		TypeMeta:   TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"},
		ObjectMeta: ds.ObjectMeta,
		Spec: DeploymentSpec{Replicas: ptr(int32(0)), Selector: ds.Spec.Selector, Template: ds.Spec.Template,
			MinReadySeconds: ds.Spec.MinReadySeconds},
		Source:    ds.Source,
		DaemonSet: ds,
	}
	d.Default()
	// The strategy is the DaemonSet's; Default gave the Deployment's.
	d.Spec.Strategy = DeploymentStrategy{Type: ds.Spec.UpdateStrategy.Type, RollingUpdate: ds.Spec.UpdateStrategy.RollingUpdate}
	ds.Spec.Template = d.Spec.Template
	ds.workload = d
	return d
}

// RollingParams resolves maxSurge and maxUnavailable against the number
// of hosts the DaemonSet runs on, as the DaemonSet controller does: a
// surge percentage rounds up, an unavailable one rounds down, and with
// both 0 one pod may still be unavailable so a rollout progresses.
func (ds *DaemonSet) RollingParams(nodes int) (maxSurge, maxUnavailable int) {
	surge, unavailable := FromInt(0), FromInt(1)
	if ru := ds.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			surge = *ru.MaxSurge
		}
		if ru.MaxUnavailable != nil {
			unavailable = *ru.MaxUnavailable
		}
	}
	maxSurge, _ = surge.scaled(nodes, true)
	maxUnavailable, _ = unavailable.scaled(nodes, false)
	if maxSurge == 0 && maxUnavailable == 0 {
		maxUnavailable = 1
	}
	return maxSurge, maxUnavailable
}

func validateDaemonSet(r *reporter, ds *DaemonSet) {
	o := r.object(ds.Source, "DaemonSet", ds.Name)
	validateMeta(o, &ds.ObjectMeta, "metadata", true)
	s := &ds.Spec
	selectorOK := validateSelector(o, "spec.selector", s.Selector)
	validateLabels(o, "spec.template.metadata.labels", s.Template.Labels)
	if selectorOK && !s.Selector.Matches(s.Template.Labels) {
		o.errorf("spec.template.metadata.labels", "selector %q does not match the template labels", s.Selector.String())
	}
	switch u := s.UpdateStrategy; u.Type {
	case OnDeleteStrategy:
		if u.RollingUpdate != nil {
			o.errorf("spec.updateStrategy.rollingUpdate", "may not be set when type is OnDelete")
		}
	case RollingUpdateStrategy:
		if ru := u.RollingUpdate; ru != nil {
			surgeZero := validateIntOrPercent(o, "spec.updateStrategy.rollingUpdate.maxSurge", ru.MaxSurge, true)
			unavailableZero := validateIntOrPercent(o, "spec.updateStrategy.rollingUpdate.maxUnavailable", ru.MaxUnavailable, true)
			if surgeZero && unavailableZero {
				o.errorf("spec.updateStrategy.rollingUpdate.maxUnavailable", "may not be 0 when maxSurge is 0: a rollout could never replace a pod")
			}
		}
	default:
		o.errorf("spec.updateStrategy.type", "unsupported value %q: supported values: \"RollingUpdate\", \"OnDelete\"", u.Type)
	}
	if s.MinReadySeconds < 0 {
		o.errorf("spec.minReadySeconds", "must be greater than or equal to 0")
	}
	if h := s.RevisionHistoryLimit; h != nil && *h < 0 {
		o.errorf("spec.revisionHistoryLimit", "must be greater than or equal to 0")
	}
	validatePodSpec(o, "spec.template.spec", &s.Template.Spec)
}

// kind is the kind a workload's problems are reported under: a
// DaemonSet's pod template is checked through its Workload Deployment,
// and its errors must name the DaemonSet the user wrote.
func (d *Deployment) kind() string {
	if d.DaemonSet != nil {
		return "DaemonSet"
	}
	return "Deployment"
}
