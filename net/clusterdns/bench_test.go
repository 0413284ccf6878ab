package clusterdns

import (
	"net"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// benchQueries sends b.N queries for a cluster name from clients UDP
// sockets and reports queries/s and the p50/p99 round trip.
func benchQueries(b *testing.B, clients int, name string, rcode byte) {
	e := startServer(b, testRecords(), Config{})
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	req, err := m.Pack()
	if err != nil {
		b.Fatal(err)
	}
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	per := b.N/clients + 1
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("udp", e.addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer conn.Close()
			buf := make([]byte, 1500)
			lat[c] = make([]time.Duration, 0, per)
			for i := 0; i < per; i++ {
				t0 := time.Now()
				conn.SetDeadline(t0.Add(time.Second))
				if _, err := conn.Write(req); err != nil {
					b.Error(err)
					return
				}
				n, err := conn.Read(buf)
				if err != nil {
					b.Error(err)
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
				if n < 12 || buf[3]&0xf != rcode {
					b.Errorf("bad answer (%d bytes, rcode %d)", n, buf[3]&0xf)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "queries/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
}

func BenchmarkClusterA(b *testing.B) {
	benchQueries(b, 1, "my-nginx.default.svc.cluster.local.", dns.RcodeSuccess)
}

func BenchmarkClusterAParallel(b *testing.B) {
	benchQueries(b, 8, "my-nginx.default.svc.cluster.local.", dns.RcodeSuccess)
}

// A search-list miss: what every external lookup from a pod costs first.
func BenchmarkClusterNXDOMAIN(b *testing.B) {
	benchQueries(b, 1, "example.org.default.svc.cluster.local.", dns.RcodeNameError)
}

func BenchmarkZoneLookup(b *testing.B) {
	z := buildZone(testRecords(), "cluster.local.", 1)
	q := dns.Question{Name: "my-nginx.default.svc.cluster.local.", Qtype: dns.TypeA, Qclass: dns.ClassINET}
	b.ReportAllocs()
	for b.Loop() {
		z.lookup(q)
	}
}

// Reload cost of a large cluster: 2000 Services, half headless, 3 pods each.
func BenchmarkBuildZone(b *testing.B) {
	r := &Records{ServiceCIDR: "10.96.0.0/16", PodCIDR: "10.244.0.0/16"}
	for i := 0; i < 2000; i++ {
		s := Service{Namespace: "ns" + strconv.Itoa(i%20), Name: "svc" + strconv.Itoa(i), Type: "ClusterIP",
			ClusterIP: netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)}).String(),
			Ports:     []Port{{Name: "http", Protocol: "TCP", Port: 80}}}
		if i%2 == 1 {
			s.ClusterIP = "None"
		}
		for j := 0; j < 3; j++ {
			s.Endpoints = append(s.Endpoints, Endpoint{IP: netip.AddrFrom4([4]byte{10, 244, byte(i >> 4), byte(i&15)<<4 | byte(j)}).String()})
		}
		r.Services = append(r.Services, s)
	}
	b.ReportAllocs()
	for b.Loop() {
		buildZone(r, "cluster.local.", 1)
	}
}
