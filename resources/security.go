package resources

import "strings"

// PodSecurityContext is the pod-level securityContext: the fields Docker
// can do for every container of the pod. The container's own
// securityContext wins where both set a field, as in Kubernetes.
type PodSecurityContext struct {
	RunAsUser          *int64          `json:"runAsUser,omitempty"`
	RunAsGroup         *int64          `json:"runAsGroup,omitempty"`
	RunAsNonRoot       *bool           `json:"runAsNonRoot,omitempty"`
	FSGroup            *int64          `json:"fsGroup,omitempty"`            // a supplementary group of every container (there are no volumes to chown)
	SupplementalGroups []int64         `json:"supplementalGroups,omitempty"` // Docker's --group-add
	Sysctls            []Sysctl        `json:"sysctls,omitempty"`            // namespaced net.* only, set in the pod's network namespace
	SeccompProfile     *SeccompProfile `json:"seccompProfile,omitempty"`
}

// SecurityContext is a container's securityContext, mapped to Docker's
// user, read-only rootfs, privileged, no-new-privileges and capability
// options.
type SecurityContext struct {
	RunAsUser                *int64          `json:"runAsUser,omitempty"`
	RunAsGroup               *int64          `json:"runAsGroup,omitempty"`
	RunAsNonRoot             *bool           `json:"runAsNonRoot,omitempty"`
	ReadOnlyRootFilesystem   *bool           `json:"readOnlyRootFilesystem,omitempty"`
	Privileged               *bool           `json:"privileged,omitempty"`
	AllowPrivilegeEscalation *bool           `json:"allowPrivilegeEscalation,omitempty"` // false: no-new-privileges
	Capabilities             *Capabilities   `json:"capabilities,omitempty"`
	SeccompProfile           *SeccompProfile `json:"seccompProfile,omitempty"`
}

type Capabilities struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop,omitempty"`
}

type Sysctl struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// SeccompProfile: RuntimeDefault is Docker's default profile, Unconfined
// turns it off; Localhost profiles live on the node and are not supported.
type SeccompProfile struct {
	Type string `json:"type"`
}

// Identity is the user and groups one container runs as, the container's
// securityContext over the pod's; nil fields keep the image's.
type Identity struct {
	RunAsUser, RunAsGroup *int64
	RunAsNonRoot          bool
	Groups                []int64 // supplementary: fsGroup, then supplementalGroups
}

// IdentityOf merges the pod's and the container's securityContext (either
// may be nil) the way the kubelet does.
func IdentityOf(pod *PodSecurityContext, c *SecurityContext) Identity {
	var id Identity
	if pod != nil {
		id.RunAsUser, id.RunAsGroup = pod.RunAsUser, pod.RunAsGroup
		id.RunAsNonRoot = pod.RunAsNonRoot != nil && *pod.RunAsNonRoot
		if pod.FSGroup != nil {
			id.Groups = append(id.Groups, *pod.FSGroup)
		}
		id.Groups = append(id.Groups, pod.SupplementalGroups...)
	}
	if c != nil {
		if c.RunAsUser != nil {
			id.RunAsUser = c.RunAsUser
		}
		if c.RunAsGroup != nil {
			id.RunAsGroup = c.RunAsGroup
		}
		if c.RunAsNonRoot != nil {
			id.RunAsNonRoot = *c.RunAsNonRoot
		}
	}
	return id
}

// SeccompOf is the container's seccomp profile type over the pod's; "" is
// Docker's default (RuntimeDefault).
func SeccompOf(pod *PodSecurityContext, c *SecurityContext) string {
	if c != nil && c.SeccompProfile != nil {
		return c.SeccompProfile.Type
	}
	if pod != nil && pod.SeccompProfile != nil {
		return pod.SeccompProfile.Type
	}
	return ""
}

// maxID is the largest user or group ID Linux has (2^32-2; -1 is "none").
const maxID = 1<<32 - 2

func validateID(o obj, path string, v *int64) {
	if v != nil && (*v < 0 || *v > maxID) {
		o.errorf(path, "must be between 0 and %d, not %d", int64(maxID), *v)
	}
}

func validateSeccomp(o obj, path string, p *SeccompProfile) {
	if p == nil {
		return
	}
	switch p.Type {
	case "RuntimeDefault", "Unconfined":
	case "Localhost":
		o.errorf(fieldPath(path, "type"), "Localhost is not supported by reconcile: a profile file on each host is not managed; use RuntimeDefault (Docker's default profile)")
	default:
		o.errorf(fieldPath(path, "type"), "unsupported value %q: supported values: \"RuntimeDefault\", \"Unconfined\"", p.Type)
	}
}

func validatePodSecurity(o obj, path string, s *PodSecurityContext) {
	if s == nil {
		return
	}
	path = fieldPath(path, "securityContext")
	validateID(o, fieldPath(path, "runAsUser"), s.RunAsUser)
	validateID(o, fieldPath(path, "runAsGroup"), s.RunAsGroup)
	validateID(o, fieldPath(path, "fsGroup"), s.FSGroup)
	for i := range s.SupplementalGroups {
		validateID(o, indexPath(fieldPath(path, "supplementalGroups"), i), &s.SupplementalGroups[i])
	}
	if s.RunAsNonRoot != nil && *s.RunAsNonRoot && s.RunAsUser != nil && *s.RunAsUser == 0 {
		o.errorf(fieldPath(path, "runAsUser"), "0 (root) contradicts runAsNonRoot: true")
	}
	validateSeccomp(o, fieldPath(path, "seccompProfile"), s.SeccompProfile)
	seen := map[string]bool{}
	for i, sc := range s.Sysctls {
		np := fieldPath(indexPath(fieldPath(path, "sysctls"), i), "name")
		switch {
		case seen[sc.Name]:
			o.errorf(np, "duplicate sysctl %q", sc.Name)
		case !validSysctlName(sc.Name):
			o.errorf(np, "invalid sysctl name %q: must be dot- or slash-separated lowercase words like net.ipv4.ip_unprivileged_port_start", sc.Name)
		case !strings.HasPrefix(strings.ReplaceAll(sc.Name, "/", "."), "net."):
			o.errorf(np, "sysctl %q is not supported by reconcile: only net.* sysctls, which belong to the pod's own network namespace, can be set per pod", sc.Name)
		}
		seen[sc.Name] = true
		if strings.ContainsAny(sc.Value, "\n\x00") || len(sc.Value) > 256 {
			o.errorf(fieldPath(indexPath(fieldPath(path, "sysctls"), i), "value"), "must be one line of at most 256 bytes")
		}
	}
}

func validSysctlName(n string) bool {
	if n == "" || len(n) > 253 {
		return false
	}
	for _, part := range strings.FieldsFunc(n, func(r rune) bool { return r == '.' || r == '/' }) {
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
				return false
			}
		}
	}
	return !strings.Contains(n, "..") && !strings.HasPrefix(n, ".") && !strings.HasSuffix(n, ".")
}

func validateContainerSecurity(o obj, path string, s *SecurityContext, pod *PodSecurityContext) {
	if s == nil {
		return
	}
	path = fieldPath(path, "securityContext")
	validateID(o, fieldPath(path, "runAsUser"), s.RunAsUser)
	validateID(o, fieldPath(path, "runAsGroup"), s.RunAsGroup)
	validateSeccomp(o, fieldPath(path, "seccompProfile"), s.SeccompProfile)
	if id := IdentityOf(pod, s); id.RunAsNonRoot && id.RunAsUser != nil && *id.RunAsUser == 0 {
		o.errorf(fieldPath(path, "runAsUser"), "0 (root) contradicts runAsNonRoot: true")
	}
	if s.Privileged != nil && *s.Privileged && s.AllowPrivilegeEscalation != nil && !*s.AllowPrivilegeEscalation {
		o.errorf(fieldPath(path, "allowPrivilegeEscalation"), "may not be false when privileged is true")
	}
	if c := s.Capabilities; c != nil {
		for _, l := range []struct {
			name string
			caps []string
		}{{"add", c.Add}, {"drop", c.Drop}} {
			for i, name := range l.caps {
				if !validCapability(name) {
					o.errorf(indexPath(fieldPath(path, "capabilities."+l.name), i), "invalid capability %q: use a Linux capability name like NET_BIND_SERVICE, or ALL", name)
				}
			}
		}
	}
}

func validCapability(name string) bool {
	n := strings.TrimPrefix(strings.ToUpper(name), "CAP_")
	if n == "" || len(n) > 64 {
		return false
	}
	for _, r := range n {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// validateIdentityGroup rejects what Docker cannot express: a group
// without a user (Docker's --user takes uid[:gid]).
func validateIdentityGroup(o obj, path string, pod *PodSecurityContext, c *SecurityContext) {
	if id := IdentityOf(pod, c); id.RunAsGroup != nil && id.RunAsUser == nil {
		o.errorf(fieldPath(path, "securityContext.runAsGroup"), "not supported by reconcile without runAsUser: Docker sets a container's user and group together; give runAsUser too")
	}
}
