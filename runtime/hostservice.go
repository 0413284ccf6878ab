package runtime

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
)

// A host service is a long-running container reconcile owns on every host
// (the cluster DNS server, the kubelet-like supervisor): the node agent's
// own binary in an image made on the host (no registry), running one
// `reconcile node <verb>` on the host network, kept up by Docker's restart
// policy across crashes, dockerd restarts and reboots without the CLI.
// Its request travels in an environment variable, since a container
// restarted by Docker has no stdin.
type HostService struct {
	What      string // for messages: "cluster DNS"
	Container string // its Docker name
	ImageRepo string // image is ImageRepo:<first 12 digits of the binary's hash>
	Role      string // LabelInfra value
	Cluster   string
	Binary    string // host path of the static reconcile binary to run
	BinarySum string // its SHA-256 in hex, or at least its first 12 digits; empty: computed
	Verb      string // the node verb it runs
	// Env carries the verb's request (NAME=JSON).
	Env     []string
	Mounts  []mount.Mount
	Restart container.RestartPolicyMode
	Detail  string // what a change reports it runs, e.g. "on 198.19.0.10:53"
}

// HostServiceChange is one thing EnsureHostService did (or would do).
type HostServiceChange struct{ Action, Target, Detail string }

// LabelServiceConfig is a hash of a host service container's whole
// configuration; a container whose hash differs is recreated.
const LabelServiceConfig = "reconcile.dev/service-config"

// serviceBinary is where the binary sits in a host service's image.
const serviceBinary = "/reconcile"

// EnsureHostService makes the host run exactly s's container: it imports
// the image when the binary is new, recreates the container when its
// configuration differs, and starts it when it is stopped. A container
// that matches is left alone, so its process lives on across runs.
func EnsureHostService(ctx context.Context, api client.APIClient, s HostService, dryRun bool) ([]HostServiceChange, error) {
	sum := s.BinarySum
	if len(sum) < 12 {
		var err error
		if sum, err = fileSHA256(s.Binary); err != nil {
			return nil, fmt.Errorf("%s: hash %s: %w", s.What, s.Binary, err)
		}
	}
	ref := s.ImageRepo + ":" + sum[:12]
	cfg, hc := s.containerConfig(ref)
	var changes []HostServiceChange

	if _, err := api.ImageInspect(ctx, ref); cerrdefs.IsNotFound(err) {
		changes = append(changes, HostServiceChange{"add", "image/" + ref, "from " + s.Binary})
		if !dryRun {
			if err := importBinaryImage(ctx, api, s.Binary, ref); err != nil {
				return changes, fmt.Errorf("%s: %w", s.What, err)
			}
		}
	} else if err != nil {
		return nil, fmt.Errorf("%s: inspect image %s: %w", s.What, ref, err)
	}

	name := s.Container
	cur, err := api.ContainerInspect(ctx, name)
	switch {
	case cerrdefs.IsNotFound(err):
		changes = append(changes, HostServiceChange{"add", "container/" + name, ref + " " + s.Detail})
	case err != nil:
		return changes, fmt.Errorf("%s: inspect container %s: %w", s.What, name, err)
	case cur.Config == nil || cur.Config.Labels[LabelManagedBy] != ManagedBy:
		return changes, fmt.Errorf("%s: a container named %s exists that reconcile did not create: remove or rename it", s.What, name)
	case cur.Config.Labels[LabelServiceConfig] != cfg.Labels[LabelServiceConfig]:
		changes = append(changes, HostServiceChange{"update", "container/" + name, "recreated: " + ref + " " + s.Detail})
		if !dryRun {
			if err := api.ContainerRemove(ctx, cur.ID, container.RemoveOptions{Force: true}); err != nil {
				return changes, fmt.Errorf("%s: remove old %s: %w", s.What, name, err)
			}
		}
	case cur.State != nil && !cur.State.Running && !cur.State.Restarting:
		changes = append(changes, HostServiceChange{"update", "container/" + name, "started (was " + cur.State.Status + ")"})
		if !dryRun {
			if err := api.ContainerStart(ctx, cur.ID, container.StartOptions{}); err != nil {
				return changes, fmt.Errorf("%s: start %s: %w", s.What, name, err)
			}
		}
		return changes, nil
	default:
		return changes, nil
	}
	if dryRun {
		return changes, nil
	}
	resp, err := api.ContainerCreate(ctx, cfg, hc, nil, nil, name)
	if err != nil {
		return changes, fmt.Errorf("%s: create %s: %w", s.What, name, err)
	}
	if err := api.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		return changes, fmt.Errorf("%s: start %s: %w", s.What, name, err)
	}
	return changes, nil
}

// containerConfig is the service's container: host network, the restart
// policy asked for, small rotated logs, and a hash of all of it as a label.
func (s HostService) containerConfig(ref string) (*container.Config, *container.HostConfig) {
	cfg := &container.Config{
		Image: ref,
		Cmd:   []string{serviceBinary, "node", s.Verb},
		Env:   s.Env,
		Labels: map[string]string{
			LabelManagedBy:    ManagedBy,
			LabelInfra:        s.Role,
			LabelInfraCluster: s.Cluster,
		},
	}
	restart := s.Restart
	if restart == "" {
		restart = container.RestartPolicyUnlessStopped
	}
	hc := &container.HostConfig{
		NetworkMode:   "host",
		RestartPolicy: container.RestartPolicy{Name: restart},
		Mounts:        s.Mounts,
		LogConfig:     container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "1m", "max-file": "2"}},
	}
	b, _ := json.Marshal(struct {
		C *container.Config
		H *container.HostConfig
	}{cfg, hc})
	h := sha256.Sum256(b)
	cfg.Labels[LabelServiceConfig] = hex.EncodeToString(h[:8])
	return cfg, hc
}

// importBinaryImage makes an image holding only the static binary, from a
// tar streamed to Docker's import: no registry, no build.
func importBinaryImage(ctx context.Context, api client.APIClient, binary, ref string) error {
	f, err := os.Open(binary)
	if err != nil {
		return fmt.Errorf("image %s: %w", ref, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("image %s: %w", ref, err)
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := tw.WriteHeader(&tar.Header{Name: serviceBinary[1:], Mode: 0o755, Size: st.Size(), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg})
		if err == nil {
			_, err = io.Copy(tw, f)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	rc, err := api.ImageImport(ctx, image.ImportSource{Source: pr, SourceName: "-"}, ref, image.ImportOptions{})
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("import image %s: %w", ref, err)
	}
	defer rc.Close()
	out, err := io.ReadAll(io.LimitReader(rc, 64<<10))
	if err != nil {
		return fmt.Errorf("import image %s: %w", ref, err)
	}
	// Import reports a failure inside its answer, not as an HTTP error.
	if _, err := api.ImageInspect(ctx, ref); err != nil {
		return fmt.Errorf("import image %s: %s", ref, truncateBytes(out, 300))
	}
	return nil
}

func truncateBytes(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
