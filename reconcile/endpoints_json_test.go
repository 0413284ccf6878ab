package reconcile

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/reconcile-dev/reconcile/internal/jsonindent"
	"github.com/reconcile-dev/reconcile/internal/jsonindent/gen"
	"github.com/reconcile-dev/reconcile/net/clusterdns"
)

func checkEndpointsJSON(t *testing.T, l EndpointsList) {
	t.Helper()
	want, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if got := l.appendJSON(nil); !bytes.Equal(got, want) {
		t.Fatalf("appendJSON(%#v) =\n%s\nwant\n%s", l, got, want)
	}
}

// Each omitempty field empty and not, nil against empty slices and maps,
// zero and extreme ports, and strings that need escaping.
func TestEndpointsJSONMatchesMarshal(t *testing.T) {
	ref := &ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-abc-xyz"}
	addr := EndpointAddress{IP: "198.18.1.2", NodeName: "node-1", TargetRef: ref}
	port := EndpointPort{Name: "http", Port: 80, Protocol: "TCP"}
	item := func(m EndpointsMeta, subsets ...EndpointSubset) Endpoints {
		return Endpoints{APIVersion: "v1", Kind: "Endpoints", Metadata: m, Subsets: subsets}
	}
	meta := EndpointsMeta{Name: "web", Namespace: "default"}
	for _, c := range []struct {
		name string
		l    EndpointsList
	}{
		{"zero list", EndpointsList{}},
		{"no items", EndpointsList{APIVersion: "v1", Kind: "EndpointsList", Items: []Endpoints{}}},
		{"zero item", EndpointsList{Items: []Endpoints{{}}}},
		{"nil and empty subsets", EndpointsList{Items: []Endpoints{item(meta), {Metadata: meta, Subsets: []EndpointSubset{}}}}},
		{"zero subset", EndpointsList{Items: []Endpoints{item(meta, EndpointSubset{})}}},
		{"empty address lists are left out", EndpointsList{Items: []Endpoints{item(meta,
			EndpointSubset{Addresses: []EndpointAddress{}, NotReadyAddresses: []EndpointAddress{}, Ports: []EndpointPort{}})}}},
		{"ready and not ready", EndpointsList{Items: []Endpoints{item(meta,
			EndpointSubset{Addresses: []EndpointAddress{addr, {IP: "198.18.2.2"}}, NotReadyAddresses: []EndpointAddress{{IP: "198.18.3.2", TargetRef: &ObjectReference{}}},
				Ports: []EndpointPort{port, {Port: 0, Protocol: "UDP"}, {Port: -2147483648}, {Port: 2147483647}}},
			EndpointSubset{NotReadyAddresses: []EndpointAddress{addr}, Ports: []EndpointPort{{}}})}}},
		{"labels", EndpointsList{Items: []Endpoints{
			item(EndpointsMeta{Labels: map[string]string{}}),
			item(EndpointsMeta{Name: "a", Labels: map[string]string{"z": "1", "a": "2", "app.kubernetes.io/name": "web", "": "", "B": "upper"}}),
			item(EndpointsMeta{Labels: map[string]string{"a<b": "c&d", "\u2028": "\xff", "é": "\"q\"", "a": "\n"}}),
		}}},
		{"escapes", EndpointsList{APIVersion: "<v1>", Kind: "a&b", Items: []Endpoints{{APIVersion: "\x00", Kind: "\t",
			Metadata: EndpointsMeta{Name: "\u2029", Namespace: "\xc3("},
			Subsets: []EndpointSubset{{Addresses: []EndpointAddress{{IP: `\`, NodeName: `"`, TargetRef: &ObjectReference{Kind: "\x7f", Namespace: "日本", Name: "\U0001F600"}}},
				Ports: []EndpointPort{{Name: "</script>", Protocol: "\r\n"}}}}}}}},
	} {
		t.Run(c.name, func(t *testing.T) { checkEndpointsJSON(t, c.l) })
	}
}

// The endpoints types have the fields appendJSON writes, and none
// marshals itself.
func TestEndpointsJSONFields(t *testing.T) {
	err := gen.CheckFields(EndpointsList{}, map[string][]string{
		"EndpointsList":   {"apiVersion", "kind", "items"},
		"Endpoints":       {"apiVersion", "kind", "metadata", "subsets"},
		"EndpointsMeta":   {"name", "namespace", "labels,omitempty"},
		"EndpointSubset":  {"addresses,omitempty", "notReadyAddresses,omitempty", "ports"},
		"EndpointAddress": {"ip", "nodeName,omitempty", "targetRef,omitempty"},
		"ObjectReference": {"kind", "namespace", "name"},
		"EndpointPort":    {"name,omitempty", "port", "protocol"},
	})
	if err != nil {
		t.Error(err)
	}
}

// genEndpoints fills every field of the endpoints types from fuzz input.
func genEndpoints(g *gen.Gen) EndpointsList {
	l := EndpointsList{APIVersion: g.String(), Kind: g.String()}
	genSlice(g, &l.Items, func() Endpoints {
		ep := Endpoints{APIVersion: g.String(), Kind: g.String(),
			Metadata: EndpointsMeta{Name: g.String(), Namespace: g.String()}}
		if n := g.Len(); n >= 0 {
			ep.Metadata.Labels = map[string]string{}
			for range n {
				ep.Metadata.Labels[g.String()] = g.String()
			}
		}
		genSlice(g, &ep.Subsets, func() EndpointSubset {
			var s EndpointSubset
			addr := func() EndpointAddress {
				a := EndpointAddress{IP: g.String(), NodeName: g.String()}
				if g.Byte()%2 == 1 {
					a.TargetRef = &ObjectReference{Kind: g.String(), Namespace: g.String(), Name: g.String()}
				}
				return a
			}
			genSlice(g, &s.Addresses, addr)
			genSlice(g, &s.NotReadyAddresses, addr)
			genSlice(g, &s.Ports, func() EndpointPort {
				return EndpointPort{Name: g.String(), Port: int32(g.Int64()), Protocol: g.String()}
			})
			return s
		})
		return ep
	})
	return l
}

// genSlice leaves *s nil, makes it empty or fills it, as g chooses.
func genSlice[T any](g *gen.Gen, s *[]T, elem func() T) {
	n := g.Len()
	if n < 0 {
		return
	}
	*s = make([]T, 0, n)
	for range n {
		*s = append(*s, elem())
	}
}

func FuzzEndpointsJSON(f *testing.F) {
	for _, in := range gen.Seeds() {
		f.Add(in)
	}
	// The largest inputs of a 65 s run (go test -fuzz FuzzEndpointsJSON), kept so
	// that every run covers what that one reached.
	f.Add([]byte("%\x01\x05\a\x13097\x13\x01\x05\a\x13\x01%\a\x13\x01\x057\x13\x01\x05\a\x13\x01%\a\x13\x01\x05000%\a\x13\x01\x057\x13\x01\x05\a\x13\x01%\x01\x05\a\x130A110110A0C\x01\x131%\a\x13\x01\x057\x13\x01\x05\a\x13\x01%\a\x13\x01\x057\x13\x01\a\x13\x01\x057\x13\x01\x05\a\x13\x0117\x13\x01\x05\a\x13\x01%\a\x13\x01\x057\x13\x01\x05\a\x13\x01%\a\x13\x01\x057\x13\x01\x05\a\x13\x0117\x13\x01\x05\a\x13\x01%\a\x13\x01\x057\x13\x01\x05\a\x13\x01%\a\x13\x01\x057\x13\x01\x05\a\x13\x0117\x13\x01\x05\a\x13\x01%\a\x13\x01\x057\x13\x01\x05\a\x13\x01A7\x13\x01\x05\a\x13\x01%\a\x13\x01\x0117\x13\x01\x13\x01\x05\aC\x01\x057\x13\x01\x05\a\x13\x01%\a\x13\x01\x057\x13\x01\x01\x05\x13\x0117\x13\x01\x13\x01\x01\x057\x13\x0100\x13\x01\x057\x13\x01\x05\a\x13\x01$00\x01\x057\x13\x01\x05\a\x13\x0112\x137\a\x13\x01\x05\a\x13%\a\x13\x01\x057\x13"))
	f.Add([]byte("%\a\x13\x01\x057\x13\x01\x05\a\x13\x01A7\x13\x01\x05\a\x13\x01%\a\x13\x01\x057\x13\a\x13\x01\x05\a0A0C\a\x130C\a\x13000%\a\x13\x01\x05000%\a\x13\x01\x057\x13\x01\x13\x01\x13\x01A0C\x01\x057\x13\x01\x05\x01\x13\aC\x01\x137\x13\x01\x13\x01\x05\aC\x01\x130%\a\x13\x01\x051C\x01\x057\x13\x01\x13\x01\x05\aC\x01\x057\x13\x01\x05\a\x13\x01A7\x13\x01\x05\a\x13\x01C\x01\x057\x13\x01\x05\a\x13\x01C\x01\x057\x13\x01\x05\a\x13\x01C\x01\x057\x13\x01\x05\a\x13\x01%\a\x13\x01\x051C\x01\x057\x13\x01\x05\a\x13\x01%\a\x13\x01\x057\x13\x01\x05\a\x13\x01A7\a\x13\x01\x05\x13\x01700\x01"))
	f.Add([]byte("C\x03\x03C\x03\x032C\x03\x03C\x03\x03C\x03\x03C\x03\x039C\x03\x03C\x03\x03C\x03\x03C\x03\x0399C\x03\x03C\x03\x031C\x03\x03C\x03\x03C\x03\x03C\x03\x03C\x03\x031C\x03\x03C\x03\x03C\x03\x039C\x03\x03C\x03\x031C\x03\x03C\x03\x03C\x03\x03C\x03\x03C\x03\x031C\x03\x03C\x03\x03C\x03\x039C\x03\x03100000000C\x03\x03C\x03\x03100000000C\x03\x039C\x03\x03C\x03\x031C\x03\x03C\x03\x03C\x03\x03C\x03\x03C\x03\x031C\x03\x03C\x03\x03C\x03\x039C\x03\x03C\x03\x031C\x03\x03C\x03\x03C\x03\x03C\x03\x03C\x03\x031C\x03\x03C\x03\x03C\x03\x039C\x03\x0310000000"))
	f.Fuzz(func(t *testing.T, in []byte) {
		checkEndpointsJSON(t, genEndpoints(gen.New(in)))
	})
}

// states2000 is the lab bench's Service shape: 2,000 Services, each over
// the same 3 ready pods.
func states2000(tb testing.TB) (*Desired, []ServiceState) {
	d := benchDesired(tb, 1, 3, 2000)
	alloc, err := allocate(d.Services, d.Cluster.Spec.ServiceCIDR, Allocations{}, time.Unix(1700000000, 0).UTC())
	if err != nil {
		tb.Fatal(err)
	}
	states := serviceStates(d.Set, alloc, benchObserved(d, ""), nil)
	if n := len(states[0].Ports[0].Ready); n != 3 {
		tb.Fatalf("svc-0 has %d ready endpoints, want 3", n)
	}
	return d, states
}

// Both files as rendered for 2,000 Services are what encoding/json writes
// for the same values: each is decoded (losslessly: null and [] stay
// apart, omitted fields come back zero) and encoded again with
// MarshalIndent.
func TestStateFilesJSON2000Services(t *testing.T) {
	d, states := states2000(t)
	for _, c := range []struct {
		name string
		got  []byte
		v    any
	}{
		{"endpoints", endpointsJSON(d.Cluster, states), new(EndpointsList)},
		{"dns records", dnsRecords(d.Cluster, states), new(clusterdns.Records)},
	} {
		if err := json.Unmarshal(c.got, c.v); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want, err := json.MarshalIndent(c.v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c.got, append(want, '\n')) {
			t.Errorf("%s file of 2,000 Services (%d bytes) differs from MarshalIndent's (%d bytes)", c.name, len(c.got), len(want)+1)
		}
	}
	l := BuildEndpoints(d.Cluster, states)
	checkEndpointsJSON(t, l)
}

// BenchmarkEndpointsJSON encodes the endpoints of 2,000 Services × 3 pods
// both ways: the reflection path the file had and the hand-written one.
func BenchmarkEndpointsJSON(b *testing.B) {
	d, states := states2000(b)
	l := BuildEndpoints(d.Cluster, states)
	b.Run("jsonindent.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jsonindent.Marshal(l, "  "); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			l.appendJSON(nil)
		}
	})
	b.Run("endpointsJSON", func(b *testing.B) { // BuildEndpoints and the encoding: the whole file
		b.ReportAllocs()
		for b.Loop() {
			endpointsJSON(d.Cluster, states)
		}
	})
	b.Run("dnsRecords", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dnsRecords(d.Cluster, states)
		}
	})
}

// checkPortsKey: two port lists share a subset key exactly when
// json.Marshal, the key before, writes them the same.
func checkPortsKey(t *testing.T, a, b []EndpointPort) {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if ka, kb := portsKey(nil, a), portsKey(nil, b); bytes.Equal(ka, kb) != bytes.Equal(ja, jb) {
		t.Errorf("portsKey(%#v) = %q, portsKey(%#v) = %q; json.Marshal: %s, %s", a, ka, b, kb, ja, jb)
	}
}

func TestPortsKeyGroupsAsMarshal(t *testing.T) {
	http := EndpointPort{Name: "http", Port: 80, Protocol: "TCP"}
	for _, c := range []struct{ a, b []EndpointPort }{
		{[]EndpointPort{http}, []EndpointPort{http}},
		{[]EndpointPort{http}, []EndpointPort{{Name: "http", Port: 8080, Protocol: "TCP"}}},
		{[]EndpointPort{http}, []EndpointPort{{Name: "http", Port: 80, Protocol: "UDP"}}},
		{[]EndpointPort{http}, []EndpointPort{http, http}},
		{[]EndpointPort{{Port: 80, Protocol: "TCP"}}, []EndpointPort{{Name: "TCP", Port: 80}}},
		{[]EndpointPort{{Name: "1", Port: 2}}, []EndpointPort{{Name: "", Port: 12}}},
		{[]EndpointPort{{Name: "a", Port: 1, Protocol: "b"}, {Name: "c", Port: 2, Protocol: "d"}},
			[]EndpointPort{{Name: "a", Port: 1, Protocol: "bc"}, {Port: 2, Protocol: "d"}}},
		{[]EndpointPort{{Name: `a"`, Port: 1}}, []EndpointPort{{Name: "a", Port: 1, Protocol: `"`}}},
		// Invalid UTF-8 is \ufffd in both: json.Marshal grouped these together.
		{[]EndpointPort{{Name: "a\xff", Port: 1}}, []EndpointPort{{Name: "a\xfe", Port: 1}}},
		{[]EndpointPort{{Name: "a\xff", Port: 1}}, []EndpointPort{{Name: "a\ufffd", Port: 1}}},
		{[]EndpointPort{{Port: -1}}, []EndpointPort{{Port: 1}}},
	} {
		checkPortsKey(t, c.a, c.b)
	}
}

// FuzzPortsKey compares a generated port list with a copy changed in one
// field (or not at all) and with a second generated list.
func FuzzPortsKey(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x03\x05\x02\x10\x03\x01\x05\x01\x07\x02\x14\x05\x16\x01\x02\x03"))
	f.Add([]byte("\x04\x07\x1b\xff\x1c\xfe\x01\x05\x02\x03\x04\x05\x06\x07\x01\x02"))
	f.Fuzz(func(t *testing.T, in []byte) {
		g := gen.New(in)
		var a, c []EndpointPort
		port := func() EndpointPort {
			return EndpointPort{Name: g.String(), Port: int32(g.Int64()), Protocol: g.String()}
		}
		genSlice(g, &a, port)
		b := append([]EndpointPort(nil), a...)
		if len(b) > 0 {
			i := int(g.Byte()) % len(b)
			switch g.Byte() % 4 {
			case 1:
				b[i].Name = g.String()
			case 2:
				b[i].Port = int32(g.Int64())
			case 3:
				b[i].Protocol = g.String()
			}
		}
		genSlice(g, &c, port)
		if len(a) > 0 && len(c) > 0 { // BuildEndpoints keys a pod's ports, never an empty list
			checkPortsKey(t, a, b)
			checkPortsKey(t, a, c)
		}
	})
}
