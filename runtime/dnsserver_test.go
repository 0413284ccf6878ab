package runtime

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDNSContainerConfig(t *testing.T) {
	spec := DNSServerSpec{Cluster: "lab", Binary: "/usr/local/lib/reconcile/reconcile-0123456789ab", IP: "198.19.0.10",
		Domain: "cluster.local", RecordsFile: "/var/lib/reconcile/dns-records.json"}
	cfg, hc := dnsContainerConfig(spec, "reconcile-dns:0123456789ab")
	if _, ok := cfg.Labels[LabelCluster]; ok {
		t.Errorf("labels %v: the cluster label would make it a pod to list, watch and prune", cfg.Labels)
	}
	if cfg.Labels[LabelManagedBy] != ManagedBy || cfg.Labels[LabelInfra] != RoleClusterDNS {
		t.Errorf("labels %v", cfg.Labels)
	}
	if hc.NetworkMode != "host" || hc.RestartPolicy.Name != "always" {
		t.Errorf("network %q restart %q: want host and always", hc.NetworkMode, hc.RestartPolicy.Name)
	}
	var mounts []string
	for _, m := range hc.Mounts {
		mounts = append(mounts, m.Source+":"+m.Target+map[bool]string{true: ":ro", false: ":rw"}[m.ReadOnly])
	}
	if got := strings.Join(mounts, " "); got != "/var/lib/reconcile:/var/lib/reconcile:ro /etc:/host/etc:ro" {
		t.Errorf("mounts %s: want the two directories, read-only", got)
	}
	env, _ := strings.CutPrefix(cfg.Env[0], DNSServeEnv+"=")
	var req DNSServeRequest
	if err := json.Unmarshal([]byte(env), &req); err != nil || strings.Join(req.Listen, ",") != "198.19.0.10:53" || req.ResolvConf != "/host/etc/resolv.conf" {
		t.Errorf("request %s: %v", env, err)
	}
	// Any change of what it runs changes the hash that recreates it.
	other := spec
	other.IP = "198.19.0.11"
	c2, _ := dnsContainerConfig(other, "reconcile-dns:0123456789ab")
	c3, _ := dnsContainerConfig(spec, "reconcile-dns:ba9876543210")
	c4, _ := dnsContainerConfig(spec, "reconcile-dns:0123456789ab")
	h := cfg.Labels[LabelDNSConfig]
	if h == "" || c2.Labels[LabelDNSConfig] == h || c3.Labels[LabelDNSConfig] == h || c4.Labels[LabelDNSConfig] != h {
		t.Errorf("config hashes %s %s %s %s", h, c2.Labels[LabelDNSConfig], c3.Labels[LabelDNSConfig], c4.Labels[LabelDNSConfig])
	}
}
