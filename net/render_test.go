package net

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func baseConfig() NodeConfig {
	return NodeConfig{
		Cluster:        "lab",
		Node:           "node-1",
		PodCIDR:        "198.18.1.0/24",
		ClusterPodCIDR: "198.18.0.0/16",
		ServiceCIDR:    "198.19.0.0/16",
		Bridge:         "rcn0",
		Routes: []Route{
			{Node: "node-2", Dst: "198.18.2.0/24", Via: "198.51.100.12"},
			{Node: "node-3", Dst: "198.18.3.0/24", Via: "198.51.100.13"},
		},
	}
}

func withServices(svcs ...Service) NodeConfig {
	c := baseConfig()
	c.Services = svcs
	return c
}

func manyServices(n, eps int) NodeConfig {
	c := baseConfig()
	for i := 0; i < n; i++ {
		s := Service{Namespace: "default", Name: fmt.Sprintf("svc-%03d", i),
			ClusterIP: fmt.Sprintf("198.19.%d.%d", 1+i/250, 1+i%250)}
		p := ServicePort{Name: "http", Protocol: "TCP", Port: 80}
		for e := 0; e < eps; e++ {
			p.Endpoints = append(p.Endpoints, Endpoint{IP: fmt.Sprintf("198.18.%d.%d", 1+e, 2+i%250), Port: 8080})
		}
		s.Ports = []ServicePort{p}
		c.Services = append(c.Services, s)
	}
	return c
}

var renderCases = []struct {
	name string
	cfg  NodeConfig
}{
	{"no-services", baseConfig()},
	{"two-endpoints", withServices(Service{Namespace: "default", Name: "web", ClusterIP: "198.19.0.10",
		Ports: []ServicePort{{Name: "http", Protocol: "TCP", Port: 80, Endpoints: []Endpoint{
			// out of order on purpose: rendering sorts them
			{IP: "198.18.2.5", Port: 8080}, {IP: "198.18.1.5", Port: 8080}}}}})},
	{"no-endpoints", withServices(Service{Namespace: "default", Name: "empty", ClusterIP: "198.19.0.11",
		Ports: []ServicePort{{Name: "http", Port: 80, NodePort: 30081}}})},
	{"udp", withServices(Service{Namespace: "kube-system", Name: "dns", ClusterIP: "198.19.0.53",
		Ports: []ServicePort{
			{Name: "dns", Protocol: "UDP", Port: 53, Endpoints: []Endpoint{{IP: "198.18.1.9", Port: 5353}}},
			{Name: "dns-tcp", Protocol: "TCP", Port: 53, Endpoints: []Endpoint{{IP: "198.18.1.9", Port: 5353}}},
		}})},
	{"client-ip-affinity", withServices(Service{Namespace: "default", Name: "sticky", ClusterIP: "198.19.0.12",
		ClientIPAffinity: true, AffinityTimeoutSeconds: 600,
		Ports: []ServicePort{{Port: 443, Endpoints: []Endpoint{
			{IP: "198.18.1.5", Port: 8443}, {IP: "198.18.2.5", Port: 8443}, {IP: "198.18.3.5", Port: 8443}}}}})},
	{"node-port", withServices(Service{Namespace: "shop", Name: "front", ClusterIP: "198.19.0.13",
		Ports: []ServicePort{{Name: "http", Port: 80, NodePort: 30080, Endpoints: []Endpoint{
			{IP: "198.18.2.7", Port: 80}, {IP: "198.18.3.7", Port: 80}}}}})},
	{"many-services", manyServices(20, 3)},
	{"load-balancer", withServices(Service{Namespace: "shop", Name: "lb", ClusterIP: "198.19.0.14",
		LoadBalancerIPs: []string{"198.51.100.11"}, SourceRanges: []string{"203.0.113.0/24", "198.51.100.0/24"},
		Ports: []ServicePort{{Name: "http", Port: 80, NodePort: 30090, Endpoints: []Endpoint{
			{IP: "198.18.2.7", Port: 8080}, {IP: "198.18.3.7", Port: 8080}}}}})},
	{"load-balancer-local", withServices(Service{Namespace: "shop", Name: "lb", ClusterIP: "198.19.0.14",
		LoadBalancerIPs: []string{"198.51.100.11"}, LocalTraffic: true,
		Ports: []ServicePort{{Name: "http", Port: 80, NodePort: 30090, Endpoints: []Endpoint{
			{IP: "198.18.1.7", Port: 8080, Local: true}, {IP: "198.18.1.8", Port: 8080, Local: true}, {IP: "198.18.3.7", Port: 8080}}}}})},
	// A host without a local endpoint drops both the address and the node port.
	{"load-balancer-local-none", withServices(Service{Namespace: "shop", Name: "lb", ClusterIP: "198.19.0.14",
		LoadBalancerIPs: []string{"198.51.100.11"}, LocalTraffic: true,
		Ports: []ServicePort{{Name: "http", Port: 80, NodePort: 30090, Endpoints: []Endpoint{{IP: "198.18.3.7", Port: 8080}}}}})},
	{"load-balancer-no-endpoints", withServices(Service{Namespace: "shop", Name: "lb", ClusterIP: "198.19.0.14",
		LoadBalancerIPs: []string{"198.51.100.11"}, Ports: []ServicePort{{Name: "http", Port: 80}}})},
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range renderCases {
		t.Run(tc.name, func(t *testing.T) {
			got := append(RenderFilter(tc.cfg), RenderNAT(tc.cfg)...)
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestRenderGolden -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("render differs from %s (run with -update to accept):\n%s", path, got)
			}
		})
	}
}

// The agent compares tables as rendered (table.live) where it used to
// print them and parse the text back: both must read the same.
func TestLiveIsParsedRendering(t *testing.T) {
	for _, tc := range renderCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, tbl := range []struct {
				name string
				t    *table
			}{{"filter", filterTable(tc.cfg, servicePorts(tc.cfg))}, {"nat", natTable(tc.cfg, servicePorts(tc.cfg))}} {
				got, want := tbl.t.live(), parseTable(tbl.t.render(tbl.name, nil), tbl.name)
				if !reflect.DeepEqual(got.chains, want.chains) || !reflect.DeepEqual(got.rules, want.rules) {
					t.Errorf("%s: live %+v\nparsed %+v", tbl.name, got, want)
				}
			}
		})
	}
}

func TestChainNamesFit(t *testing.T) {
	c := manyServices(50, 3)
	for _, sp := range servicePorts(c) {
		names := append([]string{sp.chain}, sp.seps...)
		for _, n := range names {
			if len(n) != maxChainName {
				t.Fatalf("chain %s has %d characters, want %d", n, len(n), maxChainName)
			}
		}
	}
}

func TestProbability(t *testing.T) {
	tests := []struct {
		p    float64
		want string
	}{
		{1.0 / 2, "0.50000000000"},
		{1.0 / 3, "0.33333333349"},
		{1.0 / 4, "0.25000000000"},
		{1.0 / 7, "0.14285714272"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := probability(tc.p); got != tc.want {
				t.Errorf("probability(%v) = %s, want %s", tc.p, got, tc.want)
			}
		})
	}
}

func TestComment(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain-name_1", "-m comment --comment plain-name_1"},
		{"ns/svc:http cluster IP", `-m comment --comment "ns/svc:http cluster IP"`},
		{`say "hi"`, `-m comment --comment "say \"hi\""`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := comment(tc.in); got != tc.want {
				t.Errorf("comment(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     NodeConfig
		wantErr string
	}{
		{"ok", manyServices(2, 2), ""},
		{"bad cidr", NodeConfig{ServiceCIDR: "198.19.0.1/16"}, `serviceCIDR "198.19.0.1/16": want an IPv4 network like 198.18.0.0/16`},
		{"bad protocol", withServices(Service{Namespace: "a", Name: "b", ClusterIP: "198.19.0.1",
			Ports: []ServicePort{{Port: 1, Protocol: "SCTP"}}}), `service a/b port 1: protocol "SCTP" not supported (TCP or UDP)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.cfg)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.wantErr {
				t.Errorf("Validate() = %q, want %q", got, tc.wantErr)
			}
		})
	}
}

func BenchmarkRenderNAT(b *testing.B) {
	c := manyServices(500, 3)
	b.ReportAllocs()
	for b.Loop() {
		RenderNAT(c)
	}
}

// A one-Service change rewrites only that Service's chains: the restore
// input names no other Service.
func TestPartialRestoreInput(t *testing.T) {
	cfg := manyServices(20, 3)
	tests := []struct {
		name   string
		change func(c *NodeConfig)
		want   string // the restore input, without the rules' text
	}{
		{"endpoint gone", func(c *NodeConfig) { c.Services[5].Ports[0].Endpoints = c.Services[5].Ports[0].Endpoints[:2] },
			"*nat :SVC :SEP -X SEP COMMIT"}, // a stale chain is declared (flushed), then deleted
		{"service added", func(c *NodeConfig) {
			c.Services = append(c.Services, Service{Namespace: "default", Name: "svc-new", ClusterIP: "198.19.9.9",
				Ports: []ServicePort{{Port: 80, Endpoints: []Endpoint{{IP: "198.18.1.9", Port: 80}}}}})
		}, "*nat :SEP :SERVICES :SVC COMMIT"},
		{"service removed", func(c *NodeConfig) { c.Services = c.Services[1:] },
			"*nat :SERVICES :SEP :SEP :SEP :SVC -X SEP -X SEP -X SEP -X SVC COMMIT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := cfg
			next.Services = append([]Service(nil), cfg.Services...)
			for i := range next.Services {
				next.Services[i].Ports = append([]ServicePort(nil), cfg.Services[i].Ports...)
			}
			tc.change(&next)
			live, want := parseTable(RenderNAT(cfg), "nat"), parseTable(RenderNAT(next), "nat")
			_, write, stale := diffTable("nat", want, live)
			in := string(renderPartial("nat", want, live, write, stale))
			var shape []string
			for _, l := range strings.Split(strings.TrimSpace(in), "\n") {
				f := strings.Fields(l)
				switch {
				case strings.HasPrefix(l, "-A "):
					// The dispatch chain names every Service; no other chain may.
					if !strings.HasPrefix(l, "-A RECONCILE-SERVICES ") && (strings.Contains(l, "svc-004") || strings.Contains(l, "svc-019")) {
						t.Errorf("rewrites an unchanged service: %s", l)
					}
					continue
				case strings.HasPrefix(l, ":") || strings.HasPrefix(l, "-X "):
					name := strings.TrimPrefix(f[len(f)-1], ":")
					if strings.HasPrefix(l, ":") {
						name = strings.TrimPrefix(f[0], ":")
					}
					kind := strings.TrimPrefix(name, "RECONCILE-")
					kind, _, _ = strings.Cut(kind, "-")
					if strings.HasPrefix(l, ":") {
						shape = append(shape, ":"+kind)
					} else {
						shape = append(shape, "-X "+kind)
					}
				default:
					shape = append(shape, l)
				}
			}
			if got := strings.Join(shape, " "); got != tc.want {
				t.Errorf("restore input %q, want %q\n%s", got, tc.want, in)
			}
		})
	}
}
