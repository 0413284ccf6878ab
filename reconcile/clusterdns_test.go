package reconcile

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/net/clusterdns"
	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

const headlessService = `apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  ports: [{name: sql, port: 5432}]
  selector: {run: my-nginx}
`

const externalService = `apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  type: ExternalName
  externalName: example.org
`

// loadWithDNS loads a tree as a run does: with kube-dns declared.
func loadWithDNS(t *testing.T, docs ...string) *Desired {
	t.Helper()
	dir := t.TempDir()
	for i, d := range append([]string{testCluster}, docs...) {
		if err := os.WriteFile(filepath.Join(dir, "m"+itoa(i)+".yaml"), []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := LoadDesired(context.Background(), SourceOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.withClusterDNS(); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestClusterDNSAllocation(t *testing.T) {
	d := loadWithDNS(t, seedService, headlessService, externalService)
	now := time.Unix(1700000000, 0).UTC()
	// Before cluster DNS, my-nginx may have been handed the tenth address.
	prev := Allocations{Services: map[string]Allocation{
		"default/my-nginx": {ClusterIP: "198.19.0.10", Created: now.Add(-time.Hour)},
		"default/db":       {ClusterIP: "None", Created: now.Add(-time.Hour)},
	}}
	got, err := allocate(d.Services, d.Cluster.Spec.ServiceCIDR, prev, now)
	if err != nil {
		t.Fatal(err)
	}
	if a := got.Services["kube-system/kube-dns"]; a.ClusterIP != "198.19.0.10" {
		t.Errorf("kube-dns got %q, want 198.19.0.10", a.ClusterIP)
	}
	if a := got.Services["default/my-nginx"]; a.ClusterIP == "198.19.0.10" || a.ClusterIP == "" {
		t.Errorf("my-nginx kept %q, the cluster DNS address", a.ClusterIP)
	}
	for _, k := range []string{"default/db", "default/ext"} {
		if a, ok := got.Services[k]; !ok || a.ClusterIP != "" {
			t.Errorf("%s: allocation %+v (present %v), want one without an address", k, a, ok)
		}
	}
	// Allocating again changes nothing.
	again, err := allocate(d.Services, d.Cluster.Spec.ServiceCIDR, got, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(allocationChanges(got, again)) != 0 {
		t.Errorf("second allocation changed: %v", allocationChanges(got, again))
	}
}

func TestClusterDNSNodeConfig(t *testing.T) {
	d := loadWithDNS(t, seedService, headlessService, externalService, deployment("my-nginx", "nginx", 2, ""))
	obs := &Observed{Pods: map[string][]runtime.Pod{
		"node-1": {{ID: "a", Name: "my-nginx-abc-aaaaa", Namespace: "default", Deployment: "my-nginx", Node: "node-1", IP: "198.18.1.2", State: "running", Ready: true, Labels: map[string]string{"run": "my-nginx"}}},
		"node-2": {{ID: "b", Name: "my-nginx-abc-bbbbb", Namespace: "default", Deployment: "my-nginx", Node: "node-2", IP: "198.18.2.2", State: "running", Ready: false, Labels: map[string]string{"run": "my-nginx"}}},
	}, Files: map[string]map[string][]byte{}, Unreachable: map[string]error{}}
	_, alloc, err := allocations(d, obs, nil)
	if err != nil {
		t.Fatal(err)
	}
	dn := desiredNetwork(d, alloc, obs, nil)
	nc := dn.configs["node-1"]
	var vips []string
	for _, s := range nc.Services {
		vips = append(vips, s.Namespace+"/"+s.Name)
	}
	if strings.Join(vips, " ") != "default/my-nginx" {
		t.Errorf("VIP rules for %v, want only default/my-nginx (no headless, ExternalName or kube-dns)", vips)
	}
	if nc.ClusterDNS == nil || *nc.ClusterDNS != (rnet.ClusterDNS{IP: "198.19.0.10", Domain: "cluster.local", RecordsFile: clusterdns.DefaultRecordsFile}) {
		t.Errorf("ClusterDNS = %+v", nc.ClusterDNS)
	}
	files := map[string][]byte{}
	for _, f := range nc.Files {
		files[f.Path] = f.Content
	}
	var recs clusterdns.Records
	if err := json.Unmarshal(files[clusterdns.DefaultRecordsFile], &recs); err != nil {
		t.Fatalf("records file: %v\n%s", err, files[clusterdns.DefaultRecordsFile])
	}
	if err := recs.Check(); err != nil {
		t.Fatal(err)
	}
	byName := map[string]clusterdns.Service{}
	for _, s := range recs.Services {
		byName[s.Namespace+"/"+s.Name] = s
	}
	db := byName["default/db"]
	if db.ClusterIP != "None" || len(db.Endpoints) != 1 || db.Endpoints[0].IP != "198.18.1.2" || db.Endpoints[0].Hostname != "my-nginx-abc-aaaaa" ||
		len(db.Endpoints[0].Ports) != 1 || db.Endpoints[0].Ports[0] != (clusterdns.Port{Name: "sql", Protocol: "TCP", Port: 5432}) {
		t.Errorf("headless db: %+v (want only the ready pod, with its port)", db)
	}
	if ext := byName["default/ext"]; ext.Type != "ExternalName" || ext.ExternalName != "example.org" || ext.ClusterIP != "" {
		t.Errorf("ext: %+v", ext)
	}
	if dns := byName["kube-system/kube-dns"]; dns.ClusterIP != "198.19.0.10" {
		t.Errorf("kube-dns: %+v", dns)
	}
	if my := byName["default/my-nginx"]; my.ClusterIP != alloc.Services["default/my-nginx"].ClusterIP {
		t.Errorf("my-nginx: %+v", my)
	}
	p, content := podResolvConf(d.Cluster, d.Deployments[0])
	want := "# Written by reconcile for pods of namespace default.\nnameserver 198.19.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
	if string(content) != want || string(files[p]) != want || !strings.HasPrefix(p, ResolvConfDir+"/default-") {
		t.Errorf("pod resolv.conf %s:\n%s\nin files: %q", p, content, files[p])
	}
}

// A service range too small for the DNS address runs without cluster DNS,
// as before it existed, instead of failing every run.
func TestClusterDNSSmallRange(t *testing.T) {
	dir := t.TempDir()
	cluster := strings.Replace(testCluster, "198.19.0.0/16", "198.19.0.0/29", 1)
	for i, d := range []string{cluster, seedService} {
		if err := os.WriteFile(filepath.Join(dir, "m"+itoa(i)+".yaml"), []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := LoadDesired(context.Background(), SourceOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Warnings) == 0 || !strings.Contains(strings.Join(d.Warnings, "\n"), "no DNS") {
		t.Errorf("warnings %q, want one about the missing cluster DNS", d.Warnings)
	}
	if err := d.withClusterDNS(); err != nil {
		t.Fatal(err)
	}
	if len(d.Services) != 1 || clusterDNSConfig(d.Cluster) != nil {
		t.Errorf("services %d, DNS %+v: want no kube-dns", len(d.Services), clusterDNSConfig(d.Cluster))
	}
}

// The host's search domains go after the cluster's three for ClusterFirst
// (the default) only, as the kubelet does.
func TestHostSearchAt(t *testing.T) {
	for _, tt := range []struct {
		policy string
		want   int
	}{{"", 3}, {resources.DNSClusterFirst, 3}, {resources.DNSClusterFirstWithHostNet, 3}, {resources.DNSDefault, 0}, {resources.DNSNone, 0}} {
		d := &resources.Deployment{}
		d.Spec.Template.Spec.DNSPolicy = tt.policy
		if got := hostSearchAt(d); got != tt.want {
			t.Errorf("dnsPolicy %q: %d, want %d", tt.policy, got, tt.want)
		}
	}
}
