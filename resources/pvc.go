package resources

// PersistentVolumeClaim is a local claim (issue 12): a named Docker volume
// on the node where its first pod lands. It is decoded and checked; the
// runtime does not create its volume yet and pods cannot mount one
// (fields.go still refuses the persistentVolumeClaim volume source), so
// Load warns about every claim it keeps.
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
	o.warnf("", "local PersistentVolumeClaims are not applied yet: no volume is created and no pod can mount it")
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
