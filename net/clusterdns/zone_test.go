package clusterdns

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// testRecords is a small cluster: a ClusterIP Service with named ports, a
// headless one with two ready pods (one with a hostname, one without, one
// with a different target port), an ExternalName and a Service in another
// namespace.
func testRecords() *Records {
	return &Records{
		ServiceCIDR: "10.96.0.0/16",
		PodCIDR:     "10.244.0.0/16",
		Services: []Service{
			{Namespace: "default", Name: "my-nginx", Type: "ClusterIP", ClusterIP: "10.96.0.20",
				Ports:     []Port{{Name: "http", Protocol: "TCP", Port: 80}, {Name: "dns", Protocol: "UDP", Port: 53}},
				Endpoints: []Endpoint{{IP: "10.244.1.5", Pod: "my-nginx-a", Node: "node-1"}}},
			{Namespace: "default", Name: "db", Type: "ClusterIP", ClusterIP: "None",
				Ports: []Port{{Name: "pg", Protocol: "TCP", Port: 5432}},
				Endpoints: []Endpoint{
					{IP: "10.244.2.7", Hostname: "db-0", Pod: "db-0", Node: "node-2"},
					{IP: "10.244.1.9", Pod: "db-x", Node: "node-1", Ports: []Port{{Name: "pg", Protocol: "TCP", Port: 6543}}},
				}},
			{Namespace: "default", Name: "empty", Type: "ClusterIP", ClusterIP: "None", Ports: []Port{{Name: "web", Protocol: "TCP", Port: 80}}},
			{Namespace: "default", Name: "ext", Type: "ExternalName", ExternalName: "example.org"},
			{Namespace: "default", Name: "alias", Type: "ExternalName", ExternalName: "my-nginx.default.svc.cluster.local"},
			{Namespace: "other", Name: "api", Type: "NodePort", ClusterIP: "10.96.0.30", Ports: []Port{{Protocol: "TCP", Port: 8080}}},
		},
	}
}

// strs renders records one per line without TTL noise.
func strs(rrs []dns.RR) string {
	var out []string
	for _, rr := range rrs {
		out = append(out, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	return strings.Join(out, "\n")
}

func TestZoneLookup(t *testing.T) {
	z := buildZone(testRecords(), "cluster.local.", 1)
	soa := "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"
	tests := []struct {
		name   string
		qtype  uint16
		rcode  int
		answer string
		ns     string
		extra  string
		chase  string
	}{
		{"my-nginx.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
			"my-nginx.default.svc.cluster.local. 5 IN A 10.96.0.20", "", "", ""},
		{"My-Nginx.Default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
			"My-Nginx.Default.svc.cluster.local. 5 IN A 10.96.0.20", "", "", ""},
		{"api.other.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
			"api.other.svc.cluster.local. 5 IN A 10.96.0.30", "", "", ""},
		{"my-nginx.default.svc.cluster.local.", dns.TypeAAAA, dns.RcodeSuccess, "", soa, "", ""},
		{"my-nginx.default.svc.cluster.local.", dns.TypeMX, dns.RcodeSuccess, "", soa, "", ""},
		{"_http._tcp.my-nginx.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess,
			"_http._tcp.my-nginx.default.svc.cluster.local. 5 IN SRV 0 100 80 my-nginx.default.svc.cluster.local.", "",
			"my-nginx.default.svc.cluster.local. 5 IN A 10.96.0.20", ""},
		{"_dns._udp.my-nginx.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess,
			"_dns._udp.my-nginx.default.svc.cluster.local. 5 IN SRV 0 100 53 my-nginx.default.svc.cluster.local.", "",
			"my-nginx.default.svc.cluster.local. 5 IN A 10.96.0.20", ""},
		{"_http._udp.my-nginx.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeNameError, "", soa, "", ""},
		{"_tcp.my-nginx.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess, "", soa, "", ""},
		{"db.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
			"db.default.svc.cluster.local. 5 IN A 10.244.1.9\ndb.default.svc.cluster.local. 5 IN A 10.244.2.7", "", "", ""},
		{"db-0.db.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
			"db-0.db.default.svc.cluster.local. 5 IN A 10.244.2.7", "", "", ""},
		{"10-244-1-9.db.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
			"10-244-1-9.db.default.svc.cluster.local. 5 IN A 10.244.1.9", "", "", ""},
		{"10-244-2-7.db.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, "", soa, "", ""},
		{"_pg._tcp.db.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess,
			"_pg._tcp.db.default.svc.cluster.local. 5 IN SRV 0 50 6543 10-244-1-9.db.default.svc.cluster.local.\n" +
				"_pg._tcp.db.default.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.default.svc.cluster.local.", "",
			"10-244-1-9.db.default.svc.cluster.local. 5 IN A 10.244.1.9\ndb-0.db.default.svc.cluster.local. 5 IN A 10.244.2.7", ""},
		// A headless Service without ready pods: nothing at or below it.
		{"empty.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, "", soa, "", ""},
		{"_web._tcp.empty.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeNameError, "", soa, "", ""},
		{"ext.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
			"ext.default.svc.cluster.local. 5 IN CNAME example.org.", "", "", "example.org."},
		{"ext.default.svc.cluster.local.", dns.TypeCNAME, dns.RcodeSuccess,
			"ext.default.svc.cluster.local. 5 IN CNAME example.org.", "", "", ""},
		{"alias.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
			"alias.default.svc.cluster.local. 5 IN CNAME my-nginx.default.svc.cluster.local.\nmy-nginx.default.svc.cluster.local. 5 IN A 10.96.0.20", "", "", ""},
		{"20.0.96.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess,
			"20.0.96.10.in-addr.arpa. 5 IN PTR my-nginx.default.svc.cluster.local.", "", "", ""},
		{"7.2.244.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess,
			"7.2.244.10.in-addr.arpa. 5 IN PTR db-0.db.default.svc.cluster.local.", "", "", ""},
		{"5.1.244.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess,
			"5.1.244.10.in-addr.arpa. 5 IN PTR 10-244-1-5.default.pod.cluster.local.", "", "", ""},
		{"10-244-1-5.default.pod.cluster.local.", dns.TypeA, dns.RcodeSuccess,
			"10-244-1-5.default.pod.cluster.local. 5 IN A 10.244.1.5", "", "", ""},
		{"99.0.96.10.in-addr.arpa.", dns.TypePTR, dns.RcodeNameError, "",
			"96.10.in-addr.arpa. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5", "", ""},
		{"nope.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, "", soa, "", ""},
		{"my-nginx.nope.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, "", soa, "", ""},
		{"default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, "", soa, "", ""},
		{"svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, "", soa, "", ""},
		{"cluster.local.", dns.TypeSOA, dns.RcodeSuccess, soa, "", "", ""},
		{"cluster.local.", dns.TypeNS, dns.RcodeSuccess, "", soa, "", ""},
		// Search-list expansions of external names end here, at once.
		{"example.org.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, "", soa, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+dns.TypeToString[tt.qtype], func(t *testing.T) {
			a := z.lookup(dns.Question{Name: tt.name, Qtype: tt.qtype, Qclass: dns.ClassINET})
			if a.rcode != tt.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[a.rcode], dns.RcodeToString[tt.rcode])
			}
			for _, c := range []struct{ sec, got, want string }{
				{"answer", strs(a.answer), tt.answer}, {"authority", strs(a.ns), tt.ns}, {"additional", strs(a.extra), tt.extra},
				{"chase", a.chase, tt.chase}} {
				if c.got != c.want {
					t.Errorf("%s:\n%s\nwant:\n%s", c.sec, c.got, c.want)
				}
			}
		})
	}
}

func TestZoneAuthoritative(t *testing.T) {
	z := buildZone(testRecords(), "cluster.local.", 1)
	tests := []struct {
		name string
		want bool
	}{
		{"cluster.local.", true},
		{"anything.cluster.local.", true},
		{"example.org.", false},
		{"local.", false},
		{"20.0.96.10.in-addr.arpa.", true},   // a ClusterIP
		{"99.0.96.10.in-addr.arpa.", true},   // inside serviceCIDR
		{"1.2.168.192.in-addr.arpa.", false}, // someone else's
		{"96.10.in-addr.arpa.", false},       // partial names go upstream
	}
	for _, tt := range tests {
		if got := z.authoritative(tt.name); got != tt.want {
			t.Errorf("authoritative(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestZoneDomainAndUnloaded(t *testing.T) {
	z := buildZone(&Records{Domain: "Corp.Example", Services: []Service{{Namespace: "a", Name: "b", Type: "ClusterIP", ClusterIP: "10.0.0.1"}}}, "cluster.local.", 1)
	if a := z.lookup(dns.Question{Name: "b.a.svc.corp.example.", Qtype: dns.TypeA, Qclass: dns.ClassINET}); len(a.answer) != 1 {
		t.Errorf("records domain not used: %+v", a)
	}
	if z.authoritative("b.a.svc.cluster.local.") {
		t.Error("default domain still served")
	}
	e := emptyZone("cluster.local.")
	if a := e.lookup(dns.Question{Name: "x.cluster.local.", Qtype: dns.TypeA, Qclass: dns.ClassINET}); a.rcode != dns.RcodeServerFailure {
		t.Errorf("before the first load: %s, want SERVFAIL", dns.RcodeToString[a.rcode])
	}
}

func TestRecordsCheck(t *testing.T) {
	tests := []struct {
		name string
		r    Records
		want string
	}{
		{"ok", *testRecords(), ""},
		{"bad domain", Records{Domain: "a..b"}, `domain "a..b" is not a DNS name`},
		{"bad cidr", Records{ServiceCIDR: "10.0.0.0/33"}, `serviceCIDR "10.0.0.0/33" is not an IPv4 CIDR`},
		{"bad name", Records{Services: []Service{{Namespace: "default", Name: "My_Svc", ClusterIP: "10.0.0.1"}}},
			"services[0] (default/My_Svc): namespace and name must be DNS labels"},
		{"bad clusterIP", Records{Services: []Service{{Namespace: "default", Name: "a", ClusterIP: "fd00::1"}}},
			`services[0] (default/a): clusterIP "fd00::1" is not an IPv4 address or None`},
		{"bad externalName", Records{Services: []Service{{Namespace: "default", Name: "a", Type: "ExternalName", ExternalName: "-x"}}},
			`services[0] (default/a): externalName "-x" is not a DNS name`},
		{"duplicate", Records{Services: []Service{{Namespace: "default", Name: "a", ClusterIP: "None"}, {Namespace: "default", Name: "a", ClusterIP: "None"}}},
			"services[1] (default/a): the same Service as services[0]"},
		{"bad endpoint", Records{Services: []Service{{Namespace: "default", Name: "a", ClusterIP: "None", Endpoints: []Endpoint{{IP: "x"}}}}},
			`services[0] (default/a): endpoints[0]: ip "x" is not an IPv4 address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Check()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRecordsJSONRoundTrip(t *testing.T) {
	r := testRecords()
	r.Services[0], r.Services[5] = r.Services[5], r.Services[0]
	b := r.JSON()
	path := t.TempDir() + "/records.json"
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := ReadRecords(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.JSON(), b) {
		t.Errorf("not a fixed point:\n%s", b)
	}
	if back.Services[0].Name != "alias" || back.Services[5].Namespace != "other" {
		t.Errorf("not sorted: %s/%s first", back.Services[0].Namespace, back.Services[0].Name)
	}
	if eps := back.Services[1].Endpoints; eps[0].IP != "10.244.1.9" {
		t.Errorf("endpoints not sorted by address: %v", eps)
	}
	// Unknown fields are a writer/reader version mismatch, not ignored.
	if err := os.WriteFile(path, []byte(`{"services": [], "zones": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRecords(path); err == nil || !strings.Contains(err.Error(), `unknown field "zones"`) {
		t.Errorf("unknown field: %v", err)
	}
}

// ExternalName Services pointing at each other inside the zone end in
// SERVFAIL after a few hops instead of looping.
func TestZoneCNAMELoop(t *testing.T) {
	z := buildZone(&Records{Services: []Service{
		{Namespace: "default", Name: "a", Type: "ExternalName", ExternalName: "b.default.svc.cluster.local"},
		{Namespace: "default", Name: "b", Type: "ExternalName", ExternalName: "a.default.svc.cluster.local"},
	}}, "cluster.local.", 1)
	a := z.lookup(dns.Question{Name: "a.default.svc.cluster.local.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
	if a.rcode != dns.RcodeServerFailure {
		t.Errorf("loop: %s with %d records", dns.RcodeToString[a.rcode], len(a.answer))
	}
}
