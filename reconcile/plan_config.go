package reconcile

import (
	"maps"
	"slices"
	"strings"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/resources"
)

// ConfigChange is a ConfigMap or Secret whose mounted files change on
// the hosts, as one plan line: "Secret default/tls: 3 keys, 1 changed
// (tls.crt)" (Argo CD's masking: counts and key names, never a value).
type ConfigChange struct {
	Object  string   `json:"object"`  // "Secret default/tls"; a projected volume names each source
	Summary string   `json:"summary"` // resources.KeysChanged
	Keys    int      `json:"keys"`
	Changed []string `json:"changed"` // the changed keys' names (their volume paths)
	Nodes   []string `json:"nodes"`
}

// configChanges folds the agents' volume updates (one per Deployment
// volume and node, counted in Change.Volume) into one line per object:
// the most files a node has, and every key changed on any node.
func configChanges(d *Desired, nodes []NodePlan) []ConfigChange {
	byObj := map[string]*ConfigChange{}
	for _, n := range nodes {
		for _, c := range n.Net {
			if c.Kind != rnet.KindVolume || c.Action != rnet.ActionUpdate || c.Volume == nil || len(c.Volume.Changed) == 0 {
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
			cc.Keys = max(cc.Keys, c.Volume.Files)
			for _, k := range c.Volume.Changed {
				if !slices.Contains(cc.Changed, k) {
					cc.Changed = append(cc.Changed, k)
				}
			}
			if !slices.Contains(cc.Nodes, n.Node) {
				cc.Nodes = append(cc.Nodes, n.Node)
			}
		}
	}
	var out []ConfigChange
	for _, k := range slices.Sorted(maps.Keys(byObj)) {
		cc := byObj[k]
		slices.Sort(cc.Changed)
		cc.Summary = resources.KeysChanged(cc.Keys, cc.Changed)
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
