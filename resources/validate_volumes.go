package resources

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// validateVolumes checks a pod's volumes and returns them by name, for
// the containers' mounts.
func validateVolumes(o obj, podPath string, vols []Volume) map[string]*Volume {
	byName := map[string]*Volume{}
	vp := fieldPath(podPath, "volumes")
	for i := range vols {
		v := &vols[i]
		ip := indexPath(vp, i)
		switch msg := dns1123Label(v.Name); {
		case v.Name == "":
			o.errorf(fieldPath(ip, "name"), "required")
		case msg != "":
			o.errorf(fieldPath(ip, "name"), "invalid volume name %s: %s", quote(v.Name), msg)
		case byName[v.Name] != nil:
			o.errorf(fieldPath(ip, "name"), "duplicate volume name %q: each volume needs its own name", v.Name)
		default:
			byName[v.Name] = v
		}
		validateVolumeSource(o, ip, &v.VolumeSource)
	}
	return byName
}

// validateVolumeSource checks that exactly one source is set, and it.
// A new source is one case here.
func validateVolumeSource(o obj, p string, s *VolumeSource) {
	n := 0
	if e := s.EmptyDir; e != nil {
		n++
		if e.Medium != "" && e.Medium != StorageMediumMemory {
			o.errorf(fieldPath(p, "emptyDir.medium"), "unsupported value %q: supported values: \"\" (the host's disk), \"Memory\"", e.Medium)
		}
		if q := e.SizeLimit; q != nil {
			if _, err := ParseQuantity(q.Raw); err != nil {
				o.errorf(fieldPath(p, "emptyDir.sizeLimit"), "%v", err)
			} else if q.Value() <= 0 {
				o.errorf(fieldPath(p, "emptyDir.sizeLimit"), "must be greater than 0, not %s", q.Raw)
			}
		}
	}
	if h := s.HostPath; h != nil {
		n++
		validateHostPath(o, fieldPath(p, "hostPath"), h)
	}
	if c := s.ConfigMap; c != nil {
		n++
		validateKeysVolume(o, fieldPath(p, "configMap"), "name", c.Name, c.DefaultMode, c.Items)
	}
	if c := s.Secret; c != nil {
		n++
		validateKeysVolume(o, fieldPath(p, "secret"), "secretName", c.SecretName, c.DefaultMode, c.Items)
	}
	if pr := s.Projected; pr != nil {
		n++
		pp := fieldPath(p, "projected")
		validateMode(o, fieldPath(pp, "defaultMode"), pr.DefaultMode)
		paths := map[string]bool{}
		for i, src := range pr.Sources {
			sp := indexPath(fieldPath(pp, "sources"), i)
			var field, name string
			var items []KeyToPath
			switch {
			case src.ConfigMap != nil && src.Secret != nil:
				o.errorf(sp, "may not specify more than one of configMap and secret")
				continue
			case src.ConfigMap != nil:
				field, name, items = "configMap", src.ConfigMap.Name, src.ConfigMap.Items
			case src.Secret != nil:
				field, name, items = "secret", src.Secret.Name, src.Secret.Items
			default:
				o.errorf(sp, "must specify configMap or secret")
				continue
			}
			validateRefName(o, fieldPath(sp, field+".name"), name)
			ip := fieldPath(sp, field+".items")
			validateItems(o, ip, items)
			for j, it := range items {
				if paths[it.Path] {
					o.errorf(fieldPath(indexPath(ip, j), "path"), "conflicting duplicate path %q in the projected volume", it.Path)
				}
				paths[it.Path] = true
			}
		}
	}
	if c := s.PersistentVolumeClaim; c != nil {
		n++
		validatePVCVolume(o, fieldPath(p, "persistentVolumeClaim"), c)
	}
	switch {
	case n == 0:
		o.errorf(p, "must specify a volume source: emptyDir, hostPath, configMap, secret, projected or persistentVolumeClaim")
	case n > 1:
		o.errorf(p, "may not specify more than one volume source")
	}
}

// validateKeysVolume checks a configMap or secret volume at p: the name of
// the object it mounts (in the field nameField, as each kind calls it),
// its mode and its items.
func validateKeysVolume(o obj, p, nameField, name string, mode *int32, items []KeyToPath) {
	validateRefName(o, fieldPath(p, nameField), name)
	validateMode(o, fieldPath(p, "defaultMode"), mode)
	validateItems(o, fieldPath(p, "items"), items)
}

var hostPathTypes = []string{HostPathUnset, HostPathDirectoryOrCreate, HostPathDirectory, HostPathFileOrCreate,
	HostPathFile, HostPathSocket, HostPathCharDev, HostPathBlockDev}

func validateHostPath(o obj, p string, h *HostPathVolumeSource) {
	if msg := hostPathProblem(h.Path); msg != "" {
		o.errorf(fieldPath(p, "path"), "%s", msg)
	}
	if h.Type != nil && !contains(hostPathTypes, *h.Type) {
		o.errorf(fieldPath(p, "type"), "unsupported value %s: supported values: %s", quote(*h.Type), quoteAll(hostPathTypes[1:]))
	}
}

// hostPathProblem checks a hostPath path lexically; the allow-list is
// checked against the Cluster (validate_refs.go), and the agent checks
// again on the host with symlinks resolved.
func hostPathProblem(p string) string {
	switch {
	case p == "":
		return "required"
	case !path.IsAbs(p):
		return fmt.Sprintf("%s must be an absolute path", quote(p))
	case hasDotDot(p):
		return fmt.Sprintf("%s must not contain '..'", quote(p))
	case strings.ContainsRune(p, 0):
		return "must not contain NUL"
	}
	return ""
}

func hasDotDot(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

func validateRefName(o obj, p, name string) {
	if name == "" {
		o.errorf(p, "required")
	} else if msg := dns1123Subdomain(name); msg != "" {
		o.errorf(p, "invalid name %s: %s", quote(name), msg)
	}
}

// validateMode checks a file mode: Kubernetes takes 0 to 0777 (octal in
// YAML, e.g. 0400, or decimal, e.g. 256).
func validateMode(o obj, p string, m *int32) {
	if m != nil && (*m < 0 || *m > 0o777) {
		o.errorf(p, "invalid mode %d (%#o): must be between 0 and 0777 (octal), e.g. 0644 or 0400", *m, *m)
	}
}

func validateItems(o obj, p string, items []KeyToPath) {
	for i, it := range items {
		ip := indexPath(p, i)
		if it.Key == "" {
			o.errorf(fieldPath(ip, "key"), "required")
		} else if msg := configKey(it.Key); msg != "" {
			o.errorf(fieldPath(ip, "key"), "invalid key %s: %s", quote(it.Key), msg)
		}
		if msg := relativeFilePath(it.Path); msg != "" {
			o.errorf(fieldPath(ip, "path"), "%s", msg)
		}
		validateMode(o, fieldPath(ip, "mode"), it.Mode)
	}
}

// relativeFilePath checks an item path or a subPath: relative, without
// '..', and not starting with '..' (the volume's own ..data entries).
func relativeFilePath(p string) string {
	switch {
	case p == "":
		return "required"
	case path.IsAbs(p):
		return fmt.Sprintf("%s must be a relative path", quote(p))
	case hasDotDot(p):
		return fmt.Sprintf("%s must not contain '..'", quote(p))
	case strings.HasPrefix(p, ".."):
		return fmt.Sprintf("%s must not start with '..'", quote(p))
	case strings.ContainsRune(p, 0):
		return "must not contain NUL"
	case path.Clean(p) != p:
		return fmt.Sprintf("%s is not clean (no \".\", \"//\" or trailing \"/\")", quote(p))
	}
	return ""
}

// validateMounts checks one container's volumeMounts against the pod's
// volumes.
func validateMounts(o obj, cpath string, c *Container, vols map[string]*Volume) {
	paths := map[string]string{}
	for i, m := range c.VolumeMounts {
		mp := indexPath(fieldPath(cpath, "volumeMounts"), i)
		switch {
		case m.Name == "":
			o.errorf(fieldPath(mp, "name"), "required")
		case vols[m.Name] == nil:
			o.errorf(fieldPath(mp, "name"), "no volume named %q in the pod's volumes: add it to spec.template.spec.volumes", m.Name)
		}
		switch {
		case m.MountPath == "":
			o.errorf(fieldPath(mp, "mountPath"), "required")
		case !path.IsAbs(m.MountPath):
			o.errorf(fieldPath(mp, "mountPath"), "%s must be an absolute path", quote(m.MountPath))
		case hasDotDot(m.MountPath):
			o.errorf(fieldPath(mp, "mountPath"), "%s must not contain '..'", quote(m.MountPath))
		default:
			clean := path.Clean(m.MountPath)
			if prev, dup := paths[clean]; dup {
				o.errorf(fieldPath(mp, "mountPath"), "%s is already mounted by %s: a path takes one mount", quote(m.MountPath), prev)
			}
			paths[clean] = mp
		}
		if m.SubPath != "" {
			if msg := relativeFilePath(m.SubPath); msg != "" {
				o.errorf(fieldPath(mp, "subPath"), "%s", msg)
			}
		}
	}
}

var envNameRE = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)

// envVarName is Kubernetes' check of an env var name (IsEnvVarName).
func envVarName(s string) string {
	if !envNameRE.MatchString(s) {
		return "must consist of letters, digits, '_', '-' or '.', and must not start with a digit"
	}
	return ""
}

// fieldRefPaths are the downward API fields env may take.
var fieldRefPaths = []string{"metadata.name", "metadata.namespace", "status.podIP", "status.hostIP", "spec.nodeName"}

var fieldRefKeyRE = regexp.MustCompile(`^metadata\.(labels|annotations)\['([^']*)'\]$`)

func validateEnv(o obj, cpath string, c *Container) {
	for j, e := range c.Env {
		ep := indexPath(fieldPath(cpath, "env"), j)
		if e.Name == "" {
			o.errorf(fieldPath(ep, "name"), "required")
		} else if strings.Contains(e.Name, "=") {
			o.errorf(fieldPath(ep, "name"), "invalid environment variable name %q: must not contain '='", e.Name)
		}
		vf := e.ValueFrom
		if vf == nil {
			continue
		}
		if e.Value != "" {
			o.errorf(fieldPath(ep, "valueFrom"), "may not be specified when value is not empty")
		}
		n := 0
		for _, ks := range []struct {
			field string
			sel   *KeySelector
		}{{"configMapKeyRef", vf.ConfigMapKeyRef}, {"secretKeyRef", vf.SecretKeyRef}} {
			if ks.sel == nil {
				continue
			}
			n++
			kp := fieldPath(fieldPath(ep, "valueFrom"), ks.field)
			validateRefName(o, fieldPath(kp, "name"), ks.sel.Name)
			if ks.sel.Key == "" {
				o.errorf(fieldPath(kp, "key"), "required")
			} else if msg := configKey(ks.sel.Key); msg != "" {
				o.errorf(fieldPath(kp, "key"), "invalid key %s: %s", quote(ks.sel.Key), msg)
			}
		}
		if f := vf.FieldRef; f != nil {
			n++
			fp := fieldPath(fieldPath(ep, "valueFrom"), "fieldRef")
			if f.APIVersion != "" && f.APIVersion != "v1" {
				o.errorf(fieldPath(fp, "apiVersion"), "unsupported value %s: only \"v1\"", quote(f.APIVersion))
			}
			if !contains(fieldRefPaths, f.FieldPath) && !fieldRefKeyRE.MatchString(f.FieldPath) {
				o.errorf(fieldPath(fp, "fieldPath"), "unsupported value %s: supported values: %s, \"metadata.labels['KEY']\", \"metadata.annotations['KEY']\"", quote(f.FieldPath), quoteAll(fieldRefPaths))
			}
		}
		switch {
		case n == 0:
			o.errorf(fieldPath(ep, "valueFrom"), "must specify one of configMapKeyRef, secretKeyRef or fieldRef")
		case n > 1:
			o.errorf(fieldPath(ep, "valueFrom"), "may not specify more than one of configMapKeyRef, secretKeyRef and fieldRef")
		}
	}
	for j, ef := range c.EnvFrom {
		ep := indexPath(fieldPath(cpath, "envFrom"), j)
		if ef.Prefix != "" {
			if msg := envVarName(ef.Prefix); msg != "" {
				o.errorf(fieldPath(ep, "prefix"), "invalid prefix %s: %s", quote(ef.Prefix), msg)
			}
		}
		switch {
		case ef.ConfigMapRef != nil && ef.SecretRef != nil:
			o.errorf(ep, "may not specify more than one of configMapRef and secretRef")
		case ef.ConfigMapRef != nil:
			validateRefName(o, fieldPath(ep, "configMapRef.name"), ef.ConfigMapRef.Name)
		case ef.SecretRef != nil:
			validateRefName(o, fieldPath(ep, "secretRef.name"), ef.SecretRef.Name)
		default:
			o.errorf(ep, "must specify configMapRef or secretRef")
		}
	}
}

func quoteAll(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
