package runtime

import (
	"context"
	"fmt"
	"net/netip"
	"path"
	"strconv"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/reconcile-dev/reconcile/resources"
)

// PodVolume is one of a pod's volumes as its host provides it; exactly
// one source is set. A new source is a field here and a case in
// volumeMount.
type PodVolume struct {
	Name string
	// EmptyDir is a Docker volume of the pod's own, shared by its
	// containers and removed with the pod; Medium Memory makes it a tmpfs
	// of at most its sizeLimit.
	EmptyDir *resources.EmptyDirVolumeSource
	// HostPath is a host path the node agent checked against the
	// Cluster's allow-list, symlinks resolved.
	HostPath string
	// FilesDir is the directory the node agent wrote a configMap, secret
	// or projected volume into (on tmpfs, updated in place).
	FilesDir string
	// Claim is a PersistentVolumeClaim whose volume (ClaimVolume) the
	// node holds; ReadOnly is the claim volume's readOnly.
	Claim    *ClaimRef
	ReadOnly bool
}

// VolumeLister is the part of the Docker client that manages a pod's
// emptyDir volumes; *client.Client satisfies it.
type VolumeLister interface {
	VolumeList(ctx context.Context, options volume.ListOptions) (volume.ListResponse, error)
	VolumeRemove(ctx context.Context, volumeID string, force bool) error
}

// emptyDirVolume names a pod's emptyDir volume in Docker.
func emptyDirVolume(pod, vol string) string { return "reconcile-" + pod + "-" + vol }

// volumeMounts are container c's volumeMounts as Docker mounts.
func volumeMounts(s PodSpec, c resources.Container) ([]mount.Mount, error) {
	var out []mount.Mount
	for _, m := range c.VolumeMounts {
		var v *PodVolume
		for i := range s.Volumes {
			if s.Volumes[i].Name == m.Name {
				v = &s.Volumes[i]
			}
		}
		if v == nil {
			return nil, fmt.Errorf("container %s mounts volume %q, which the pod does not have", c.Name, m.Name)
		}
		mt, err := volumeMount(s, v, m)
		if err != nil {
			return nil, fmt.Errorf("container %s volume %s: %w", c.Name, m.Name, err)
		}
		out = append(out, mt)
	}
	return out, nil
}

func volumeMount(s PodSpec, v *PodVolume, m resources.VolumeMount) (mount.Mount, error) {
	switch {
	case v.EmptyDir != nil:
		opts := &mount.VolumeOptions{Subpath: m.SubPath, Labels: map[string]string{
			LabelManagedBy: ManagedBy, LabelCluster: s.Cluster, LabelPod: s.Name}}
		if v.EmptyDir.Medium == resources.StorageMediumMemory {
			o := "mode=1777"
			if q := v.EmptyDir.SizeLimit; q != nil {
				o += ",size=" + strconv.FormatInt(q.Value(), 10)
			}
			opts.DriverConfig = &mount.Driver{Name: "local", Options: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": o}}
		}
		return mount.Mount{Type: mount.TypeVolume, Source: emptyDirVolume(s.Name, v.Name), Target: m.MountPath, ReadOnly: m.ReadOnly, VolumeOptions: opts}, nil
	case v.HostPath != "":
		return mount.Mount{Type: mount.TypeBind, Source: joinSub(v.HostPath, m.SubPath), Target: m.MountPath, ReadOnly: m.ReadOnly}, nil
	case v.Claim != nil:
		// No VolumeOptions: Docker must mount the volume the node holds,
		// never make one (Create checked that it exists and is ours).
		var opts *mount.VolumeOptions
		if m.SubPath != "" {
			opts = &mount.VolumeOptions{Subpath: m.SubPath}
		}
		return mount.Mount{Type: mount.TypeVolume, Source: ClaimVolume(s.Cluster, *v.Claim), Target: m.MountPath, ReadOnly: m.ReadOnly || v.ReadOnly, VolumeOptions: opts}, nil
	case v.FilesDir != "":
		// Always read-only, as Kubernetes mounts them: the files are the
		// ConfigMap's, rewritten on the next apply.
		return mount.Mount{Type: mount.TypeBind, Source: joinSub(v.FilesDir, m.SubPath), Target: m.MountPath, ReadOnly: true}, nil
	}
	return mount.Mount{}, fmt.Errorf("volume has no source")
}

// joinSub is dir/sub for a subPath the manifest checks made relative and
// free of "..".
func joinSub(dir, sub string) string {
	if sub == "" {
		return dir
	}
	return path.Join(dir, sub)
}

// containerEnv is container c's environment: the resolved entries (the
// pod IP filled in, $(VAR) expanded) or, when the spec carries none, the
// manifest's literal values; then the extra variables.
func containerEnv(s PodSpec, c resources.Container, ip netip.Addr) ([]string, map[string]string) {
	entries, ok := s.Env[c.Name]
	if !ok {
		for _, e := range c.Env {
			entries = append(entries, resources.EnvEntry{Name: e.Name, Value: e.Value})
		}
	}
	entries = append([]resources.EnvEntry(nil), entries...)
	for i := range entries {
		if entries[i].Field == "status.podIP" {
			entries[i].Value = ip.String()
		}
	}
	if ok {
		resources.ExpandEnv(entries)
	}
	vars := map[string]string{}
	var env []string
	for _, e := range entries {
		env = append(env, e.Name+"="+e.Value)
		vars[e.Name] = e.Value
	}
	return append(env, s.ExtraEnv...), vars
}

// expandAll is Kubernetes' $(VAR) expansion of command and args.
func expandAll(l []string, vars map[string]string) []string {
	if len(l) == 0 {
		return l
	}
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = resources.Expand(s, vars)
	}
	return out
}

// removePodVolumes removes the emptyDir volumes of a pod once its
// containers are gone.
func (p *Pods) removePodVolumes(ctx context.Context, cluster, pod string) error {
	vl, ok := p.api.(VolumeLister)
	if !ok {
		return nil
	}
	resp, err := vl.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", LabelManagedBy+"="+ManagedBy),
		filters.Arg("label", LabelCluster+"="+cluster),
		filters.Arg("label", LabelPod+"="+pod))})
	if err != nil {
		return fmt.Errorf("%s: list volumes of pod %s: %w", p.node, pod, err)
	}
	for _, v := range resp.Volumes {
		if err := vl.VolumeRemove(ctx, v.Name, true); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("%s: remove volume %s of pod %s: %w", p.node, v.Name, pod, err)
		}
	}
	return nil
}
