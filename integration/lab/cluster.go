package lab

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// ClusterOptions change the Cluster manifest a test declares for the lab.
type ClusterOptions struct {
	// Hosts is how many of the lab's hosts (the first ones) the Cluster
	// lists; 0: all of them.
	Hosts int
	// Labels are spec.nodes[].labels by host name.
	Labels map[string]map[string]string
}

// ClusterManifest is the lab's Cluster manifest (what ClusterFile holds
// when o is zero), with the hosts and node labels o asks for.
func (l *Lab) ClusterManifest(o ClusterOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by the integration lab %q: its hosts, reached with %s.\n", l.Name, l.SSHConfig)
	fmt.Fprintf(&b, "apiVersion: reconcile.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: %s\nspec:\n  podCIDR: %s\n  serviceCIDR: %s\n  nodes:\n", ClusterName, PodCIDR, ServiceCIDR)
	for i, h := range l.Hosts {
		if o.Hosts > 0 && i >= o.Hosts {
			break
		}
		fmt.Fprintf(&b, "  - name: %s\n    ssh: root@%s:22\n    address: %s\n", h.Name, h.IP, h.IP)
		if ls := o.Labels[h.Name]; len(ls) > 0 {
			b.WriteString("    labels:\n")
			for _, k := range slices.Sorted(maps.Keys(ls)) {
				fmt.Fprintf(&b, "      %s: %s\n", k, strconv.Quote(ls[k]))
			}
		}
	}
	return b.String()
}
