package reconcile

import (
	"path"
	"slices"
	"strings"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// The pod volumes a host needs: those of the Deployments that have pods
// on it, or are about to. The agent writes (and keeps up to date) their
// ConfigMap and Secret files, checks their hostPaths, and removes the
// files of a Deployment whose last pod on the host is gone.

// volumeID names a Deployment's volume on a host (net.Volume.ID).
func volumeID(d *resources.Deployment, vol string) string {
	return d.Namespace + "." + d.Name + "." + vol
}

// withVolumes adds to each node's config the volumes of the Deployments
// with a live pod there (skip: pods about to be deleted) or a create
// planned there.
func withVolumes(d *Desired, configs map[string]rnet.NodeConfig, obs *Observed, skip map[string]bool, creates []Action) {
	on := map[string]map[string]bool{} // node -> namespace/deployment
	mark := func(node, k string) {
		if on[node] == nil {
			on[node] = map[string]bool{}
		}
		on[node][k] = true
	}
	if obs != nil {
		for node, pods := range obs.Pods {
			for _, p := range pods {
				if !skip[p.ID] && p.State != "exited" && p.State != "dead" {
					mark(node, key(p.Namespace, p.Deployment))
				}
			}
		}
	}
	for _, a := range creates {
		if a.Kind == ActionCreate {
			mark(a.Node, key(a.Namespace, a.Deployment))
		}
	}
	for node, cfg := range configs {
		cfg.HostPathAllowList = d.Cluster.Spec.HostPathAllowList
		for _, dep := range d.Deployments {
			if !on[node][key(dep.Namespace, dep.Name)] {
				continue
			}
			for i := range dep.Spec.Template.Spec.Volumes {
				v := &dep.Spec.Template.Spec.Volumes[i]
				switch {
				case v.IsFilesVolume():
					files, _ := d.VolumeFiles(dep.Namespace, v)
					nv := rnet.Volume{ID: volumeID(dep, v.Name)}
					for _, f := range files {
						nv.Files = append(nv.Files, rnet.VolumeFile{Path: f.Path, Content: f.Data, Mode: uint32(f.Mode)})
					}
					cfg.Volumes = append(cfg.Volumes, nv)
				case v.HostPath != nil:
					t := ""
					if v.HostPath.Type != nil {
						t = *v.HostPath.Type
					}
					cfg.HostPaths = append(cfg.HostPaths, rnet.HostPath{Path: path.Clean(v.HostPath.Path), Type: t})
				}
			}
		}
		configs[node] = cfg
	}
}

// podVolumes and podEnv are what a new pod of d on node gets.
func podVolumes(d *Desired, dep *resources.Deployment) []runtime.PodVolume {
	var out []runtime.PodVolume
	for i := range dep.Spec.Template.Spec.Volumes {
		v := &dep.Spec.Template.Spec.Volumes[i]
		pv := runtime.PodVolume{Name: v.Name}
		switch {
		case v.EmptyDir != nil:
			pv.EmptyDir = v.EmptyDir
		case v.HostPath != nil:
			pv.HostPath = path.Clean(v.HostPath.Path)
		case v.IsFilesVolume():
			pv.FilesDir = rnet.VolumeDir(d.Cluster.Name, volumeID(dep, v.Name))
		case v.PersistentVolumeClaim != nil:
			pv.Claim = &runtime.ClaimRef{Namespace: dep.Namespace, Name: v.PersistentVolumeClaim.ClaimName}
			pv.ReadOnly = v.PersistentVolumeClaim.ReadOnly
		}
		out = append(out, pv)
	}
	return out
}

func podEnv(d *Desired, dep *resources.Deployment, podName, node string) map[string][]resources.EnvEntry {
	pf := resources.PodFields{Name: podName, Namespace: dep.Namespace, NodeName: node,
		Labels: dep.Spec.Template.Labels, Annotations: dep.Spec.Template.Annotations}
	for _, n := range d.Cluster.Spec.Nodes {
		if n.Name == node {
			pf.HostIP = n.Address
		}
	}
	spec := &dep.Spec.Template.Spec
	out := map[string][]resources.EnvEntry{}
	for _, cs := range [][]resources.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			out[cs[i].Name] = d.ContainerEnv(dep.Namespace, &cs[i], pf)
		}
	}
	return out
}

// rollReason says why the pods of d are replaced when only the data they
// fix at start changed: "rolling: ConfigMap app-config changed (used by
// env)". Empty when the pod template itself changed (or the old pods
// predate the record).
func rollReason(d *resources.Deployment, old []runtime.Pod) string {
	spec := d.SpecHash()
	var changed []string
	seen := map[string]bool{}
	for _, p := range old {
		if p.SpecHash != spec {
			return ""
		}
		prev := resources.ParseConfigHashes(p.ConfigHashes)
		for _, c := range d.ConsumedData() {
			if prev[c.ID()] != c.Hash && !seen[c.ID()] {
				seen[c.ID()] = true
				changed = append(changed, c.Kind+" "+c.Name+" changed (used by "+strings.Join(c.Uses, ", ")+")")
			}
		}
	}
	if len(changed) == 0 {
		return ""
	}
	return "rolling: " + strings.Join(changed, "; ")
}

// checkImmutable refuses a change of an immutable ConfigMap or Secret
// that the pods on the hosts recorded (resources.CheckImmutable), before
// anything changes.
func checkImmutable(d *Desired, obs *Observed) error {
	rec := map[string]map[string][]string{}
	for _, pods := range obs.Pods {
		for _, p := range pods {
			for id, h := range resources.ParseImmutableRecord(p.Immutable) {
				if rec[p.Namespace] == nil {
					rec[p.Namespace] = map[string][]string{}
				}
				if !slices.Contains(rec[p.Namespace][id], h) {
					rec[p.Namespace][id] = append(rec[p.Namespace][id], h)
				}
			}
		}
	}
	return d.CheckImmutable(rec)
}
