package clusterdns

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// writeRecords replaces the records file the way the agent does: a new
// file renamed over the old one.
func writeRecords(t testing.TB, path string, r *Records) {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func writeResolvConf(t testing.TB, path string, servers ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# test\nsearch example.com\noptions ndots:1\n")
	for _, s := range servers {
		b.WriteString("nameserver " + s + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

type testEnv struct {
	dir, records, resolv string
	addr                 string
	srv                  *Server
}

// startServer runs a server on a free loopback port until the test ends.
func startServer(t testing.TB, r *Records, cfg Config) *testEnv {
	t.Helper()
	dir := t.TempDir()
	e := &testEnv{dir: dir, records: filepath.Join(dir, "records.json"), resolv: filepath.Join(dir, "resolv.conf")}
	if r != nil {
		writeRecords(t, e.records, r)
	}
	if _, err := os.Stat(e.resolv); err != nil {
		writeResolvConf(t, e.resolv)
	}
	if cfg.Listen == nil {
		cfg.Listen = []string{"127.0.0.1:0"}
	}
	cfg.RecordsFile = e.records
	if cfg.ResolvConf == "" {
		cfg.ResolvConf = e.resolv
	}
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		s.Wait()
	})
	e.srv, e.addr = s, s.Addrs()[0]
	return e
}

func ask(t testing.TB, addr, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return r
}

// values are the answer's data, sorted: A addresses, SRV "port target",
// PTR and CNAME targets.
func values(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		switch r := rr.(type) {
		case *dns.A:
			out = append(out, r.A.String())
		case *dns.SRV:
			out = append(out, fmt.Sprintf("%d %s", r.Port, r.Target))
		case *dns.PTR:
			out = append(out, r.Ptr)
		case *dns.CNAME:
			out = append(out, "CNAME "+r.Target)
		default:
			out = append(out, rr.String())
		}
	}
	sort.Strings(out)
	return out
}

// upstream is a second miekg/dns server on loopback standing in for the
// host's resolver.
type upstream struct {
	addr    string
	queries atomic.Int32
	delay   time.Duration
}

func startUpstream(t testing.TB, delay time.Duration) *upstream {
	t.Helper()
	u := &upstream{delay: delay}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		u.queries.Add(1)
		time.Sleep(u.delay)
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		switch strings.ToLower(q.Name) {
		case "example.org.", "www.example.org.":
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(10, 9, 8, 7)})
			}
		case "big.example.org.":
			// More than 1232 bytes: truncated over UDP, whole over TCP.
			for i := 0; i < 100; i++ {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(10, 9, 0, byte(i))})
			}
		default:
			m.Rcode = dns.RcodeNameError
			m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "org.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 30},
				Ns: "a.org.", Mbox: "h.org.", Serial: 1, Refresh: 1, Retry: 1, Expire: 1, Minttl: 10}}
		}
		if _, udp := w.LocalAddr().(*net.UDPAddr); udp {
			size := dns.MinMsgSize
			if o := r.IsEdns0(); o != nil {
				size = int(o.UDPSize())
			}
			m.Truncate(size)
		}
		w.WriteMsg(m)
	})
	pc, l := listenGo(t)
	u.addr = pc.LocalAddr().String()
	var started sync.WaitGroup
	var servers []*dns.Server
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: l, Handler: h}} {
		started.Add(1)
		s.NotifyStartedFunc = started.Done
		servers = append(servers, s)
		go s.ActivateAndServe()
	}
	started.Wait()
	t.Cleanup(func() {
		for _, s := range servers {
			s.Shutdown()
		}
	})
	return u
}

func (u *upstream) port() string {
	_, p, _ := net.SplitHostPort(u.addr)
	return p
}

func TestServeClusterNames(t *testing.T) {
	u := startUpstream(t, 0)
	e := startServer(t, testRecords(), Config{UpstreamPort: u.port()})
	writeResolvConf(t, e.resolv, "127.0.0.1")
	time.Sleep(600 * time.Millisecond) // the poll picks up resolv.conf
	tests := []struct {
		name  string
		qtype uint16
		rcode int
		want  []string
	}{
		{"my-nginx.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"10.96.0.20"}},
		{"api.other.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"10.96.0.30"}},
		{"db.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"10.244.1.9", "10.244.2.7"}},
		{"db-0.db.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"10.244.2.7"}},
		{"_pg._tcp.db.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess,
			[]string{"5432 db-0.db.default.svc.cluster.local.", "6543 10-244-1-9.db.default.svc.cluster.local."}},
		{"_http._tcp.my-nginx.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess, []string{"80 my-nginx.default.svc.cluster.local."}},
		{"20.0.96.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, []string{"my-nginx.default.svc.cluster.local."}},
		{"7.2.244.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, []string{"db-0.db.default.svc.cluster.local."}},
		{"ext.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"10.9.8.7", "CNAME example.org."}},
		{"ext.default.svc.cluster.local.", dns.TypeCNAME, dns.RcodeSuccess, []string{"CNAME example.org."}},
		{"my-nginx.default.svc.cluster.local.", dns.TypeAAAA, dns.RcodeSuccess, nil},
		{"nope.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil},
		{"www.example.org.", dns.TypeA, dns.RcodeSuccess, []string{"10.9.8.7"}},
		{"nope.example.org.", dns.TypeA, dns.RcodeNameError, nil},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name+"/"+dns.TypeToString[tt.qtype], func(t *testing.T) {
				r := ask(t, e.addr, network, tt.name, tt.qtype)
				if r.Rcode != tt.rcode {
					t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
				}
				if got := values(r); strings.Join(got, ",") != strings.Join(tt.want, ",") {
					t.Errorf("answer %q, want %q", got, tt.want)
				}
				if inCluster := strings.HasSuffix(tt.name, "cluster.local.") || strings.HasSuffix(tt.name, "in-addr.arpa."); r.Authoritative != inCluster {
					t.Errorf("authoritative %v", r.Authoritative)
				}
				if len(r.Answer) == 0 && tt.rcode != dns.RcodeServerFailure {
					if len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA {
						t.Errorf("negative answer without an SOA: %v", r.Ns)
					}
				}
			})
		}
	}
}

// An unknown cluster name must be NXDOMAIN at once: a pod's search list
// tries <name>.<ns>.svc.cluster.local first for every external name.
func TestNXDOMAINIsFast(t *testing.T) {
	e := startServer(t, testRecords(), Config{})
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	var worst time.Duration
	for i := 0; i < 50; i++ {
		m := new(dns.Msg)
		m.SetQuestion(fmt.Sprintf("nope-%d.default.svc.cluster.local.", i), dns.TypeA)
		start := time.Now()
		r, _, err := c.Exchange(m, e.addr)
		d := time.Since(start)
		if err != nil || r.Rcode != dns.RcodeNameError {
			t.Fatalf("got %v, %v", r, err)
		}
		worst = max(worst, d)
	}
	if worst > 50*time.Millisecond {
		t.Errorf("slowest NXDOMAIN took %v, want under 50ms", worst)
	}
	t.Logf("slowest of 50 NXDOMAIN answers: %v", worst)
}

func TestHeadlessTruncatesOverUDP(t *testing.T) {
	r := &Records{Services: []Service{{Namespace: "default", Name: "many", Type: "ClusterIP", ClusterIP: "None"}}}
	for i := 0; i < 200; i++ {
		r.Services[0].Endpoints = append(r.Services[0].Endpoints, Endpoint{IP: fmt.Sprintf("10.244.%d.%d", i/250, i%250+1)})
	}
	e := startServer(t, r, Config{})
	udp := ask(t, e.addr, "udp", "many.default.svc.cluster.local.", dns.TypeA)
	if !udp.Truncated || len(udp.Answer) >= 200 {
		t.Errorf("UDP: truncated %v with %d answers", udp.Truncated, len(udp.Answer))
	}
	if tcp := ask(t, e.addr, "tcp", "many.default.svc.cluster.local.", dns.TypeA); tcp.Truncated || len(tcp.Answer) != 200 {
		t.Errorf("TCP: truncated %v with %d answers", tcp.Truncated, len(tcp.Answer))
	}
}

// Rewriting the records file while clients query must never fail a query
// nor give a mix of two files; the last file is served within the poll.
func TestReloadWhileQuerying(t *testing.T) {
	two := testRecords()
	one := testRecords()
	one.Services[1].Endpoints = one.Services[1].Endpoints[:1] // the pod on node-1 was killed
	e := startServer(t, two, Config{PollInterval: 50 * time.Millisecond})
	valid := map[string]bool{"10.244.1.9,10.244.2.7": true, "10.244.2.7": true}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var queries atomic.Int64
	errs := make(chan string, 100)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Net: "udp", Timeout: time.Second}
			for ctx.Err() == nil {
				m := new(dns.Msg)
				m.SetQuestion("db.default.svc.cluster.local.", dns.TypeA)
				r, _, err := c.Exchange(m, e.addr)
				queries.Add(1)
				switch {
				case err != nil:
					errs <- err.Error()
				case r.Rcode != dns.RcodeSuccess || !valid[strings.Join(values(r), ",")]:
					errs <- fmt.Sprintf("%s %v", dns.RcodeToString[r.Rcode], values(r))
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		if i%2 == 0 {
			writeRecords(t, e.records, one)
		} else {
			writeRecords(t, e.records, two)
		}
		time.Sleep(30 * time.Millisecond)
	}
	writeRecords(t, e.records, one)
	written := time.Now()
	for {
		r := ask(t, e.addr, "udp", "db.default.svc.cluster.local.", dns.TypeA)
		if strings.Join(values(r), ",") == "10.244.2.7" {
			break
		}
		if time.Since(written) > 2*time.Second {
			t.Fatalf("still %v 2s after the pod left the records file", values(r))
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("killed pod gone from the answers %v after the write", time.Since(written).Round(time.Millisecond))
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d queries during 21 reloads", queries.Load())
}

// The default poll interval is what production runs with: the 2s budget
// for a dead pod holds with room for the agent's own delay.
func TestReloadDefaultInterval(t *testing.T) {
	r := testRecords()
	e := startServer(t, r, Config{})
	r.Services[1].Endpoints = nil
	writeRecords(t, e.records, r)
	start := time.Now()
	for len(ask(t, e.addr, "udp", "db.default.svc.cluster.local.", dns.TypeA).Answer) != 0 {
		if time.Since(start) > time.Second {
			t.Fatal("not reloaded within 1s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBadRecordsFileKeepsLastZone(t *testing.T) {
	e := startServer(t, testRecords(), Config{PollInterval: 20 * time.Millisecond})
	if err := os.WriteFile(e.records, []byte(`{"services": [{"namespace": "default", "name": "x", "clusterIP": "bogus"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if r := ask(t, e.addr, "udp", "my-nginx.default.svc.cluster.local.", dns.TypeA); len(r.Answer) != 1 {
		t.Errorf("bad file replaced the zone: %v", r)
	}
}

func TestNoRecordsFileYet(t *testing.T) {
	e := startServer(t, nil, Config{PollInterval: 20 * time.Millisecond})
	if r := ask(t, e.addr, "udp", "my-nginx.default.svc.cluster.local.", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("before the first records file: %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
	writeRecords(t, e.records, testRecords())
	time.Sleep(100 * time.Millisecond)
	if r := ask(t, e.addr, "udp", "my-nginx.default.svc.cluster.local.", dns.TypeA); len(r.Answer) != 1 {
		t.Errorf("after it appeared: %v", r)
	}
}

func TestForwardCache(t *testing.T) {
	u := startUpstream(t, 0)
	e := startServer(t, testRecords(), Config{UpstreamPort: u.port(), PollInterval: 20 * time.Millisecond})
	writeResolvConf(t, e.resolv, "127.0.0.1")
	time.Sleep(100 * time.Millisecond)

	first := ask(t, e.addr, "udp", "www.example.org.", dns.TypeA)
	time.Sleep(1100 * time.Millisecond)
	second := ask(t, e.addr, "udp", "WWW.example.org.", dns.TypeA)
	if n := u.queries.Load(); n != 1 {
		t.Errorf("upstream asked %d times, want 1 (the second from the cache)", n)
	}
	if len(second.Answer) != 1 || second.Answer[0].Header().Ttl >= first.Answer[0].Header().Ttl {
		t.Errorf("cached TTL not counted down: %v then %v", first.Answer, second.Answer)
	}
	// Negative answers are cached for the SOA's negative TTL too.
	ask(t, e.addr, "udp", "nope.example.org.", dns.TypeA)
	ask(t, e.addr, "udp", "nope.example.org.", dns.TypeA)
	if n := u.queries.Load(); n != 2 {
		t.Errorf("upstream asked %d times, want 2", n)
	}
}

func TestForwardTCPFallback(t *testing.T) {
	u := startUpstream(t, 0)
	e := startServer(t, testRecords(), Config{UpstreamPort: u.port(), PollInterval: 20 * time.Millisecond})
	writeResolvConf(t, e.resolv, "127.0.0.1")
	time.Sleep(100 * time.Millisecond)
	if r := ask(t, e.addr, "tcp", "big.example.org.", dns.TypeA); len(r.Answer) != 100 || r.Truncated {
		t.Errorf("got %d answers, truncated %v, want all 100 through the upstream's TCP", len(r.Answer), r.Truncated)
	}
	if r := ask(t, e.addr, "udp", "big.example.org.", dns.TypeA); !r.Truncated {
		t.Errorf("UDP answer of %d records not truncated", len(r.Answer))
	}
}

func TestForwardFailures(t *testing.T) {
	u := startUpstream(t, 0)
	silent := startUpstream(t, time.Second) // longer than the forward timeout
	self := freePort(t)
	tests := []struct {
		name    string
		servers []string
		port    string
		want    int
		maxTime time.Duration
	}{
		// A closed port: ICMP refusal, SERVFAIL at once.
		{"upstream down", []string{"127.0.0.1"}, "1", dns.RcodeServerFailure, time.Second},
		{"upstream silent", []string{"127.0.0.1"}, silent.port(), dns.RcodeServerFailure, time.Second},
		// resolv.conf names only the cluster DNS itself: no loop.
		{"only itself", []string{"127.0.0.1"}, self, dns.RcodeServerFailure, 100 * time.Millisecond},
		{"first down, second answers", []string{"127.0.0.2", "127.0.0.1"}, u.port(), dns.RcodeSuccess, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resolv := filepath.Join(t.TempDir(), "resolv.conf")
			writeResolvConf(t, resolv, tt.servers...)
			e := startServer(t, testRecords(), Config{Listen: []string{"127.0.0.1:" + self}, ResolvConf: resolv,
				UpstreamPort: tt.port, ForwardTimeout: 300 * time.Millisecond})
			start := time.Now()
			r := ask(t, e.addr, "udp", "www.example.org.", dns.TypeA)
			if r.Rcode != tt.want {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.want])
			}
			if d := time.Since(start); d > tt.maxTime {
				t.Errorf("took %v", d)
			}
		})
	}
}

// freePort finds a port free on UDP and TCP on 127.0.0.1.
func freePort(t testing.TB) string {
	t.Helper()
	pc, l, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc.close()
	l.Close()
	_, p, _ := net.SplitHostPort(pc.laddr.String())
	return p
}

// listenGo binds Go's own UDP and TCP sockets on one free port of
// 127.0.0.1, for a test upstream served by dns.Server.
func listenGo(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	for try := 0; ; try++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l
		}
		pc.Close()
		if try == 10 {
			t.Fatal(err)
		}
	}
}

func TestForwardConcurrencyBound(t *testing.T) {
	u := startUpstream(t, 300*time.Millisecond)
	e := startServer(t, testRecords(), Config{UpstreamPort: u.port(), MaxForwards: 1, PollInterval: 20 * time.Millisecond})
	writeResolvConf(t, e.resolv, "127.0.0.1")
	time.Sleep(100 * time.Millisecond)
	slow := make(chan *dns.Msg)
	go func() {
		m := new(dns.Msg)
		m.SetQuestion("www.example.org.", dns.TypeA)
		r, _, _ := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, e.addr)
		slow <- r
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if r := ask(t, e.addr, "udp", "example.org.", dns.TypeA); r.Rcode != dns.RcodeServerFailure || time.Since(start) > 100*time.Millisecond {
		t.Errorf("second forward while the only slot is busy: %s after %v, want SERVFAIL at once", dns.RcodeToString[r.Rcode], time.Since(start))
	}
	// Cluster names do not wait for upstream slots.
	if r := ask(t, e.addr, "udp", "my-nginx.default.svc.cluster.local.", dns.TypeA); len(r.Answer) != 1 {
		t.Errorf("cluster name while forwarding is saturated: %v", r)
	}
	if r := <-slow; r == nil || len(r.Answer) != 1 {
		t.Errorf("slow forward: %v", r)
	}
}

func TestCacheBounded(t *testing.T) {
	c := newCache(3, time.Minute)
	now := time.Now()
	for i := 0; i < 10; i++ {
		m := new(dns.Msg)
		m.SetQuestion(fmt.Sprintf("n%d.example.", i), dns.TypeA)
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: m.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 600}, A: net.IPv4(10, 0, 0, 1)}}
		c.put(keyOf(m.Question[0], false), m, now)
		if c.len() > 3 {
			t.Fatalf("%d entries, bound 3", c.len())
		}
	}
	// maxTTL caps a long TTL.
	m := new(dns.Msg)
	m.SetQuestion("n9.example.", dns.TypeA)
	if c.get(keyOf(m.Question[0], false), now.Add(61*time.Second)) != nil {
		t.Error("entry outlived maxTTL")
	}
	// SERVFAIL and answers with TTL 0 are not kept.
	m.Rcode = dns.RcodeServerFailure
	if cacheTTL(m) != 0 {
		t.Error("SERVFAIL cacheable")
	}
}

func TestShutdown(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	cfg := Config{Listen: []string{"127.0.0.1:0"}, RecordsFile: filepath.Join(dir, "r.json"), ResolvConf: filepath.Join(dir, "resolv.conf"), Logf: t.Logf}
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addrs()[0]
	go func() { s.Wait(); done <- nil }()
	cancel()
	select {
	case <-done:
	case <-time.After(6 * time.Second):
		t.Fatal("no shutdown")
	}
	// The port is free again.
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port still held: %v", err)
	}
	l.Close()
}

func TestListenAddressRefused(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:53", "[::]:53", ":53", "localhost:53", "10.0.0.1"} {
		if _, err := Start(context.Background(), Config{Listen: []string{addr}, Logf: t.Logf}); err == nil {
			t.Errorf("%s accepted", addr)
		}
	}
}

// Go's own stub resolver, a strict client, accepts the answers as a pod's
// libc would.
func TestGoResolver(t *testing.T) {
	e := startServer(t, testRecords(), Config{})
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, e.addr)
	}}
	ctx := context.Background()
	addrs, err := r.LookupHost(ctx, "db.default.svc.cluster.local.")
	if sort.Strings(addrs); err != nil || strings.Join(addrs, ",") != "10.244.1.9,10.244.2.7" {
		t.Errorf("LookupHost headless: %v %v", addrs, err)
	}
	_, srvs, err := r.LookupSRV(ctx, "pg", "tcp", "db.default.svc.cluster.local.")
	if err != nil || len(srvs) != 2 {
		t.Errorf("LookupSRV: %v %v", srvs, err)
	}
	names, err := r.LookupAddr(ctx, "10.96.0.20")
	if err != nil || len(names) != 1 || names[0] != "my-nginx.default.svc.cluster.local." {
		t.Errorf("LookupAddr: %v %v", names, err)
	}
	cname, err := r.LookupCNAME(ctx, "alias.default.svc.cluster.local.")
	if err != nil || cname != "my-nginx.default.svc.cluster.local." {
		t.Errorf("LookupCNAME: %q %v", cname, err)
	}
	_, err = r.LookupHost(ctx, "nope.default.svc.cluster.local.")
	if de, ok := err.(*net.DNSError); !ok || !de.IsNotFound {
		t.Errorf("unknown name: %v, want not found", err)
	}
}
