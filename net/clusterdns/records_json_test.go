package clusterdns

import (
	"bytes"
	"encoding/json"
	"math"
	"net/netip"
	"strconv"
	"testing"

	"github.com/reconcile-dev/reconcile/internal/jsonindent"
	"github.com/reconcile-dev/reconcile/internal/jsonindent/gen"
)

func checkRecordsJSON(t *testing.T, r *Records) {
	t.Helper()
	want, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.appendJSON(nil); !bytes.Equal(got, want) {
		t.Fatalf("appendJSON(%#v) =\n%s\nwant\n%s", r, got, want)
	}
}

// Each omitempty field empty and not, nil against empty slices, zero and
// extreme ports, and strings that need escaping.
func TestRecordsJSONMatchesMarshal(t *testing.T) {
	for _, c := range []struct {
		name string
		r    *Records
	}{
		{"zero", &Records{}},
		{"no services", &Records{Services: []Service{}}},
		{"test records", testRecords()},
		{"large", recordsOf(20)},
		{"zero service", &Records{Domain: "cluster.local", Services: []Service{{}}}},
		{"empty ports and endpoints are left out", &Records{PodCIDR: "10.244.0.0/16",
			Services: []Service{{Ports: []Port{}, Endpoints: []Endpoint{}}, {Endpoints: []Endpoint{{Ports: []Port{}}, {}}}}}},
		{"ports", &Records{Services: []Service{{Ports: []Port{{}, {Port: math.MaxInt64}, {Port: math.MinInt64}, {Port: -1, Name: "n"}}}}}},
		{"escapes", &Records{Domain: "<d>", ServiceCIDR: "&", PodCIDR: "\u2028", Services: []Service{{
			Namespace: `"`, Name: `\`, Type: "\x00", ClusterIP: "\t\n\r\b\f", ExternalName: "\xff\xfe",
			Ports:     []Port{{Name: "é", Protocol: "\U0001F600"}},
			Endpoints: []Endpoint{{IP: "\x1f", Hostname: "\u2029", Pod: "\xc3(", Node: "</script>", Ports: []Port{{Name: "\x7f"}}}},
		}}}},
	} {
		t.Run(c.name, func(t *testing.T) { checkRecordsJSON(t, c.r) })
	}
}

// The records types have the fields appendJSON writes, and none marshals
// itself.
func TestRecordsJSONFields(t *testing.T) {
	err := gen.CheckFields(Records{}, map[string][]string{
		"Records":  {"domain,omitempty", "serviceCIDR,omitempty", "podCIDR,omitempty", "services"},
		"Service":  {"namespace", "name", "type", "clusterIP,omitempty", "externalName,omitempty", "ports,omitempty", "endpoints,omitempty"},
		"Port":     {"name,omitempty", "protocol", "port"},
		"Endpoint": {"ip", "hostname,omitempty", "pod,omitempty", "node,omitempty", "ports,omitempty"},
	})
	if err != nil {
		t.Error(err)
	}
}

// genRecords fills every field of the records types from fuzz input.
func genRecords(g *gen.Gen) *Records {
	r := &Records{Domain: g.String(), ServiceCIDR: g.String(), PodCIDR: g.String()}
	ports := func() []Port {
		n := g.Len()
		if n < 0 {
			return nil
		}
		ps := make([]Port, n)
		for i := range ps {
			ps[i] = Port{Name: g.String(), Protocol: g.String(), Port: int(g.Int64())}
		}
		return ps
	}
	if n := g.Len(); n >= 0 {
		r.Services = make([]Service, n)
		for i := range r.Services {
			s := Service{Namespace: g.String(), Name: g.String(), Type: g.String(),
				ClusterIP: g.String(), ExternalName: g.String(), Ports: ports()}
			if n := g.Len(); n >= 0 {
				s.Endpoints = make([]Endpoint, n)
				for j := range s.Endpoints {
					s.Endpoints[j] = Endpoint{IP: g.String(), Hostname: g.String(), Pod: g.String(), Node: g.String(), Ports: ports()}
				}
			}
			r.Services[i] = s
		}
	}
	return r
}

func FuzzRecordsJSON(f *testing.F) {
	for _, in := range gen.Seeds() {
		f.Add(in)
	}
	// The largest inputs of a 65 s run (go test -fuzz FuzzRecordsJSON), kept so
	// that every run covers what that one reached.
	f.Add([]byte("C\a00C\a\x130A7\x13\x01\x05\a\x13\x01%\a\x13\x01\x057\x13\x01\x05\a\x05\a7\x01\a\x05\a\x13\x01%\a\x13\x01\x0511007\x13\x04\x05\a\x13\x01%\a\x13\x01\x057\x13\x01\x05\a\x13\x01A7\x13\x01\x05\x13\x01\x057\x13\x01\x05\a\x13\x011000000007\x13\x01\x05\a\x13\x01%\a\x01\x05\a10000000007\x05\a\x13\x01\x05\a00$0000\a10000000012\aC\x01\x057\x13\x01\x13\x01\x05\a%\a\x13\x01\x057\x13\x01\x05\a\x13\x01A7\x13\x01\x05\a\x13\x017\a\x13\x01\x05\a\x130%\a\x13\x01\x057\x13\x01\x05\a\x13\x0107\x13\x01\x05\a\x13\x017\a\x13\x01\x05\a\x130%\a\x13\x01\x057\x13\x01\x05\a\x13\x01017\x01\x05\a\x13\x01\x057\x13\x01\x05\a\x13\x0107\x13\x01\x05\a\x13\x01%00\x01\x05\a11000000000000000000000000000"))
	f.Add([]byte("2\x030200AC0\xa60\x8100C0\x930070\xc90\xc10\xc100\x13\x02020&0\xc9\x020\xca\x040\x8e2\x0400%00\x1a00\x02%\a0\xc300\x0e00C0\x1f0\xdb20%0000000\x980A2\x05C0\xcd0\xec0&\x0600\x0f000\x810$0\xb20\xc100&0\x8e0\x1c000\xae0070\xbf\x0e000\xc70\xec\x0fC000\xec020\xc620\xc270\xe7\x1a00\x120\x960\xd0C0\xc5\fAC\x150\xf00070\x9a0000\x110\xda0\xed00000$0000\x16000700000\xd6000>0\xf9$\x0f0\xdf0\x92200X02\x1000&0\xee0\x8f0\xa70\xc00\xeb020\x8a200070000000000000$\x1b\x0e\x19C0\x820\xecC000\xac9C0\xb10\xe9&\v\a0\xe90\xa30\x9610000000\x90200010000000\xbe2000%0\xda\x0f0\xe300220\xcd0"))
	f.Add([]byte("00&\x10\x11\x12\x13\x149&\x17\x19\x1a\x1b\x052\x03C\x050\xb6C0\xe200&000\x89000000A200010000000\xdf0%0000\x160\xd010000000\xd90C00\x030200%0000000\xdf0A00$00\x0000C0\xb10020010000000\xa000$000000%0000\x01000%0\xf50\xaf000\xdb%0\xa70\xfe0\xdd00%00\x040\xf20\xb070\xda0\xc80\x8300\x0f\x0202\x12&0\xc5\v0\xd300\x0020\b$0\x9f\x060\xe8A0$0\xf200000%000\xde0\xdd\x17%0\xa90000\x1610000000\xf1000C0\xea0070\x8a000\xe5\f0\b"))
	f.Fuzz(func(t *testing.T, in []byte) {
		checkRecordsJSON(t, genRecords(gen.New(in)))
	})
}

// recordsOf is what the CLI writes for n Services of 3 ready pods each
// (reconcile's dnsRecords): an address, its ports, and per pod a hostname,
// pod and node name and the resolved target ports; every other one headless.
func recordsOf(n int) *Records {
	r := &Records{Domain: "cluster.local", ServiceCIDR: "10.96.0.0/16", PodCIDR: "10.244.0.0/16", Services: []Service{}}
	for i := range n {
		s := Service{Namespace: "default", Name: "svc-" + strconv.Itoa(i), Type: "ClusterIP",
			ClusterIP: netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)}).String(),
			Ports:     []Port{{Protocol: "TCP", Port: 80}}}
		if i%2 == 1 {
			s.ClusterIP = "None"
		}
		for j := range 3 {
			pod := "dep-0-7945d87985-0000" + strconv.Itoa(j)
			s.Endpoints = append(s.Endpoints, Endpoint{IP: netip.AddrFrom4([4]byte{10, 244, byte(j + 1), 2}).String(),
				Hostname: pod, Pod: pod, Node: "node-" + strconv.Itoa(j+1), Ports: []Port{{Protocol: "TCP", Port: 80}}})
		}
		r.Services = append(r.Services, s)
	}
	return r
}

func TestRecordsJSON2000Services(t *testing.T) {
	r := recordsOf(2000)
	got := r.JSON() // sorts r first
	want, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, append(want, '\n')) {
		t.Errorf("records of 2,000 Services: JSON() (%d bytes) differs from MarshalIndent's (%d bytes)", len(got), len(want)+1)
	}
}

// BenchmarkRecordsJSON encodes the records of 2,000 Services × 3 pods
// both ways: the reflection path the file had and the hand-written one;
// JSON is the whole of it, with its sorting.
func BenchmarkRecordsJSON(b *testing.B) {
	r := recordsOf(2000)
	b.Run("jsonindent.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jsonindent.Marshal(r, "  "); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.appendJSON(nil)
		}
	})
	b.Run("JSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.JSON()
		}
	})
}
