package clusterdns

import (
	"net"
	"sort"
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
