package cli

import (
	"fmt"
	"io"

	"github.com/reconcile-dev/reconcile/reconcile"
)

// get pvc: kubectl's columns (NAME STATUS VOLUME CAPACITY ACCESS MODES
// STORAGECLASS ... AGE), with NODE (where the claim is bound: its volume
// is local to that node) and USED (bytes its files take, measured by the
// node's agent) before AGE; -o wide adds VOLUMEMODE as kubectl does.

func (v *view) printClaims(w io.Writer) error {
	head := []string{"NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "NODE", "USED", "AGE"}
	if v.wide() {
		head = append(head, "VOLUMEMODE")
	}
	return printList(v, w, v.status.Claims, listing[reconcile.ClaimView]{
		kind:   "persistentvolumeclaim",
		keep:   func(c reconcile.ClaimView) bool { return v.keep(c.Namespace, c.Name, c.Labels) },
		object: func(c reconcile.ClaimView) any { return claimObject(c) },
		head:   head,
		row: func(c reconcile.ClaimView) (string, []string) {
			cells := []string{c.Name, c.Phase, c.Volume, c.Capacity, c.AccessModesColumn(), c.StorageClass, orNone(c.Node), usedColumn(c), ageSince(c.Created, v.now)}
			if v.wide() {
				cells = append(cells, c.VolumeMode)
			}
			return c.Namespace, cells
		},
	})
}

// usedColumn is the bytes used in binary units ("12Ki", "1.5Gi"), "+"
// after a measure cut short, <unknown> when not measured.
func usedColumn(c reconcile.ClaimView) string {
	if c.Used == nil {
		if c.Volume == "" {
			return ""
		}
		return "<unknown>"
	}
	s := binaryBytes(*c.Used)
	if c.Partial {
		s += "+"
	}
	return s
}

func binaryBytes(n int64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprint(n)
	}
	f, i := float64(n)/1024, 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	s := fmt.Sprintf("%.1f", f)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s + string(units[i]) + "i"
}

// claimObject is the claim as kubectl prints a v1 PersistentVolumeClaim:
// the node it is bound to as the scheduler's selected-node annotation, the
// bytes used as reconcile's own.
func claimObject(c reconcile.ClaimView) map[string]any {
	meta := map[string]any{"name": c.Name, "namespace": c.Namespace}
	if len(c.Labels) > 0 {
		meta["labels"] = c.Labels
	}
	if !c.Created.IsZero() {
		meta["creationTimestamp"] = c.Created.UTC().Format("2006-01-02T15:04:05Z")
	}
	ann := map[string]any{}
	if c.Node != "" {
		ann["volume.kubernetes.io/selected-node"] = c.Node
	}
	if c.Used != nil {
		ann["reconcile.dev/used-bytes"] = fmt.Sprint(*c.Used)
		if c.Partial {
			ann["reconcile.dev/used-bytes"] = fmt.Sprintf("%d+", *c.Used)
		}
	}
	if len(ann) > 0 {
		meta["annotations"] = ann
	}
	spec := map[string]any{"volumeMode": c.VolumeMode}
	if len(c.AccessModes) > 0 {
		spec["accessModes"] = c.AccessModes
	}
	if c.StorageClass != "" {
		spec["storageClassName"] = c.StorageClass
	}
	if c.Request != "" {
		spec["resources"] = map[string]any{"requests": map[string]any{"storage": c.Request}}
	}
	status := map[string]any{"phase": c.Phase}
	if c.Phase == reconcile.ClaimBound {
		spec["volumeName"] = c.Volume
		status["accessModes"] = c.AccessModes
		status["capacity"] = map[string]any{"storage": c.Capacity}
	}
	return map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec, "status": status}
}
