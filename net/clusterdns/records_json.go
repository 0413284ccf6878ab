package clusterdns

import (
	"slices"

	"github.com/reconcile-dev/reconcile/internal/jsonindent"
)

// The records file is megabytes at 2,000 Services and rendered on every
// pass, so it is written by hand rather than through encoding/json's
// reflection and the indent pass after it: appendJSON writes what
// jsonindent.Marshal(r, "  ") (that is, json.MarshalIndent) would, byte for
// byte — the same member order, omitempty where the struct tags say so,
// null for a nil slice — which TestRecordsJSONMatchesMarshal and
// FuzzRecordsJSON hold it to. A field added to these types needs its line
// here, and in the fuzz test's generator: TestRecordsJSONFields fails until
// the list of fields there is changed too.

// appendJSON appends r indented by two spaces, as json.MarshalIndent.
func (r *Records) appendJSON(b []byte) []byte {
	e := jsonindent.NewEncoder("  ")
	b = slices.Grow(b, r.sizeHint())
	b = e.Open(b, '{')
	b = e.OmitEmpty(b, "domain", r.Domain)
	b = e.OmitEmpty(b, "serviceCIDR", r.ServiceCIDR)
	b = e.OmitEmpty(b, "podCIDR", r.PodCIDR)
	b = jsonindent.Array(e, e.Field(b, "services"), r.Services, (*Service).encode)
	return e.Close(b, '}')
}

func (s *Service) encode(e *jsonindent.Encoder, b []byte) []byte {
	b = e.Open(b, '{')
	b = e.StringField(b, "namespace", s.Namespace)
	b = e.StringField(b, "name", s.Name)
	b = e.StringField(b, "type", s.Type)
	b = e.OmitEmpty(b, "clusterIP", s.ClusterIP)
	b = e.OmitEmpty(b, "externalName", s.ExternalName)
	b = encodePorts(e, b, s.Ports)
	if len(s.Endpoints) > 0 { // omitempty: nil and empty are both left out
		b = jsonindent.Array(e, e.Field(b, "endpoints"), s.Endpoints, (*Endpoint).encode)
	}
	return e.Close(b, '}')
}

// encodePorts writes an omitempty "ports" member: nothing when nil or
// empty.
func encodePorts(e *jsonindent.Encoder, b []byte, ports []Port) []byte {
	if len(ports) == 0 {
		return b
	}
	return jsonindent.Array(e, e.Field(b, "ports"), ports, (*Port).encode)
}

func (ep *Endpoint) encode(e *jsonindent.Encoder, b []byte) []byte {
	b = e.Open(b, '{')
	b = e.StringField(b, "ip", ep.IP)
	b = e.OmitEmpty(b, "hostname", ep.Hostname)
	b = e.OmitEmpty(b, "pod", ep.Pod)
	b = e.OmitEmpty(b, "node", ep.Node)
	b = encodePorts(e, b, ep.Ports)
	return e.Close(b, '}')
}

func (p *Port) encode(e *jsonindent.Encoder, b []byte) []byte {
	b = e.Open(b, '{')
	b = e.OmitEmpty(b, "name", p.Name)
	b = e.StringField(b, "protocol", p.Protocol)
	b = e.IntField(b, "port", int64(p.Port))
	return e.Close(b, '}')
}

// sizeHint is about what appendJSON writes for r, a little more for short
// names: the file is grown once instead of a dozen times. It is only a
// hint: wrong, it costs one more copy.
func (r *Records) sizeHint() int {
	n := 128
	for _, s := range r.Services {
		n += 250 + 80*len(s.Ports)
		for _, ep := range s.Endpoints {
			n += 220 + 80*len(ep.Ports)
		}
	}
	return n
}
