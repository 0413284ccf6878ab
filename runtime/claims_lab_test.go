package runtime

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/reconcile-dev/reconcile/integration/labtest"
)

// Claim volumes on a real dockerd: made with their labels, a foreign
// volume of the same name refused and left alone, removal refused while a
// container (even a stopped one) mounts the volume.
func TestClaimsOnLab(t *testing.T) {
	if testing.Short() {
		t.Skip("lab test")
	}
	const node, cluster = "node-2", "pvc3-claimtest" // not the e2e cluster: its volumes are not ours to touch
	h := labNode(t, labtest.Up(t, 3), node)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	api := h.Docker()
	p := NewPods(node, api)
	data, theirs := ClaimRef{Namespace: "default", Name: "data"}, ClaimRef{Namespace: "default", Name: "theirs"}
	// Only what this test made goes.
	t.Cleanup(func() {
		ctx := context.Background()
		api.ContainerRemove(ctx, "pvc3-claimtest-user", container.RemoveOptions{Force: true})
		for _, r := range []ClaimRef{data, theirs} {
			if err := api.VolumeRemove(ctx, ClaimVolume(cluster, r), false); err != nil && !cerrdefs.IsNotFound(err) {
				t.Errorf("cleanup: %v", err)
			}
		}
	})

	if created, err := p.EnsureClaim(ctx, cluster, data, "git:test", false); err != nil || !created {
		t.Fatalf("EnsureClaim = %v, %v", created, err)
	}
	v, err := api.VolumeInspect(ctx, ClaimVolume(cluster, data))
	if err != nil || v.Labels[LabelClaim] != "default/data" || v.Labels[LabelCluster] != cluster || v.Labels[LabelSource] != "git:test" {
		t.Fatalf("volume %+v, %v", v, err)
	}
	if created, err := p.EnsureClaim(ctx, cluster, data, "git:test", false); err != nil || created {
		t.Errorf("second EnsureClaim = %v, %v, want kept", created, err)
	}
	cs, err := p.ListClaims(ctx, cluster)
	if err != nil || len(cs) != 1 || cs[0].ClaimRef != data || cs[0].Created.IsZero() || cs[0].mountpoint == "" {
		t.Fatalf("ListClaims = %+v, %v", cs, err)
	}

	// Someone else's volume with a claim's name.
	if _, err := api.VolumeCreate(ctx, volume.CreateOptions{Name: ClaimVolume(cluster, theirs)}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.EnsureClaim(ctx, cluster, theirs, "", false); !errors.Is(err, ErrNotClaimVolume) {
		t.Errorf("EnsureClaim over a foreign volume: %v", err)
	}
	if _, err := p.RemoveClaim(ctx, cluster, theirs, false); !errors.Is(err, ErrNotClaimVolume) {
		t.Errorf("RemoveClaim of a foreign volume: %v", err)
	}
	if _, err := api.VolumeInspect(ctx, ClaimVolume(cluster, theirs)); err != nil {
		t.Errorf("the foreign volume is gone: %v", err)
	}
	if cs, _ := p.ListClaims(ctx, cluster); len(cs) != 1 {
		t.Errorf("ListClaims lists the foreign volume: %+v", cs)
	}

	// A created, never started container holds the volume.
	_, err = api.ContainerCreate(ctx, &container.Config{Image: "nginx:1.0", Cmd: []string{"/podserver", "serve"}},
		&container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: ClaimVolume(cluster, data), Target: "/data"}}}, nil, nil, "pvc3-claimtest-user")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.RemoveClaim(ctx, cluster, data, false); !errors.Is(err, ErrClaimInUse) || !strings.Contains(err.Error(), "pvc3-claimtest-user") {
		t.Errorf("RemoveClaim of a mounted volume: %v, want in use by pvc3-claimtest-user", err)
	}
	if err := api.ContainerRemove(ctx, "pvc3-claimtest-user", container.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if removed, err := p.RemoveClaim(ctx, cluster, data, false); err != nil || !removed {
		t.Fatalf("RemoveClaim = %v, %v", removed, err)
	}
	if _, err := api.VolumeInspect(ctx, ClaimVolume(cluster, data)); !cerrdefs.IsNotFound(err) {
		t.Errorf("volume still there: %v", err)
	}
}
