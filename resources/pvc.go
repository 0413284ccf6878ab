package resources

import (
	"slices"
	"strings"
)

// PersistentVolumeClaim is a local claim (issue 12): a named Docker volume
// on the node where its first pod lands, like a local PersistentVolume
// bound on first use. Its pods are pinned to that node from then on
// (reconcile/claims.go), and prune never deletes its data unless asked.
type PersistentVolumeClaim struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       PVCSpec `json:"spec"`
	Source     Source  `json:"-"`
}

func (c *PersistentVolumeClaim) Default() {
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
}

func validatePVC(r *reporter, c *PersistentVolumeClaim) {
	o := r.object(c.Source, "PersistentVolumeClaim", c.Name)
	validateMeta(o, &c.ObjectMeta, "metadata", true)
	validatePVCSpec(o, "spec", &c.Spec)
}

type PVCSpec struct {
	AccessModes      []string     `json:"accessModes,omitempty"`
	Resources        PVCResources `json:"resources"`
	StorageClassName *string      `json:"storageClassName,omitempty"`
	VolumeMode       *string      `json:"volumeMode,omitempty"`
}

type PVCResources struct {
	Requests map[string]Quantity `json:"requests,omitempty"`
}

// Access modes as Kubernetes names them. A local volume is on one node, so
// every mode but ReadWriteMany can be honoured.
const (
	ReadWriteOnce    = "ReadWriteOnce"
	ReadOnlyMany     = "ReadOnlyMany"
	ReadWriteOncePod = "ReadWriteOncePod"
	ReadWriteMany    = "ReadWriteMany"
)

// validatePVCSpec checks a claim's spec at path p ("spec").
func validatePVCSpec(o obj, p string, s *PVCSpec) {
	ap := fieldPath(p, "accessModes")
	if len(s.AccessModes) == 0 {
		o.errorf(ap, "at least 1 access mode is required")
	}
	seen := map[string]bool{}
	for i, m := range s.AccessModes {
		mp := indexPath(ap, i)
		switch m {
		case ReadWriteOnce, ReadOnlyMany, ReadWriteOncePod:
		case ReadWriteMany:
			o.errorf(mp, "ReadWriteMany is not supported: a local volume lives on one node")
			continue
		default:
			o.errorf(mp, "unsupported value %q: supported values: \"ReadWriteOnce\", \"ReadOnlyMany\", \"ReadWriteOncePod\"", m)
			continue
		}
		if seen[m] {
			o.errorf(mp, "duplicate value %q", m)
		}
		seen[m] = true
	}
	if seen[ReadWriteOncePod] && len(s.AccessModes) > 1 {
		o.errorf(ap, "may not use ReadWriteOncePod with other access modes")
	}
	if m := s.VolumeMode; m != nil && *m != "Filesystem" {
		o.errorf(fieldPath(p, "volumeMode"), "unsupported value %q: supported values: \"Filesystem\"", *m)
	}
	rp := fieldPath(p, "resources.requests.storage")
	q, ok := s.Resources.Requests["storage"]
	if !ok {
		o.errorf(rp, "Required value")
		return
	}
	if _, err := ParseQuantity(q.Raw); err != nil {
		o.errorf(rp, "%v", err)
	} else if q.Value() <= 0 {
		o.errorf(rp, "must be greater than 0, not %s", q.Raw)
	}
}

// PVCVolumeSource is a pod volume backed by a claim in the pod's namespace.
type PVCVolumeSource struct {
	ClaimName string `json:"claimName"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

// validatePVCVolume checks a pod's persistentVolumeClaim volume on its own;
// checkClaimRefs checks it against the tree's claims.
func validatePVCVolume(o obj, p string, c *PVCVolumeSource) {
	validateRefName(o, fieldPath(p, "claimName"), c.ClaimName)
}

// checkClaimRefs reports pods' claims that the tree does not declare in
// the pod's namespace (naming the namespace that does, if one does), a
// ReadWriteOnce(Pod) claim used by more than one workload or a
// ReadWriteOncePod claim by more than one replica, and warns that a
// Deployment with a ReadWriteOnce claim (more replicas, or RollingUpdate)
// rolls with Recreate semantics: the claim's volume is on one node, so the
// old pod stops before the new one starts (Deployment.Recreates). A
// DaemonSet may not mount a claim: its pods run on every matching node,
// the volume on one. It records each workload's claims (Deployment.Claims).
func checkClaimRefs(r *reporter, s *Set) {
	users := map[*PersistentVolumeClaim][]*Deployment{}
	for _, d := range s.Deployments {
		o := r.object(d.Source, d.kind(), d.Name)
		d.Claims = nil
		for i, v := range d.Spec.Template.Spec.Volumes {
			c := v.PersistentVolumeClaim
			if c == nil || c.ClaimName == "" {
				continue
			}
			p := fieldPath(indexPath("spec.template.spec.volumes", i), "persistentVolumeClaim.claimName")
			claim := s.claimNamed(d.Namespace, c.ClaimName)
			if claim == nil {
				if elsewhere := declaredIn(s.PersistentVolumeClaims, c.ClaimName, func(x *PersistentVolumeClaim) *ObjectMeta { return &x.ObjectMeta }); len(elsewhere) > 0 {
					o.errorf(p, "PersistentVolumeClaim %s/%s is not declared; a claim must be in the pod's namespace, and %s is declared in %s", d.Namespace, c.ClaimName, quote(c.ClaimName), strings.Join(elsewhere, ", "))
				} else {
					o.errorf(p, "PersistentVolumeClaim %s/%s is not declared", d.Namespace, c.ClaimName)
				}
				continue
			}
			if d.DaemonSet != nil {
				o.errorf(p, "a DaemonSet cannot mount PersistentVolumeClaim %s/%s: its pods run on every matching node, and a local claim's volume is on one", d.Namespace, c.ClaimName)
				continue
			}
			d.Claims = append(d.Claims, claim)
			if !claim.readWriteOnce() {
				continue
			}
			if !slices.Contains(users[claim], d) {
				users[claim] = append(users[claim], d)
			}
			if d.kind() != "Deployment" {
				continue
			}
			many := d.Spec.Replicas != nil && *d.Spec.Replicas > 1
			switch {
			case many && slices.Contains(claim.Spec.AccessModes, ReadWriteOncePod):
				o.errorf("spec.replicas", "%d replicas cannot share ReadWriteOncePod PersistentVolumeClaim %s/%s: only one pod may use it", *d.Spec.Replicas, d.Namespace, c.ClaimName)
			case many:
				o.warnf("spec.replicas", "%d replicas share ReadWriteOnce PersistentVolumeClaim %s/%s: all run on the claim's node and roll with Recreate semantics (old pods stop before new ones start)", *d.Spec.Replicas, d.Namespace, c.ClaimName)
			case d.Spec.Strategy.Type != "Recreate":
				o.warnf("spec.strategy.type", "rolls with Recreate semantics: %s PersistentVolumeClaim %s/%s is on one node, so the old pod is stopped before the new one starts there", claim.writeMode(), d.Namespace, c.ClaimName)
			}
		}
	}
	for claim, ds := range users {
		if len(ds) < 2 {
			continue
		}
		for _, d := range ds[1:] {
			r.object(d.Source, d.kind(), d.Name).errorf("spec.template.spec.volumes", "%s PersistentVolumeClaim %s/%s is already used by %s %s/%s", claim.writeMode(), claim.Namespace, claim.Name, ds[0].kind(), ds[0].Namespace, ds[0].Name)
		}
	}
}

// ClaimsOf are the declared claims d's pod template mounts, in volume
// order: Deployment.Claims for a template other than the one Load checked
// (a rollback's). An undeclared claim is left out; its pod then finds no
// volume and fails to start.
func (s *Set) ClaimsOf(d *Deployment) []*PersistentVolumeClaim {
	var out []*PersistentVolumeClaim
	for _, v := range d.Spec.Template.Spec.Volumes {
		if c := v.PersistentVolumeClaim; c != nil {
			if claim := s.claimNamed(d.Namespace, c.ClaimName); claim != nil {
				out = append(out, claim)
			}
		}
	}
	return out
}

func (s *Set) claimNamed(ns, name string) *PersistentVolumeClaim {
	for _, c := range s.PersistentVolumeClaims {
		if c.Namespace == ns && c.Name == name {
			return c
		}
	}
	return nil
}

// writeMode is the claim's single-writer access mode, for messages.
func (c *PersistentVolumeClaim) writeMode() string {
	if slices.Contains(c.Spec.AccessModes, ReadWriteOncePod) {
		return ReadWriteOncePod
	}
	return ReadWriteOnce
}

// readWriteOnce says whether only one node (one pod) may write the claim.
func (c *PersistentVolumeClaim) readWriteOnce() bool {
	return slices.Contains(c.Spec.AccessModes, ReadWriteOnce) || slices.Contains(c.Spec.AccessModes, ReadWriteOncePod)
}
