package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/reconcile-dev/reconcile/resources"
)

// fakeVolumes is dockerd's volume store, enough for claims: label filters,
// and containers that mount volumes by name.
type fakeVolumes struct {
	DockerAPI
	vols    map[string]volume.Volume
	users   map[string][]string // volume -> container names
	removed []string
}

func (f *fakeVolumes) VolumeList(_ context.Context, o volume.ListOptions) (volume.ListResponse, error) {
	var out volume.ListResponse
next:
	for _, v := range f.vols {
		for _, l := range o.Filters.Get("label") {
			k, want, hasValue := strings.Cut(l, "=")
			if got, ok := v.Labels[k]; !ok || hasValue && got != want {
				continue next
			}
		}
		out.Volumes = append(out.Volumes, &v)
	}
	return out, nil
}

func (f *fakeVolumes) VolumeInspect(_ context.Context, name string) (volume.Volume, error) {
	v, ok := f.vols[name]
	if !ok {
		return v, notFound("volume " + name)
	}
	return v, nil
}

func (f *fakeVolumes) VolumeCreate(_ context.Context, o volume.CreateOptions) (volume.Volume, error) {
	v := volume.Volume{Name: o.Name, Labels: o.Labels, Driver: o.Driver}
	f.vols[o.Name] = v
	return v, nil
}

func (f *fakeVolumes) VolumeRemove(_ context.Context, name string, _ bool) error {
	delete(f.vols, name)
	f.removed = append(f.removed, name)
	return nil
}

func (f *fakeVolumes) ContainerList(_ context.Context, o container.ListOptions) ([]container.Summary, error) {
	var out []container.Summary
	for _, v := range o.Filters.Get("volume") {
		for _, n := range f.users[v] {
			out = append(out, container.Summary{Names: []string{"/" + n}})
		}
	}
	return out, nil
}

func TestClaims(t *testing.T) {
	ctx := context.Background()
	data := ClaimRef{Namespace: "default", Name: "data"}
	name := ClaimVolume("lab", data)
	if name != "reconcile-lab-pvc-default.data" {
		t.Fatalf("ClaimVolume = %q", name)
	}
	f := &fakeVolumes{vols: map[string]volume.Volume{
		// Someone else's volume named like a claim: never touched.
		ClaimVolume("lab", ClaimRef{"default", "theirs"}): {Name: ClaimVolume("lab", ClaimRef{"default", "theirs"})},
		// Labelled for a claim its name is not: not a claim volume.
		"renamed": {Name: "renamed", Labels: claimLabels("lab", ClaimRef{"default", "x"})},
		// Another cluster's claim.
		ClaimVolume("other", data): {Name: ClaimVolume("other", data), Labels: claimLabels("other", data)},
	}, users: map[string][]string{}}
	p := NewPods("node-1", f)

	if created, err := p.EnsureClaim(ctx, "lab", data, "", true); err != nil || !created || len(f.vols) != 3 {
		t.Fatalf("dry-run EnsureClaim = %v, %v (volumes %d), want true and nothing made", created, err, len(f.vols))
	}
	if created, err := p.EnsureClaim(ctx, "lab", data, "git:repo", false); err != nil || !created {
		t.Fatalf("EnsureClaim = %v, %v, want created", created, err)
	}
	if created, err := p.EnsureClaim(ctx, "lab", data, "git:repo", false); err != nil || created {
		t.Fatalf("second EnsureClaim = %v, %v, want kept", created, err)
	}
	if _, err := p.EnsureClaim(ctx, "lab", ClaimRef{"default", "theirs"}, "", false); !errors.Is(err, ErrNotClaimVolume) {
		t.Errorf("EnsureClaim over a foreign volume: %v, want ErrNotClaimVolume", err)
	}

	for _, bad := range []ClaimRef{{"", "x"}, {"a.b", "x"}, {"default", "../x"}, {"default", "X"}, {"default", ""}} {
		if _, err := p.EnsureClaim(ctx, "lab", bad, "", false); err == nil {
			t.Errorf("EnsureClaim(%v) made a volume", bad)
		}
		if _, err := p.RemoveClaim(ctx, "lab", bad, false); err == nil {
			t.Errorf("RemoveClaim(%v) was accepted", bad)
		}
	}

	got, err := p.ListClaims(ctx, "lab")
	if err != nil || len(got) != 1 || got[0].ClaimRef != data || got[0].Volume != name || got[0].Node != "node-1" || got[0].Source != "git:repo" {
		t.Fatalf("ListClaims = %+v, %v, want only default/data on node-1", got, err)
	}

	f.users[name] = []string{"web-abc-x"}
	if _, err := p.RemoveClaim(ctx, "lab", data, false); !errors.Is(err, ErrClaimInUse) || !strings.Contains(err.Error(), "web-abc-x") {
		t.Errorf("RemoveClaim of a mounted volume: %v, want in use by web-abc-x", err)
	}
	if _, err := p.RemoveClaim(ctx, "lab", ClaimRef{"default", "theirs"}, false); !errors.Is(err, ErrNotClaimVolume) {
		t.Errorf("RemoveClaim of a foreign volume: %v, want ErrNotClaimVolume", err)
	}
	delete(f.users, name)
	if removed, err := p.RemoveClaim(ctx, "lab", data, true); err != nil || !removed || f.vols[name].Name == "" {
		t.Errorf("dry-run RemoveClaim = %v, %v; the volume must stay", removed, err)
	}
	if removed, err := p.RemoveClaim(ctx, "lab", data, false); err != nil || !removed {
		t.Errorf("RemoveClaim = %v, %v", removed, err)
	}
	if removed, err := p.RemoveClaim(ctx, "lab", data, false); err != nil || removed {
		t.Errorf("RemoveClaim of a gone volume = %v, %v, want false, nil", removed, err)
	}
	if !reflect.DeepEqual(f.removed, []string{name}) {
		t.Errorf("removed %q, want only %s", f.removed, name)
	}
}

func TestCheckClaimVolumes(t *testing.T) {
	ctx := context.Background()
	data := ClaimRef{Namespace: "default", Name: "data"}
	f := &fakeVolumes{vols: map[string]volume.Volume{}}
	p := NewPods("node-1", f)
	s := PodSpec{Cluster: "lab", Name: "web-1", Volumes: []PodVolume{{Name: "v", Claim: &data}}}
	var pe *PodError
	if err := p.checkClaimVolumes(ctx, s); !errors.As(err, &pe) || !strings.Contains(err.Error(), "has no volume") {
		t.Errorf("missing volume: %v, want a PodError (Docker must not make an unlabelled one)", err)
	}
	f.vols[ClaimVolume("lab", data)] = volume.Volume{Name: ClaimVolume("lab", data)}
	if err := p.checkClaimVolumes(ctx, s); !errors.Is(err, ErrNotClaimVolume) {
		t.Errorf("foreign volume: %v, want ErrNotClaimVolume", err)
	}
	f.vols[ClaimVolume("lab", data)] = volume.Volume{Name: ClaimVolume("lab", data), Labels: claimLabels("lab", data)}
	if err := p.checkClaimVolumes(ctx, s); err != nil {
		t.Errorf("our volume: %v", err)
	}
}

func TestClaimMount(t *testing.T) {
	data := ClaimRef{Namespace: "default", Name: "data"}
	for _, tc := range []struct {
		name          string
		volRO, mntRO  bool
		sub           string
		wantRO        bool
		wantSubpathed bool
	}{
		{"rw", false, false, "", false, false},
		{"mount readOnly", false, true, "", true, false},
		{"claim readOnly", true, false, "", true, false},
		{"subPath", false, false, "logs", false, true},
	} {
		s := PodSpec{Cluster: "lab", Volumes: []PodVolume{{Name: "v", Claim: &data, ReadOnly: tc.volRO}}}
		c := resources.Container{Name: "app", VolumeMounts: []resources.VolumeMount{{Name: "v", MountPath: "/data", ReadOnly: tc.mntRO, SubPath: tc.sub}}}
		ms, err := volumeMounts(s, c)
		if err != nil || len(ms) != 1 {
			t.Fatalf("%s: %v, %v", tc.name, ms, err)
		}
		m := ms[0]
		if m.Type != mount.TypeVolume || m.Source != "reconcile-lab-pvc-default.data" || m.ReadOnly != tc.wantRO {
			t.Errorf("%s: mount %+v", tc.name, m)
		}
		// Labels in VolumeOptions would let Docker make the volume.
		if m.VolumeOptions != nil && (m.VolumeOptions.Labels != nil || m.VolumeOptions.DriverConfig != nil) {
			t.Errorf("%s: volume options %+v must not create", tc.name, m.VolumeOptions)
		}
		if got := m.VolumeOptions != nil && m.VolumeOptions.Subpath == tc.sub; got != tc.wantSubpathed {
			t.Errorf("%s: subpath %+v", tc.name, m.VolumeOptions)
		}
	}
}

func TestClaimUsage(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "big"), make([]byte, 1<<20), 0o644)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "a"), make([]byte, 100), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "b"), make([]byte, 23), 0o644)
	// A symlink out of the volume is not followed.
	os.Symlink(outside, filepath.Join(dir, "out"))
	os.Symlink(filepath.Join(outside, "big"), filepath.Join(dir, "big"))
	cs := []Claim{{mountpoint: dir}, {}}
	ClaimUsage(context.Background(), cs)
	if cs[0].Used == nil || *cs[0].Used != 123 || cs[0].UsedPartial {
		t.Errorf("usage = %v (partial %v), want 123 bytes", cs[0].Used, cs[0].UsedPartial)
	}
	if cs[1].Used != nil {
		t.Errorf("a claim without a mountpoint is not measured, got %d", *cs[1].Used)
	}
}
