package resources

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClusterDNSIP(t *testing.T) {
	tests := []struct {
		cidr, want string
	}{
		{"10.96.0.0/12", "10.96.0.10"},
		{"10.96.0.0/16", "10.96.0.10"},
		{"198.19.128.0/17", "198.19.128.10"},
		{"10.0.0.16/28", "10.0.0.26"},
		{"10.96.5.7/16", "10.96.0.10"}, // host bits are masked
		{"10.0.0.0/29", "error: serviceCIDR 10.0.0.0/29 is too small to hold the cluster DNS address (the tenth): use a /28 or larger"},
		{"fd00::/108", `error: serviceCIDR "fd00::/108" is not an IPv4 CIDR`},
		{"", `error: serviceCIDR "" is not an IPv4 CIDR`},
	}
	for _, tt := range tests {
		a, err := ClusterDNSIP(tt.cidr)
		got := a.String()
		if err != nil {
			got = "error: " + err.Error()
		}
		if got != tt.want {
			t.Errorf("ClusterDNSIP(%q) = %s, want %s", tt.cidr, got, tt.want)
		}
	}
}

func TestClusterDNSService(t *testing.T) {
	s, err := ClusterDNSService(&Cluster{Spec: ClusterSpec{ServiceCIDR: "10.96.0.0/12"}})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s/%s %s %s %v", s.Namespace, s.Name, s.Spec.Type, s.Spec.ClusterIP, s.Spec.Ports)
	if want := "kube-system/kube-dns ClusterIP 10.96.0.10 [{dns 53 UDP 53 0} {dns-tcp 53 TCP 53 0}]"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestClusterDomain(t *testing.T) {
	if d := (&ClusterSpec{}).Domain(); d != "cluster.local" {
		t.Errorf("default %q", d)
	}
	if d := (&ClusterSpec{ClusterDomain: "corp.internal"}).Domain(); d != "corp.internal" {
		t.Errorf("set %q", d)
	}
}

func TestParseResolvConf(t *testing.T) {
	in := "# generated\nnameserver 10.0.0.2\nnameserver 10.0.0.3 ; second\ndomain old.example\nsearch lab.example corp.example\noptions edns0 timeout:2\noptions rotate\nbogus\n"
	got := ParseResolvConf([]byte(in))
	want := "nameserver 10.0.0.2\nnameserver 10.0.0.3\nsearch lab.example corp.example\noptions edns0 timeout:2 rotate\n"
	if got.String() != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestPodResolvConf(t *testing.T) {
	host := ResolvConf{Nameservers: []string{"10.0.0.2"}, Searches: []string{"lab.example"}, Options: []string{"edns0", "timeout:2"}}
	val := func(s string) *string { return &s }
	many := func(n int, f string) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, fmt.Sprintf(f, i))
		}
		return out
	}
	tests := []struct {
		name string
		spec PodSpec
		want string
	}{
		{"default policy is ClusterFirst", PodSpec{},
			"nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local lab.example\noptions ndots:5\n"},
		{"ClusterFirstWithHostNet is ClusterFirst", PodSpec{DNSPolicy: DNSClusterFirstWithHostNet},
			"nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local lab.example\noptions ndots:5\n"},
		{"Default is the host's", PodSpec{DNSPolicy: DNSDefault},
			"nameserver 10.0.0.2\nsearch lab.example\noptions edns0 timeout:2\n"},
		{"None is only dnsConfig", PodSpec{DNSPolicy: DNSNone, DNSConfig: &PodDNSConfig{Nameservers: []string{"1.1.1.1"}}},
			"nameserver 1.1.1.1\n"},
		{"ClusterFirst merged with dnsConfig", PodSpec{DNSConfig: &PodDNSConfig{
			Nameservers: []string{"10.96.0.10", "10.0.0.9"},
			Searches:    []string{"corp.example", "cluster.local"},
			Options:     []PodDNSConfigOption{{Name: "ndots", Value: val("2")}, {Name: "edns0"}}}},
			"nameserver 10.96.0.10\nnameserver 10.0.0.9\nsearch shop.svc.cluster.local svc.cluster.local cluster.local lab.example corp.example\noptions ndots:2 edns0\n"},
		{"Default merged with dnsConfig", PodSpec{DNSPolicy: DNSDefault, DNSConfig: &PodDNSConfig{Options: []PodDNSConfigOption{{Name: "timeout", Value: val("5")}, {Name: "rotate"}}}},
			"nameserver 10.0.0.2\nsearch lab.example\noptions edns0 timeout:5 rotate\n"},
		{"cut to 3 nameservers", PodSpec{DNSConfig: &PodDNSConfig{Nameservers: many(4, "10.1.0.%d")}},
			"nameserver 10.96.0.10\nnameserver 10.1.0.0\nnameserver 10.1.0.1\nsearch shop.svc.cluster.local svc.cluster.local cluster.local lab.example\noptions ndots:5\n"},
		{"cut to 32 searches", PodSpec{DNSPolicy: DNSNone, DNSConfig: &PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: many(40, "s%d.example")}},
			"nameserver 1.1.1.1\nsearch " + strings.Join(many(32, "s%d.example"), " ") + "\n"},
		{"cut to 2048 characters", PodSpec{DNSPolicy: DNSNone, DNSConfig: &PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: many(10, strings.Repeat("a", 250)+"%d")}},
			"nameserver 1.1.1.1\nsearch " + strings.Join(many(8, strings.Repeat("a", 250)+"%d"), " ") + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PodResolvConf(&tt.spec, "shop", "cluster.local", "10.96.0.10", host).String()
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	// The host's lists are shared between pods: never written through.
	if host.Searches[0] != "lab.example" || len(host.Nameservers) != 1 {
		t.Errorf("host config modified: %+v", host)
	}
}

// Headless and ExternalName Services and a pod's DNS settings load and
// render as written, and the rendering loads back the same.
func TestDNSFieldsRender(t *testing.T) {
	dir := t.TempDir()
	in := `apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: pg, port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: mail}
spec:
  type: ExternalName
  externalName: smtp.example.com
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      dnsPolicy: None
      dnsConfig:
        nameservers: [10.0.0.2]
        searches: [corp.example]
        options: [{name: ndots, value: "2"}, {name: edns0}]
      containers: [{name: db, image: "postgres:16"}]
`
	if err := os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"clusterIP: None", "type: ExternalName", "externalName: smtp.example.com",
		"dnsPolicy: None", "- 10.0.0.2", "- corp.example", "value: \"2\"", "name: edns0"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("render lacks %q:\n%s", want, out)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "all.yaml"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	out2, _ := Render(again)
	if string(out2) != string(out) {
		t.Errorf("render is not a fixed point:\n%s\n---\n%s", out, out2)
	}
	p := &again.Deployments[0].Spec.Template.Spec
	if got := PodResolvConf(p, "default", "cluster.local", "10.96.0.10", ResolvConf{}).String(); got != "nameserver 10.0.0.2\nsearch corp.example\noptions ndots:2 edns0\n" {
		t.Errorf("resolv.conf of the loaded pod:\n%s", got)
	}
}
