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
	"path/filepath"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
)

// The cluster DNS server runs on every host as a container reconcile owns:
// the node agent's own binary in an image made on the host (no registry),
// on the host network, with Docker's restart policy keeping it up across
// crashes, dockerd restarts and reboots without the CLI.
const (
	DNSContainer = "reconcile-dns"
	DNSImageRepo = "reconcile-dns"
	// RoleClusterDNS is the DNS server's LabelInfra value.
	RoleClusterDNS = "cluster-dns"
	// LabelDNSConfig is a hash of the container's whole configuration; a
	// container whose hash differs is recreated.
	LabelDNSConfig = "reconcile.dev/dns-config"

	// DNSServeEnv carries the dns-serve verb's request into the container.
	DNSServeEnv = "RECONCILE_DNS_SERVE"

	dnsBinary  = "/reconcile"
	hostEtc    = "/host/etc" // the host's /etc, for its resolv.conf
	dnsVerbCmd = "dns-serve"
)

// DNSServerSpec is one host's DNS server container.
type DNSServerSpec struct {
	Cluster     string
	Binary      string // host path of the static reconcile binary to run
	BinarySum   string // its SHA-256 in hex, or at least its first 12 digits; empty: computed
	IP          string // the address it answers on (the kube-dns ClusterIP)
	Domain      string
	RecordsFile string
}

// DNSServeRequest is what the server process gets (DNSServeEnv).
type DNSServeRequest struct {
	Listen      []string `json:"listen"`
	Domain      string   `json:"domain"`
	RecordsFile string   `json:"recordsFile"`
	ResolvConf  string   `json:"resolvConf"`
}

// DNSServerChange is one thing EnsureDNSServer did (or would do).
type DNSServerChange struct{ Action, Target, Detail string }

// EnsureDNSServer makes the host run exactly spec's DNS server container:
// it imports the image when the binary is new, recreates the container when
// its configuration differs, and starts it when it is stopped. A container
// that matches is left alone, so its process lives on across runs.
func EnsureDNSServer(ctx context.Context, api client.APIClient, spec DNSServerSpec, dryRun bool) ([]DNSServerChange, error) {
	sum := spec.BinarySum
	if len(sum) < 12 {
		var err error
		if sum, err = fileSHA256(spec.Binary); err != nil {
			return nil, fmt.Errorf("cluster DNS: hash %s: %w", spec.Binary, err)
		}
	}
	ref := DNSImageRepo + ":" + sum[:12]
	cfg, hc := dnsContainerConfig(spec, ref)
	var changes []DNSServerChange

	if _, err := api.ImageInspect(ctx, ref); cerrdefs.IsNotFound(err) {
		changes = append(changes, DNSServerChange{"add", "image/" + ref, "from " + spec.Binary})
		if !dryRun {
			if err := importBinaryImage(ctx, api, spec.Binary, ref); err != nil {
				return changes, err
			}
		}
	} else if err != nil {
		return nil, fmt.Errorf("cluster DNS: inspect image %s: %w", ref, err)
	}

	cur, err := api.ContainerInspect(ctx, DNSContainer)
	switch {
	case cerrdefs.IsNotFound(err):
		changes = append(changes, DNSServerChange{"add", "container/" + DNSContainer, ref + " on " + spec.IP + ":53"})
	case err != nil:
		return changes, fmt.Errorf("cluster DNS: inspect container %s: %w", DNSContainer, err)
	case cur.Config == nil || cur.Config.Labels[LabelManagedBy] != ManagedBy:
		return changes, fmt.Errorf("cluster DNS: a container named %s exists that reconcile did not create: remove or rename it", DNSContainer)
	case cur.Config.Labels[LabelDNSConfig] != cfg.Labels[LabelDNSConfig]:
		changes = append(changes, DNSServerChange{"update", "container/" + DNSContainer, "recreated: " + ref + " on " + spec.IP + ":53"})
		if !dryRun {
			if err := api.ContainerRemove(ctx, cur.ID, container.RemoveOptions{Force: true}); err != nil {
				return changes, fmt.Errorf("cluster DNS: remove old %s: %w", DNSContainer, err)
			}
		}
	case cur.State != nil && !cur.State.Running && !cur.State.Restarting:
		changes = append(changes, DNSServerChange{"update", "container/" + DNSContainer, "started (was " + cur.State.Status + ")"})
		if !dryRun {
			if err := api.ContainerStart(ctx, cur.ID, container.StartOptions{}); err != nil {
				return changes, fmt.Errorf("cluster DNS: start %s: %w", DNSContainer, err)
			}
		}
		return changes, nil
	default:
		return changes, nil
	}
	if dryRun {
		return changes, nil
	}
	resp, err := api.ContainerCreate(ctx, cfg, hc, nil, nil, DNSContainer)
	if err != nil {
		return changes, fmt.Errorf("cluster DNS: create %s: %w", DNSContainer, err)
	}
	if err := api.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		return changes, fmt.Errorf("cluster DNS: start %s: %w", DNSContainer, err)
	}
	return changes, nil
}

// dnsContainerConfig is the server's container: host network (it binds the
// DNS address the host holds on lo), restart always, and read-only mounts
// of the records file's directory and of the host's /etc. Directories, not
// files: both files are replaced by rename, and a bind-mounted file would
// keep showing the old inode.
func dnsContainerConfig(spec DNSServerSpec, ref string) (*container.Config, *container.HostConfig) {
	req := DNSServeRequest{
		Listen:      []string{spec.IP + ":53"},
		Domain:      spec.Domain,
		RecordsFile: spec.RecordsFile,
		ResolvConf:  hostEtc + "/resolv.conf",
	}
	reqJSON, _ := json.Marshal(req)
	recordsDir := filepath.Dir(spec.RecordsFile)
	cfg := &container.Config{
		Image: ref,
		Cmd:   []string{dnsBinary, "node", dnsVerbCmd},
		Env:   []string{DNSServeEnv + "=" + string(reqJSON)},
		Labels: map[string]string{
			LabelManagedBy:    ManagedBy,
			LabelInfra:        RoleClusterDNS,
			LabelInfraCluster: spec.Cluster,
		},
	}
	hc := &container.HostConfig{
		NetworkMode:   "host",
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyAlways},
		Mounts: []mount.Mount{
			{Type: mount.TypeBind, Source: recordsDir, Target: recordsDir, ReadOnly: true},
			{Type: mount.TypeBind, Source: "/etc", Target: hostEtc, ReadOnly: true},
		},
		LogConfig: container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "1m", "max-file": "2"}},
	}
	b, _ := json.Marshal(struct {
		C *container.Config
		H *container.HostConfig
	}{cfg, hc})
	h := sha256.Sum256(b)
	cfg.Labels[LabelDNSConfig] = hex.EncodeToString(h[:8])
	return cfg, hc
}

// importBinaryImage makes an image holding only the static binary, from a
// tar streamed to Docker's import: no registry, no build.
func importBinaryImage(ctx context.Context, api client.APIClient, binary, ref string) error {
	f, err := os.Open(binary)
	if err != nil {
		return fmt.Errorf("cluster DNS: image %s: %w", ref, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cluster DNS: image %s: %w", ref, err)
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := tw.WriteHeader(&tar.Header{Name: dnsBinary[1:], Mode: 0o755, Size: st.Size(), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg})
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
		return fmt.Errorf("cluster DNS: import image %s: %w", ref, err)
	}
	defer rc.Close()
	out, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("cluster DNS: import image %s: %w", ref, err)
	}
	// Import reports a failure inside its answer, not as an HTTP error.
	if _, err := api.ImageInspect(ctx, ref); err != nil {
		return fmt.Errorf("cluster DNS: import image %s: %s", ref, truncateBytes(out, 300))
	}
	return nil
}

func truncateBytes(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
