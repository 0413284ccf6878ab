package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/reconcile-dev/reconcile/reconcile"
)

// printDaemonSets is `get ds`, with kubectl's columns.
func (v *view) printDaemonSets(w io.Writer) error {
	return printList(v, w, v.status.Deployments, listing[reconcile.DeploymentView]{
		kind: "daemonset",
		keep: v.workloadsOf("DaemonSet"),
		object: func(d reconcile.DeploymentView) any {
			return map[string]any{
				"apiVersion": "apps/v1", "kind": "DaemonSet",
				"metadata": map[string]any{"name": d.Name, "namespace": d.Namespace},
				"spec":     map[string]any{"template": map[string]any{"spec": map[string]any{"nodeSelector": d.NodeSelector}}},
				"status": map[string]any{"desiredNumberScheduled": d.Replicas, "currentNumberScheduled": d.Updated + d.Old,
					"numberReady": d.Ready, "updatedNumberScheduled": d.Updated, "numberAvailable": d.Available},
			}
		},
		head: []string{"NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"},
		row: func(d reconcile.DeploymentView) (string, []string) {
			return d.Namespace, []string{d.Name, fmt.Sprint(d.Replicas), fmt.Sprint(d.Updated + d.Old), fmt.Sprint(d.Ready),
				fmt.Sprint(d.Updated), fmt.Sprint(d.Available), nodeSelectorText(d.NodeSelector), ageSince(d.Created, v.now)}
		},
	})
}

// nodeSelectorText is kubectl's NODE SELECTOR cell: k=v pairs, sorted.
func nodeSelectorText(sel map[string]string) string {
	if len(sel) == 0 {
		return "<none>"
	}
	parts := make([]string, 0, len(sel))
	for _, k := range slices.Sorted(maps.Keys(sel)) {
		parts = append(parts, k+"="+sel[k])
	}
	return strings.Join(parts, ",")
}
