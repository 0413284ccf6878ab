package runtime

import (
	"context"
	"encoding/json"
	"path/filepath"

	"github.com/docker/docker/api/types/container"
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
	// LabelDNSConfig is the label holding a hash of the container's whole
	// configuration (one for all host services).
	LabelDNSConfig = LabelServiceConfig

	// DNSServeEnv carries the dns-serve verb's request into the container.
	DNSServeEnv = "RECONCILE_DNS_SERVE"

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
type DNSServerChange = HostServiceChange

// EnsureDNSServer makes the host run exactly spec's DNS server container
// (see EnsureHostService).
func EnsureDNSServer(ctx context.Context, api client.APIClient, spec DNSServerSpec, dryRun bool) ([]DNSServerChange, error) {
	return EnsureHostService(ctx, api, dnsService(spec), dryRun)
}

// dnsService is the server's container: host network (it binds the
// DNS address the host holds on lo), restart always, and read-only mounts
// of the records file's directory and of the host's /etc. Directories, not
// files: both files are replaced by rename, and a bind-mounted file would
// keep showing the old inode.
func dnsService(spec DNSServerSpec) HostService {
	req := DNSServeRequest{
		Listen:      []string{spec.IP + ":53"},
		Domain:      spec.Domain,
		RecordsFile: spec.RecordsFile,
		ResolvConf:  hostEtc + "/resolv.conf",
	}
	reqJSON, _ := json.Marshal(req)
	recordsDir := filepath.Dir(spec.RecordsFile)
	return HostService{
		What: "cluster DNS", Container: DNSContainer, ImageRepo: DNSImageRepo, Role: RoleClusterDNS,
		Cluster: spec.Cluster, Binary: spec.Binary, BinarySum: spec.BinarySum, Verb: dnsVerbCmd,
		Env: []string{DNSServeEnv + "=" + string(reqJSON)},
		Mounts: []mount.Mount{
			{Type: mount.TypeBind, Source: recordsDir, Target: recordsDir, ReadOnly: true},
			{Type: mount.TypeBind, Source: "/etc", Target: hostEtc, ReadOnly: true},
		},
		Restart: container.RestartPolicyAlways,
		Detail:  "on " + spec.IP + ":53",
	}
}

// dnsContainerConfig is the DNS server's container configuration.
func dnsContainerConfig(spec DNSServerSpec, ref string) (*container.Config, *container.HostConfig) {
	return dnsService(spec).containerConfig(ref)
}
