package clusterdns

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The fast path answers like the full path: same rcode and records, the
// query's ID and question spelling, and the cache is per zone snapshot.
func TestAnswerCache(t *testing.T) {
	e := startServer(t, testRecords(), Config{PollInterval: 50 * time.Millisecond})
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	query := func(name string, qtype uint16, edns bool) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		if edns {
			m.SetEdns0(1232, false)
		}
		r, _, err := c.Exchange(m, e.addr) // checks the ID
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Question[0].Name != name {
			t.Errorf("question %q, want %q", r.Question[0].Name, name)
		}
		return r
	}
	for i := 0; i < 2; i++ { // miss, then hit
		if r := query("my-nginx.default.svc.cluster.local.", dns.TypeA, true); strings.Join(values(r), ",") != "10.96.0.20" || r.IsEdns0() == nil {
			t.Errorf("A: %v", r)
		}
		r := query("MY-nginx.Default.svc.cluster.local.", dns.TypeA, false)
		if strings.Join(values(r), ",") != "10.96.0.20" || r.Answer[0].Header().Name != "MY-nginx.Default.svc.cluster.local." {
			t.Errorf("0x20: %v", r)
		}
		if r := query("nope.default.svc.cluster.local.", dns.TypeA, false); r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA {
			t.Errorf("NXDOMAIN: %v", r)
		}
		if r := query("my-nginx.default.svc.cluster.local.", dns.TypeAAAA, false); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 {
			t.Errorf("NODATA: %v", r)
		}
	}
	if n := e.srv.zone.Load().answers.len(); n != 4 {
		t.Errorf("%d cached answers, want 4 (name, EDNS/no, NXDOMAIN, NODATA)", n)
	}
	// A reload replaces the zone and its cache.
	r := testRecords()
	r.Services[0].ClusterIP = "10.96.0.21"
	writeRecords(t, e.records, r)
	deadline := time.Now().Add(3 * time.Second)
	for strings.Join(values(query("my-nginx.default.svc.cluster.local.", dns.TypeA, true)), ",") != "10.96.0.21" {
		if time.Now().After(deadline) {
			t.Fatal("old answer after reload")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Over 512 bytes without EDNS the cached answer is the truncated one.
func TestAnswerCacheTruncates(t *testing.T) {
	r := &Records{Services: []Service{{Namespace: "default", Name: "many", Type: "ClusterIP", ClusterIP: "None"}}}
	for i := 0; i < 60; i++ {
		r.Services[0].Endpoints = append(r.Services[0].Endpoints, Endpoint{IP: fmt.Sprintf("10.244.0.%d", i+1)})
	}
	e := startServer(t, r, Config{})
	for i := 0; i < 2; i++ {
		small := ask(t, e.addr, "udp", "many.default.svc.cluster.local.", dns.TypeA)
		if !small.Truncated || len(small.Answer) >= 60 {
			t.Errorf("no EDNS: truncated %v, %d answers", small.Truncated, len(small.Answer))
		}
		m := new(dns.Msg)
		m.SetQuestion("many.default.svc.cluster.local.", dns.TypeA)
		m.SetEdns0(4096, false)
		big, _, err := (&dns.Client{Net: "udp", UDPSize: 4096}).Exchange(m, e.addr)
		if err != nil || big.Truncated || len(big.Answer) != 60 {
			t.Errorf("EDNS 4096: %v %v", big, err)
		}
	}
}

// Names outside the zone never enter the answer cache.
func TestAnswerCacheSkipsForwarded(t *testing.T) {
	u := startUpstream(t, 0)
	e := startServer(t, testRecords(), Config{UpstreamPort: u.port()})
	writeResolvConf(t, e.resolv, "127.0.0.1")
	time.Sleep(600 * time.Millisecond)
	for i := 0; i < 2; i++ {
		if r := ask(t, e.addr, "udp", "www.example.org.", dns.TypeA); strings.Join(values(r), ",") != "10.9.8.7" {
			t.Errorf("forwarded: %v", r)
		}
	}
	if n := e.srv.zone.Load().answers.len(); n != 0 {
		t.Errorf("%d cached answers for a forwarded name", n)
	}
}

// The answer path alone, next to miekg's unpack and pack of the same query.
func BenchmarkAnswerPath(b *testing.B) {
	z := buildZone(testRecords(), "cluster.local.", 1)
	m := new(dns.Msg)
	m.SetQuestion("my-nginx.default.svc.cluster.local.", dns.TypeA)
	m.SetEdns0(1232, false)
	pkt, _ := m.Pack()
	b.Run("cache", func(b *testing.B) {
		key, out := make([]byte, 0, 300), make([]byte, 0, 512)
		b.ReportAllocs()
		for b.Loop() {
			k, end, ok := queryKey(pkt, key)
			wire := cachedAnswer(z, pkt, k, end)
			if !ok || wire == nil {
				b.Fatal("not cached")
			}
			out = patch(out, wire, pkt, end)
		}
	})
	b.Run("miekg", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := new(dns.Msg)
			if err := r.Unpack(pkt); err != nil {
				b.Fatal(err)
			}
			a, _ := z.reply(r)
			finish(a, r, true)
			if _, err := a.Pack(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
