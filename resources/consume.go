package resources

import (
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
)

// How pods take ConfigMaps and Secrets: the references are checked at
// load (checkConfigRefs), resolved for each pod created (ContainerEnv,
// VolumeFiles), and what a running pod cannot pick up by itself (env,
// envFrom, subPath) is hashed into the pod template's hash, so a change
// of that data rolls the Deployment, as stakater/Reloader does on
// Kubernetes.

// Kinds a pod may take data from.
const (
	KindConfigMap = "ConfigMap"
	KindSecret    = "Secret"
)

// Consumed is one ConfigMap or Secret whose data a Deployment's pods
// fix at start: Uses say how ("env", "envFrom", "subPath"), Hash is a
// digest of exactly the keys they take.
type Consumed struct {
	Kind, Name string
	Uses       []string
	Hash       string
}

// ID is "Kind/name", as plans name the object.
func (c Consumed) ID() string { return c.Kind + "/" + c.Name }

// ConsumedData are the objects whose data is part of the pod template's
// hash, sorted by ID; nil when the pods take none at start.
func (d *Deployment) ConsumedData() []Consumed { return d.consumed }

// ConfigHashes is ConsumedData as "Kind/name=hash" pairs joined by ",",
// the form a pod records so a later plan can say which one changed.
func (d *Deployment) ConfigHashes() string {
	parts := make([]string, len(d.consumed))
	for i, c := range d.consumed {
		parts[i] = c.ID() + "=" + c.Hash
	}
	return strings.Join(parts, ",")
}

// ParseConfigHashes reads ConfigHashes' form back.
func ParseConfigHashes(s string) map[string]string {
	out := map[string]string{}
	for _, p := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(p, "="); ok {
			out[k] = v
		}
	}
	return out
}

// ConfigMapNamed and SecretNamed find a declared object; nil when none.
func (s *Set) ConfigMapNamed(ns, name string) *ConfigMap {
	for _, c := range s.ConfigMaps {
		if c.Namespace == ns && c.Name == name {
			return c
		}
	}
	return nil
}

func (s *Set) SecretNamed(ns, name string) *Secret {
	for _, c := range s.Secrets {
		if c.Namespace == ns && c.Name == name {
			return c
		}
	}
	return nil
}

// configData is the data of a ConfigMap or Secret, and whether it is
// declared.
func (s *Set) configData(ns, kind, name string) (map[string][]byte, bool) {
	if kind == KindSecret {
		if sec := s.SecretNamed(ns, name); sec != nil {
			return sec.Data, true
		}
		return nil, false
	}
	if cm := s.ConfigMapNamed(ns, name); cm != nil {
		return cm.Values(), true
	}
	return nil, false
}

// consumption collects, per object, the keys a Deployment fixes at pod
// start (all: every key).
type consumption struct {
	kind, name string
	keys       map[string]bool
	all        bool
	uses       map[string]bool
}

// checkConfigRefs reports references to ConfigMaps, Secrets and keys
// that are not declared (and not optional), envFrom keys that are no
// variable names, and hostPaths outside the Cluster's allow-list; it
// records what each Deployment consumes at pod start.
func checkConfigRefs(r *reporter, s *Set) {
	for _, d := range s.Deployments {
		o := r.object(d.Source, d.kind(), d.Name)
		spec := &d.Spec.Template.Spec
		pp := "spec.template.spec"
		cons := map[string]*consumption{}
		use := func(kind, name, key, how string) {
			k := kind + "/" + name
			c := cons[k]
			if c == nil {
				c = &consumption{kind: kind, name: name, keys: map[string]bool{}, uses: map[string]bool{}}
				cons[k] = c
			}
			if key == "" {
				c.all = true
			} else {
				c.keys[key] = true
			}
			c.uses[how] = true
		}
		ref := func(field, kind, name, key string, optional bool) {
			data, ok := s.configData(d.Namespace, kind, name)
			switch {
			case !ok && !optional:
				o.errorf(field, "%s %q not found in namespace %q: declare it, or set optional: true", kind, name, d.Namespace)
			case ok && key != "" && !optional:
				if _, has := data[key]; !has {
					o.errorf(field, "%s %s/%s has no key %q (it has %s): add it, or set optional: true", kind, d.Namespace, name, key, keyList(data))
				}
			}
		}
		vols := map[string]*Volume{}
		for i := range spec.Volumes {
			v := &spec.Volumes[i]
			vols[v.Name] = v
			vp := indexPath(fieldPath(pp, "volumes"), i)
			for _, src := range volumeSources(v) {
				ref(fieldPath(vp, src.field), src.kind, src.name, "", src.optional)
				for j, it := range src.items {
					if _, declared := s.configData(d.Namespace, src.kind, src.name); !declared || configKey(it.Key) != "" {
						continue // reported once for the object, or as invalid
					}
					ref(fieldPath(indexPath(fieldPath(vp, src.itemsField), j), "key"), src.kind, src.name, it.Key, src.optional)
				}
			}
			if h := v.HostPath; h != nil && s.Cluster != nil && hostPathProblem(h.Path) == "" && !HostPathAllowed(s.Cluster.Spec.HostPathAllowList, h.Path) {
				if len(s.Cluster.Spec.HostPathAllowList) == 0 {
					o.errorf(fieldPath(vp, "hostPath.path"), "%s is not allowed: the Cluster %q allows no hostPath volumes (add the directory to its spec.hostPathAllowList)", quote(h.Path), s.Cluster.Name)
				} else {
					o.errorf(fieldPath(vp, "hostPath.path"), "%s is outside the Cluster's spec.hostPathAllowList (%s)", quote(h.Path), strings.Join(s.Cluster.Spec.HostPathAllowList, ", "))
				}
			}
		}
		containers := append(append([]Container(nil), spec.InitContainers...), spec.Containers...)
		for ci := range containers {
			c := &containers[ci]
			cp := indexPath(fieldPath(pp, "containers"), ci-len(spec.InitContainers))
			if ci < len(spec.InitContainers) {
				cp = indexPath(fieldPath(pp, "initContainers"), ci)
			}
			for j, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				ep := fieldPath(indexPath(fieldPath(cp, "env"), j), "valueFrom")
				for _, ks := range []struct {
					kind, field string
					sel         *KeySelector
				}{{KindConfigMap, "configMapKeyRef", e.ValueFrom.ConfigMapKeyRef}, {KindSecret, "secretKeyRef", e.ValueFrom.SecretKeyRef}} {
					if ks.sel != nil && ks.sel.Name != "" && ks.sel.Key != "" {
						ref(fieldPath(ep, ks.field), ks.kind, ks.sel.Name, ks.sel.Key, isTrue(ks.sel.Optional))
						use(ks.kind, ks.sel.Name, ks.sel.Key, "env")
					}
				}
			}
			for j, ef := range c.EnvFrom {
				ep := indexPath(fieldPath(cp, "envFrom"), j)
				kind, lr, field := KindConfigMap, ef.ConfigMapRef, "configMapRef"
				if ef.SecretRef != nil {
					kind, lr, field = KindSecret, ef.SecretRef, "secretRef"
				}
				if lr == nil || lr.Name == "" {
					continue
				}
				ref(fieldPath(ep, field), kind, lr.Name, "", isTrue(lr.Optional))
				use(kind, lr.Name, "", "envFrom")
				data, _ := s.configData(d.Namespace, kind, lr.Name)
				for _, k := range slices.Sorted(maps.Keys(data)) {
					if envVarName(ef.Prefix+k) != "" {
						o.warnf(fieldPath(ep, field), "key %q of %s %s is not a valid environment variable name: skipped, as Kubernetes does", ef.Prefix+k, kind, lr.Name)
					}
				}
			}
			for _, m := range c.VolumeMounts {
				v := vols[m.Name]
				if m.SubPath == "" || v == nil {
					continue
				}
				for _, src := range volumeSources(v) {
					use(src.kind, src.name, "", "subPath")
				}
			}
		}
		d.consumed = consumedHashes(s, d.Namespace, cons)
	}
}

// HostPathAllowed says whether p lies in (or is) an entry of allow, by
// path components: /srv/data allows /srv/data/x, not /srv/database.
func HostPathAllowed(allow []string, p string) bool {
	p = cleanAbs(p)
	for _, a := range allow {
		if hostPathProblem(a) != "" || path.Clean(a) == "/" {
			continue // reported on the Cluster; never allows anything
		}
		a = cleanAbs(a)
		if p == a || strings.HasPrefix(p, strings.TrimSuffix(a, "/")+"/") {
			return true
		}
	}
	return false
}

func cleanAbs(p string) string {
	if p == "" {
		return ""
	}
	return path.Clean(p)
}

func keyList(data map[string][]byte) string {
	if len(data) == 0 {
		return "no keys"
	}
	keys := slices.Sorted(maps.Keys(data))
	if len(keys) > 5 {
		keys = append(keys[:5], "...")
	}
	return strings.Join(keys, ", ")
}

// volumeSource is one ConfigMap or Secret a volume projects.
type volumeSource struct {
	kind, name        string
	field, itemsField string
	items             []KeyToPath
	optional          bool
}

func volumeSources(v *Volume) []volumeSource {
	switch {
	case v.ConfigMap != nil:
		return []volumeSource{{KindConfigMap, v.ConfigMap.Name, "configMap.name", "configMap.items", v.ConfigMap.Items, isTrue(v.ConfigMap.Optional)}}
	case v.Secret != nil:
		return []volumeSource{{KindSecret, v.Secret.SecretName, "secret.secretName", "secret.items", v.Secret.Items, isTrue(v.Secret.Optional)}}
	case v.Projected != nil:
		var out []volumeSource
		for i, src := range v.Projected.Sources {
			sp := indexPath("projected.sources", i)
			switch {
			case src.ConfigMap != nil:
				out = append(out, volumeSource{KindConfigMap, src.ConfigMap.Name, fieldPath(sp, "configMap.name"), fieldPath(sp, "configMap.items"), src.ConfigMap.Items, isTrue(src.ConfigMap.Optional)})
			case src.Secret != nil:
				out = append(out, volumeSource{KindSecret, src.Secret.Name, fieldPath(sp, "secret.name"), fieldPath(sp, "secret.items"), src.Secret.Items, isTrue(src.Secret.Optional)})
			}
		}
		return out
	}
	return nil
}

func consumedHashes(s *Set, ns string, cons map[string]*consumption) []Consumed {
	var out []Consumed
	for _, id := range slices.Sorted(maps.Keys(cons)) {
		c := cons[id]
		data, _ := s.configData(ns, c.kind, c.name)
		keys := slices.Sorted(maps.Keys(c.keys))
		if c.all {
			keys = slices.Sorted(maps.Keys(data))
		}
		uses := slices.Sorted(maps.Keys(c.uses))
		out = append(out, Consumed{Kind: c.kind, Name: c.name, Uses: uses, Hash: dataDigest(data, keys)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}
