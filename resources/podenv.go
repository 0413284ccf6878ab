package resources

import (
	"maps"
	"slices"
	"strings"
)

// EnvEntry is one resolved environment variable of a container.
type EnvEntry struct {
	Name  string
	Value string
	// Field is a downward API field only the runtime knows (status.podIP):
	// it fills Value when it creates the container.
	Field string
	// Secret: the value comes from a Secret, and is never printed.
	Secret bool
	// Expand: a literal value, in which $(VAR) refers to earlier ones.
	Expand bool
}

// PodFields are the downward API values known before the pod's
// container exists.
type PodFields struct {
	Name, Namespace, NodeName, HostIP string
	Labels, Annotations               map[string]string
}

// ContainerEnv resolves c's envFrom and env, in Kubernetes' order
// (envFrom first, env after and winning), against the Set's ConfigMaps
// and Secrets; an optional reference to a missing object or key is left
// out, and so are envFrom keys that are no variable names.
func (s *Set) ContainerEnv(ns string, c *Container, pf PodFields) []EnvEntry {
	var out []EnvEntry
	idx := map[string]int{}
	put := func(e EnvEntry) {
		if i, ok := idx[e.Name]; ok {
			out[i] = e
			return
		}
		idx[e.Name] = len(out)
		out = append(out, e)
	}
	for _, ef := range c.EnvFrom {
		kind, ref := KindConfigMap, ef.ConfigMapRef
		if ef.SecretRef != nil {
			kind, ref = KindSecret, ef.SecretRef
		}
		if ref == nil {
			continue
		}
		data, _ := s.configData(ns, kind, ref.Name)
		for _, k := range slices.Sorted(maps.Keys(data)) {
			if envVarName(ef.Prefix+k) == "" {
				put(EnvEntry{Name: ef.Prefix + k, Value: string(data[k]), Secret: kind == KindSecret})
			}
		}
	}
	for _, e := range c.Env {
		vf := e.ValueFrom
		switch {
		case vf == nil:
			put(EnvEntry{Name: e.Name, Value: e.Value, Expand: true})
		case vf.ConfigMapKeyRef != nil || vf.SecretKeyRef != nil:
			kind, sel := KindConfigMap, vf.ConfigMapKeyRef
			if vf.SecretKeyRef != nil {
				kind, sel = KindSecret, vf.SecretKeyRef
			}
			data, _ := s.configData(ns, kind, sel.Name)
			if v, ok := data[sel.Key]; ok {
				put(EnvEntry{Name: e.Name, Value: string(v), Secret: kind == KindSecret})
			}
		case vf.FieldRef != nil:
			put(fieldEnv(e.Name, vf.FieldRef.FieldPath, pf))
		}
	}
	return out
}

func fieldEnv(name, field string, pf PodFields) EnvEntry {
	e := EnvEntry{Name: name}
	switch field {
	case "metadata.name":
		e.Value = pf.Name
	case "metadata.namespace":
		e.Value = pf.Namespace
	case "spec.nodeName":
		e.Value = pf.NodeName
	case "status.hostIP":
		e.Value = pf.HostIP
	case "status.podIP":
		e.Field = field
	default:
		if m := fieldRefKeyRE.FindStringSubmatch(field); m != nil {
			if m[1] == "labels" {
				e.Value = pf.Labels[m[2]]
			} else {
				e.Value = pf.Annotations[m[2]]
			}
		}
	}
	return e
}

// ExpandEnv replaces $(VAR) in the literal values by the variables
// defined before them, as Kubernetes does; call it once the runtime
// fields are filled.
func ExpandEnv(env []EnvEntry) {
	seen := map[string]string{}
	for i := range env {
		if env[i].Expand {
			env[i].Value = Expand(env[i].Value, seen)
		}
		seen[env[i].Name] = env[i].Value
	}
}

// Expand is Kubernetes' $(VAR) expansion: a defined $(VAR) is replaced,
// an undefined one is kept as written, and $$ is a literal $.
func Expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteByte(s[i])
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// VolumeFile is one file of a configMap, secret or projected volume.
type VolumeFile struct {
	Path string
	Data []byte
	Mode int32
}

// VolumeFiles are the files of a configMap, secret or projected volume
// of a pod in namespace ns, and whether any comes from a Secret; nil for
// other sources. Items choose keys and paths; without items every key is
// a file named after it. A missing optional object or key gives no file.
func (s *Set) VolumeFiles(ns string, v *Volume) (files []VolumeFile, secret bool) {
	defMode := DefaultVolumeMode
	switch {
	case v.ConfigMap != nil && v.ConfigMap.DefaultMode != nil:
		defMode = *v.ConfigMap.DefaultMode
	case v.Secret != nil && v.Secret.DefaultMode != nil:
		defMode = *v.Secret.DefaultMode
	case v.Projected != nil && v.Projected.DefaultMode != nil:
		defMode = *v.Projected.DefaultMode
	}
	for _, src := range volumeSources(v) {
		data, _ := s.configData(ns, src.kind, src.name)
		secret = secret || src.kind == KindSecret
		if len(src.items) == 0 {
			for _, k := range slices.Sorted(maps.Keys(data)) {
				files = append(files, VolumeFile{Path: k, Data: data[k], Mode: defMode})
			}
			continue
		}
		for _, it := range src.items {
			d, ok := data[it.Key]
			if !ok {
				continue
			}
			mode := defMode
			if it.Mode != nil {
				mode = *it.Mode
			}
			files = append(files, VolumeFile{Path: it.Path, Data: d, Mode: mode})
		}
	}
	return files, secret
}

// IsFilesVolume says whether a volume's content is written by reconcile
// from ConfigMaps and Secrets.
func (v *Volume) IsFilesVolume() bool {
	return v.ConfigMap != nil || v.Secret != nil || v.Projected != nil
}
