package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/resources"
)

// ConfigChange is a ConfigMap or Secret whose mounted files change on
// the hosts, as one plan line: "Secret default/tls: 3 keys, 1 changed"
// (Argo CD's masking: counts only, never a value).
type ConfigChange struct {
	Object  string   `json:"object"`  // "Secret default/tls"; a projected volume names each source
	Summary string   `json:"summary"` // resources.KeysChanged
	Nodes   []string `json:"nodes"`
}

// configChanges folds the agents' volume updates (one per Deployment
// volume and node, "N files, M changed" as net.volumeChange words it)
// into one line per object, the largest change a node reports.
func configChanges(d *Desired, nodes []NodePlan) []ConfigChange {
	byObj := map[string]*ConfigChange{}
	counts := map[string][2]int{}
	for _, n := range nodes {
		for _, c := range n.Net {
			if c.Kind != rnet.KindVolume || c.Action != rnet.ActionUpdate {
				continue
			}
			var files, changed int
			if _, err := fmt.Sscanf(c.Detail, "%d files, %d changed", &files, &changed); err != nil || changed == 0 {
				continue
			}
			obj := volumeObject(d, c.Target[strings.LastIndex(c.Target, "/")+1:])
			if obj == "" {
				continue
			}
			cc := byObj[obj]
			if cc == nil {
				cc = &ConfigChange{Object: obj}
				byObj[obj] = cc
			}
			if prev := counts[obj]; changed > prev[1] || (changed == prev[1] && files > prev[0]) {
				counts[obj] = [2]int{files, changed}
			}
			if !slices.Contains(cc.Nodes, n.Node) {
				cc.Nodes = append(cc.Nodes, n.Node)
			}
		}
	}
	var out []ConfigChange
	for _, k := range slices.Sorted(maps.Keys(byObj)) {
		cc := byObj[k]
		cc.Summary = resources.KeysChanged(counts[k][0], counts[k][1])
		out = append(out, *cc)
	}
	return out
}

// volumeObject names the ConfigMap or Secret (or a projected volume's
// sources) behind a volume ID, namespace.deployment.volume.
func volumeObject(d *Desired, id string) string {
	parts := strings.SplitN(id, ".", 3)
	if len(parts) != 3 {
		return ""
	}
	ns, depName, volName := parts[0], parts[1], parts[2]
	for _, dep := range d.Deployments {
		if dep.Namespace != ns || dep.Name != depName {
			continue
		}
		for _, v := range dep.Spec.Template.Spec.Volumes {
			if v.Name != volName {
				continue
			}
			switch {
			case v.ConfigMap != nil:
				return resources.KindConfigMap + " " + ns + "/" + v.ConfigMap.Name
			case v.Secret != nil:
				return resources.KindSecret + " " + ns + "/" + v.Secret.SecretName
			case v.Projected != nil:
				var srcs []string
				for _, p := range v.Projected.Sources {
					switch {
					case p.ConfigMap != nil:
						srcs = append(srcs, resources.KindConfigMap+" "+ns+"/"+p.ConfigMap.Name)
					case p.Secret != nil:
						srcs = append(srcs, resources.KindSecret+" "+ns+"/"+p.Secret.Name)
					}
				}
				return strings.Join(srcs, " + ")
			}
		}
	}
	return ""
}
