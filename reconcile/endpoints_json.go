package reconcile

import (
	"slices"
	"sort"

	"github.com/reconcile-dev/reconcile/internal/jsonindent"
)

// The endpoints file is megabytes at 2,000 Services and rendered on every
// pass, so it is written by hand rather than through encoding/json's
// reflection and the indent pass after it: appendJSON writes what
// jsonindent.Marshal(l, "  ") (that is, json.MarshalIndent) would, byte for
// byte — the same member order, omitempty where the struct tags say so,
// null for a nil slice — which TestEndpointsJSONMatchesMarshal and
// FuzzEndpointsJSON hold it to. A field added to these types needs its line
// here, and in the fuzz test's generator: TestEndpointsJSONFields fails until
// the list of fields there is changed too.

// appendJSON appends l indented by two spaces, as json.MarshalIndent.
func (l *EndpointsList) appendJSON(b []byte) []byte {
	e := jsonindent.NewEncoder("  ")
	b = slices.Grow(b, l.sizeHint())
	b = e.Open(b, '{')
	b = e.StringField(b, "apiVersion", l.APIVersion)
	b = e.StringField(b, "kind", l.Kind)
	b = jsonindent.Array(e, e.Field(b, "items"), l.Items, (*Endpoints).encode)
	return e.Close(b, '}')
}

func (ep *Endpoints) encode(e *jsonindent.Encoder, b []byte) []byte {
	b = e.Open(b, '{')
	b = e.StringField(b, "apiVersion", ep.APIVersion)
	b = e.StringField(b, "kind", ep.Kind)
	b = ep.Metadata.encode(e, e.Field(b, "metadata"))
	b = jsonindent.Array(e, e.Field(b, "subsets"), ep.Subsets, (*EndpointSubset).encode)
	return e.Close(b, '}')
}

func (m *EndpointsMeta) encode(e *jsonindent.Encoder, b []byte) []byte {
	b = e.Open(b, '{')
	b = e.StringField(b, "name", m.Name)
	b = e.StringField(b, "namespace", m.Namespace)
	if len(m.Labels) > 0 { // omitempty: a nil or empty map is left out
		// encoding/json sorts string keys by their bytes.
		keys := make([]string, 0, len(m.Labels))
		for k := range m.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = e.Open(e.Field(b, "labels"), '{')
		for _, k := range keys {
			b = jsonindent.AppendString(e.Key(b, k), m.Labels[k])
		}
		b = e.Close(b, '}')
	}
	return e.Close(b, '}')
}

func (s *EndpointSubset) encode(e *jsonindent.Encoder, b []byte) []byte {
	b = e.Open(b, '{')
	// omitempty on both address lists: nil and empty are left out.
	if len(s.Addresses) > 0 {
		b = jsonindent.Array(e, e.Field(b, "addresses"), s.Addresses, (*EndpointAddress).encode)
	}
	if len(s.NotReadyAddresses) > 0 {
		b = jsonindent.Array(e, e.Field(b, "notReadyAddresses"), s.NotReadyAddresses, (*EndpointAddress).encode)
	}
	b = jsonindent.Array(e, e.Field(b, "ports"), s.Ports, (*EndpointPort).encode)
	return e.Close(b, '}')
}

func (a *EndpointAddress) encode(e *jsonindent.Encoder, b []byte) []byte {
	b = e.Open(b, '{')
	b = e.StringField(b, "ip", a.IP)
	b = e.OmitEmpty(b, "nodeName", a.NodeName)
	if r := a.TargetRef; r != nil { // omitempty on a pointer: nil is left out
		b = e.Open(e.Field(b, "targetRef"), '{')
		b = e.StringField(b, "kind", r.Kind)
		b = e.StringField(b, "namespace", r.Namespace)
		b = e.StringField(b, "name", r.Name)
		b = e.Close(b, '}')
	}
	return e.Close(b, '}')
}

func (p *EndpointPort) encode(e *jsonindent.Encoder, b []byte) []byte {
	b = e.Open(b, '{')
	b = e.OmitEmpty(b, "name", p.Name)
	b = e.IntField(b, "port", int64(p.Port))
	b = e.StringField(b, "protocol", p.Protocol)
	return e.Close(b, '}')
}

// sizeHint is about what appendJSON writes for l, a little more for short
// names: the file is grown once instead of a dozen times. It is only a
// hint: wrong, it costs one more copy.
func (l *EndpointsList) sizeHint() int {
	n := 128
	for i := range l.Items {
		n += 350 + 50*len(l.Items[i].Metadata.Labels)
		for _, s := range l.Items[i].Subsets {
			n += 260*(len(s.Addresses)+len(s.NotReadyAddresses)) + 90*len(s.Ports)
		}
	}
	return n
}
