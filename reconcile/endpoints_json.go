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
	b = e.Field(b, "items")
	if l.Items == nil {
		b = jsonindent.Null(b)
	} else {
		b = e.Open(b, '[')
		for i := range l.Items {
			b = l.Items[i].encode(e, e.Elem(b))
		}
		b = e.Close(b, ']')
	}
	return e.Close(b, '}')
}

func (ep *Endpoints) encode(e *jsonindent.Encoder, b []byte) []byte {
	b = e.Open(b, '{')
	b = e.StringField(b, "apiVersion", ep.APIVersion)
	b = e.StringField(b, "kind", ep.Kind)
	b = ep.Metadata.encode(e, e.Field(b, "metadata"))
	b = e.Field(b, "subsets")
	if ep.Subsets == nil {
		b = jsonindent.Null(b)
	} else {
		b = e.Open(b, '[')
		for i := range ep.Subsets {
			b = ep.Subsets[i].encode(e, e.Elem(b))
		}
		b = e.Close(b, ']')
	}
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
	if len(s.Addresses) > 0 { // omitempty: nil and empty are both left out
		b = encodeAddresses(e, e.Field(b, "addresses"), s.Addresses)
	}
	if len(s.NotReadyAddresses) > 0 {
		b = encodeAddresses(e, e.Field(b, "notReadyAddresses"), s.NotReadyAddresses)
	}
	b = e.Field(b, "ports")
	if s.Ports == nil {
		b = jsonindent.Null(b)
	} else {
		b = e.Open(b, '[')
		for i := range s.Ports {
			p := &s.Ports[i]
			b = e.Open(e.Elem(b), '{')
			b = e.OmitEmpty(b, "name", p.Name)
			b = e.IntField(b, "port", int64(p.Port))
			b = e.StringField(b, "protocol", p.Protocol)
			b = e.Close(b, '}')
		}
		b = e.Close(b, ']')
	}
	return e.Close(b, '}')
}

// encodeAddresses writes a non-empty address list (both fields that hold
// one are omitempty).
func encodeAddresses(e *jsonindent.Encoder, b []byte, addrs []EndpointAddress) []byte {
	b = e.Open(b, '[')
	for i := range addrs {
		a := &addrs[i]
		b = e.Open(e.Elem(b), '{')
		b = e.StringField(b, "ip", a.IP)
		b = e.OmitEmpty(b, "nodeName", a.NodeName)
		if r := a.TargetRef; r != nil { // omitempty on a pointer: nil is left out
			b = e.Open(e.Field(b, "targetRef"), '{')
			b = e.StringField(b, "kind", r.Kind)
			b = e.StringField(b, "namespace", r.Namespace)
			b = e.StringField(b, "name", r.Name)
			b = e.Close(b, '}')
		}
		b = e.Close(b, '}')
	}
	return e.Close(b, ']')
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
