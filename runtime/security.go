package runtime

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"

	"github.com/reconcile-dev/reconcile/resources"
)

// applySecurity maps a container's securityContext, over the pod's, to
// Docker's options: --user uid[:gid], --group-add, --read-only,
// --privileged, --security-opt no-new-privileges and seccomp=unconfined,
// --cap-add/--cap-drop. Capability names are Kubernetes' (no CAP_
// prefix); Docker takes them as they are.
func applySecurity(cfg *container.Config, host *container.HostConfig, pod *resources.PodSecurityContext, c *resources.SecurityContext) {
	id := resources.IdentityOf(pod, c)
	if id.RunAsUser != nil {
		cfg.User = strconv.FormatInt(*id.RunAsUser, 10)
		if id.RunAsGroup != nil {
			cfg.User += ":" + strconv.FormatInt(*id.RunAsGroup, 10)
		}
	}
	for _, g := range id.Groups {
		host.GroupAdd = append(host.GroupAdd, strconv.FormatInt(g, 10))
	}
	if resources.SeccompOf(pod, c) == "Unconfined" {
		host.SecurityOpt = append(host.SecurityOpt, "seccomp=unconfined")
	}
	if c == nil {
		return
	}
	host.ReadonlyRootfs = c.ReadOnlyRootFilesystem != nil && *c.ReadOnlyRootFilesystem
	host.Privileged = c.Privileged != nil && *c.Privileged
	if c.AllowPrivilegeEscalation != nil && !*c.AllowPrivilegeEscalation {
		host.SecurityOpt = append(host.SecurityOpt, "no-new-privileges:true")
	}
	if caps := c.Capabilities; caps != nil {
		host.CapAdd = append(host.CapAdd, caps.Add...)
		host.CapDrop = append(host.CapDrop, caps.Drop...)
	}
}

// podSysctls are the pod's sysctls, set on the container that owns the
// pod's network namespace (the only one Docker lets set net.*).
func podSysctls(pod *resources.PodSecurityContext) map[string]string {
	if pod == nil || len(pod.Sysctls) == 0 {
		return nil
	}
	m := make(map[string]string, len(pod.Sysctls))
	for _, s := range pod.Sysctls {
		m[s.Name] = s.Value
	}
	return m
}

// checkNonRoot is the kubelet's runAsNonRoot check for a container that
// does not say which user it runs as: the image's USER must be a non-zero
// numeric user. Called after the image is on the host.
func (p *Pods) checkNonRoot(ctx context.Context, s PodSpec, c resources.Container) error {
	id := resources.IdentityOf(s.Security, c.SecurityContext)
	if !id.RunAsNonRoot || id.RunAsUser != nil {
		return nil
	}
	img, err := p.api.ImageInspect(ctx, c.Image)
	if err != nil {
		return fmt.Errorf("%s: inspect image %s: %w", p.node, c.Image, err)
	}
	user := ""
	if img.Config != nil {
		user, _, _ = strings.Cut(img.Config.User, ":")
	}
	var msg string
	switch uid, err := strconv.ParseInt(user, 10, 64); {
	case user == "" || user == "root" || err == nil && uid == 0:
		msg = "container has runAsNonRoot and image will run as root"
	case err != nil:
		msg = fmt.Sprintf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root", user)
	default:
		return nil
	}
	return &PodError{Node: p.node, Pod: s.Name, Reason: ReasonCreateContainerConfig,
		Err: fmt.Errorf("%s: create pod %s: container %s: %s (pod: %q, container: %s): set runAsUser to a non-zero UID", p.node, s.Name, c.Name, msg, s.Name, c.Name)}
}
