package clusterdns

import (
	"bytes"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// recordTTL is the TTL of every cluster answer, CoreDNS's default: short, so
// a pod that goes away leaves caches within seconds.
const recordTTL = 5

// maxChase bounds CNAME chains inside the zone (an ExternalName pointing at
// another ExternalName), so a loop of them cannot spin.
const maxChase = 8

// zone is one immutable snapshot of the records file, built whole on each
// reload and swapped in atomically: a query sees one snapshot start to end.
type zone struct {
	domain  string // lower-case FQDN, "cluster.local."
	loaded  bool   // false until a records file was read: cluster names are SERVFAIL, not NXDOMAIN
	soa     *dns.SOA
	names   map[string]*node // lower-case FQDN: every name that exists, empty non-terminals included
	reverse []netip.Prefix   // ranges whose in-addr.arpa names are answered here
	// answers are this snapshot's packed replies (answercache.go): the
	// only part filled after the build, and only by the UDP readers.
	answers answerCache
}

// node holds the records of one name, precomputed.
type node struct {
	a     []dns.RR
	srv   []dns.RR
	extra []dns.RR // A records of the SRV targets
	cname *dns.CNAME
	ptr   []dns.RR
}

func hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: recordTTL}
}

func newSOA(owner, domain string, serial uint32) *dns.SOA {
	return &dns.SOA{Hdr: hdr(owner, dns.TypeSOA), Ns: "ns.dns." + domain, Mbox: "hostmaster." + domain,
		Serial: serial, Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: recordTTL}
}

// emptyZone is what the server answers before the first records file loads.
func emptyZone(domain string) *zone {
	return &zone{domain: domain, soa: newSOA(domain, domain, 0), names: map[string]*node{}}
}

// zoneBuilder collects records by name before they are sorted into nodes.
type zoneBuilder struct {
	z   *zone
	ptr map[string]map[string]bool // reverse name → PTR targets
	// headlessPTR marks addresses named under a headless Service: their PTR
	// is that name rather than the pod name.
	headlessPTR map[string]bool
}

// buildZone turns checked records into a zone. Answers are sorted so that
// equal records files give equal answers.
func buildZone(r *Records, defaultDomain string, serial uint32) *zone {
	domain, ok := domainName(r.Domain)
	if !ok {
		domain = defaultDomain
	}
	b := &zoneBuilder{z: &zone{domain: domain, loaded: true, soa: newSOA(domain, domain, serial), names: map[string]*node{}},
		ptr: map[string]map[string]bool{}, headlessPTR: map[string]bool{}}
	b.node(domain)
	for _, c := range []string{r.ServiceCIDR, r.PodCIDR} {
		if p, err := netip.ParsePrefix(c); err == nil {
			b.z.reverse = append(b.z.reverse, p.Masked())
		}
	}
	for i := range r.Services {
		b.service(&r.Services[i])
	}
	for rev, targets := range b.ptr {
		n := b.z.names[rev]
		if n == nil {
			n = &node{}
			b.z.names[rev] = n
		}
		for _, t := range sortedSet(targets) {
			n.ptr = append(n.ptr, &dns.PTR{Hdr: hdr(rev, dns.TypePTR), Ptr: t})
		}
	}
	for _, n := range b.z.names {
		sortRRs(n.a)
		sortRRs(n.srv)
		sortRRs(n.extra)
		n.extra = dedupRRs(n.extra)
	}
	return b.z
}

// node returns the node of name, creating it and its ancestors up to the
// domain, which then exist (NODATA rather than NXDOMAIN) as Kubernetes
// requires for e.g. <ns>.svc.<domain>.
func (b *zoneBuilder) node(name string) *node {
	if n, ok := b.z.names[name]; ok {
		return n
	}
	n := &node{}
	b.z.names[name] = n
	for p := name; p != b.z.domain; {
		i := strings.IndexByte(p, '.')
		if i < 0 || i == len(p)-1 {
			break
		}
		p = p[i+1:]
		if _, ok := b.z.names[p]; ok {
			break
		}
		b.z.names[p] = &node{}
	}
	return n
}

func (b *zoneBuilder) addA(name, ip string) {
	n := b.node(name)
	n.a = append(n.a, &dns.A{Hdr: hdr(name, dns.TypeA), A: net.ParseIP(ip).To4()})
}

func (b *zoneBuilder) addPTR(ip, target string) {
	rev, err := dns.ReverseAddr(ip)
	if err != nil {
		return
	}
	if b.ptr[rev] == nil {
		b.ptr[rev] = map[string]bool{}
	}
	b.ptr[rev][target] = true
}

func (b *zoneBuilder) service(s *Service) {
	base := s.Name + "." + s.Namespace + ".svc." + b.z.domain
	if s.Type != "ExternalName" && s.ClusterIP == "None" && len(s.Endpoints) == 0 {
		// A headless Service without ready pods has no records at or
		// below its name: NXDOMAIN, as the DNS spec says since v1.1.0
		// (kubernetes/dns#245) and kube-dns and CoreDNS answer.
		return
	}
	n := b.node(base)
	switch {
	case s.Type == "ExternalName":
		target, _ := domainName(s.ExternalName)
		n.cname = &dns.CNAME{Hdr: hdr(base, dns.TypeCNAME), Target: target}
		return
	case s.ClusterIP == "None":
		b.headless(s, base)
	default:
		b.addA(base, s.ClusterIP)
		b.addPTR(s.ClusterIP, base)
		for _, p := range s.Ports {
			if p.Name == "" {
				continue
			}
			name := srvName(p, base)
			sn := b.node(name)
			sn.srv = append(sn.srv, &dns.SRV{Hdr: hdr(name, dns.TypeSRV), Priority: 0, Weight: 100, Port: uint16(p.Port), Target: base})
			sn.extra = append(sn.extra, n.a...)
		}
	}
	// Every ready pod gets <dashed-ip>.<ns>.pod.<domain>, Kubernetes' pod
	// record, limited to pods reconcile knows (CoreDNS's "pods verified").
	for _, e := range s.Endpoints {
		pod := dashed(e.IP) + "." + s.Namespace + ".pod." + b.z.domain
		if len(b.node(pod).a) == 0 {
			b.addA(pod, e.IP)
		}
	}
	for _, e := range s.Endpoints {
		if !b.headlessPTR[e.IP] {
			b.addPTR(e.IP, dashed(e.IP)+"."+s.Namespace+".pod."+b.z.domain)
		}
	}
}

// headless answers the Service name with its ready pods' addresses and
// names each pod <hostname>.<svc>.<ns>.svc.<domain>.
func (b *zoneBuilder) headless(s *Service, base string) {
	targets := map[string][]*dns.SRV{}
	for _, e := range s.Endpoints {
		host := e.Hostname
		if !isLabel(host) {
			host = dashed(e.IP)
		}
		name := host + "." + base
		b.addA(base, e.IP)
		b.addA(name, e.IP)
		if !b.headlessPTR[e.IP] {
			// A pod first seen under a ClusterIP Service got its pod name
			// as PTR; the headless name is the better answer.
			if rev, err := dns.ReverseAddr(e.IP); err == nil {
				delete(b.ptr, rev)
			}
			b.headlessPTR[e.IP] = true
		}
		b.addPTR(e.IP, name)
		for _, p := range s.Ports {
			if p.Name == "" {
				continue
			}
			port := p.Port
			for _, ep := range e.Ports {
				if ep.Name == p.Name && strings.EqualFold(ep.Protocol, p.Protocol) {
					port = ep.Port
				}
			}
			sn := srvName(p, base)
			targets[sn] = append(targets[sn], &dns.SRV{Hdr: hdr(sn, dns.TypeSRV), Port: uint16(port), Target: name})
			b.node(sn).extra = append(b.node(sn).extra, b.z.names[name].a...)
		}
	}
	for sn, srvs := range targets {
		// Equal weights that add up to about 100, as CoreDNS gives them.
		w := uint16(max(1, 100/len(srvs)))
		for _, r := range srvs {
			r.Weight = w
			b.node(sn).srv = append(b.node(sn).srv, r)
		}
	}
}

func srvName(p Port, base string) string {
	proto := strings.ToLower(p.Protocol)
	if proto == "" {
		proto = "tcp"
	}
	return "_" + p.Name + "._" + proto + "." + base
}

// dashed is an IPv4 address as a DNS label: 10.244.1.5 → 10-244-1-5.
func dashed(ip string) string { return strings.ReplaceAll(ip, ".", "-") }

// answer is what the zone says about one question.
type answer struct {
	rcode  int
	answer []dns.RR
	ns     []dns.RR
	extra  []dns.RR
	// chase is a CNAME target outside the zone whose records of the asked
	// type the server resolves upstream and appends (ExternalName), as a
	// stub resolver will not follow a CNAME itself.
	chase string
}

// authoritative reports whether the zone answers qname (lower case) itself
// rather than forwarding it.
func (z *zone) authoritative(qname string) bool {
	if dns.IsSubDomain(z.domain, qname) {
		return true
	}
	if _, ok := z.names[qname]; ok {
		return true
	}
	_, ok := z.reverseZone(qname)
	return ok
}

// reverseZone returns the SOA owner for a full in-addr.arpa name inside one
// of the zone's reverse ranges: the range's address rounded down to whole
// octets (10.96.0.0/12 → 10.in-addr.arpa.).
func (z *zone) reverseZone(qname string) (string, bool) {
	a, ok := reverseIP(qname)
	if !ok {
		return "", false
	}
	for _, p := range z.reverse {
		if p.Contains(a) {
			octets := p.Bits() / 8
			b := p.Addr().As4()
			owner := "in-addr.arpa."
			for i := 0; i < octets; i++ {
				owner = strconv.Itoa(int(b[i])) + "." + owner
			}
			return owner, true
		}
	}
	return "", false
}

// reverseIP parses d.c.b.a.in-addr.arpa.
func reverseIP(qname string) (netip.Addr, bool) {
	rest, ok := strings.CutSuffix(qname, ".in-addr.arpa.")
	if !ok {
		return netip.Addr{}, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 4 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(parts[3] + "." + parts[2] + "." + parts[1] + "." + parts[0])
	if err != nil || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

// lookup answers a question the zone is authoritative for. Owner names in
// the answer carry the question's spelling, so resolvers that randomise
// case (DNS 0x20) accept them.
func (z *zone) lookup(q dns.Question) answer {
	qname := strings.ToLower(q.Name)
	var out answer
	for hop := 0; ; hop++ {
		n := z.names[qname]
		if n == nil {
			if len(out.answer) > 0 {
				// A CNAME into the zone whose target does not exist.
				return out
			}
			if !z.loaded && dns.IsSubDomain(z.domain, qname) {
				return answer{rcode: dns.RcodeServerFailure}
			}
			return answer{rcode: dns.RcodeNameError, ns: []dns.RR{z.soaFor(qname)}}
		}
		if n.cname != nil && q.Qtype != dns.TypeCNAME {
			out.answer = append(out.answer, rename(n.cname, q.Name))
			target := n.cname.Target
			if !z.authoritative(target) {
				out.chase = target
				return out
			}
			if hop == maxChase {
				return answer{rcode: dns.RcodeServerFailure}
			}
			qname, q.Name = target, target
			continue
		}
		var rrs []dns.RR
		switch q.Qtype {
		case dns.TypeA:
			rrs = n.a
		case dns.TypeSRV:
			rrs = n.srv
			out.extra = n.extra
		case dns.TypePTR:
			rrs = n.ptr
		case dns.TypeCNAME:
			if n.cname != nil {
				rrs = []dns.RR{n.cname}
			}
		case dns.TypeSOA:
			if qname == z.domain {
				rrs = []dns.RR{z.soa}
			}
		case dns.TypeANY:
			rrs = append(append(append([]dns.RR{}, n.a...), n.srv...), n.ptr...)
		}
		for _, rr := range rrs {
			out.answer = append(out.answer, rename(rr, q.Name))
		}
		if len(out.answer) == 0 {
			out.ns = []dns.RR{z.soaFor(qname)}
		}
		return out
	}
}

// soaFor is the SOA for a negative answer about qname.
func (z *zone) soaFor(qname string) dns.RR {
	if owner, ok := z.reverseZone(qname); ok {
		return newSOA(owner, z.domain, z.soa.Serial)
	}
	return z.soa
}

// rename returns rr with owner name, sharing rr's data: records in a zone
// are never modified after it is built.
func rename(rr dns.RR, name string) dns.RR {
	if rr.Header().Name == name {
		return rr
	}
	switch r := rr.(type) {
	case *dns.A:
		c := *r
		c.Hdr.Name = name
		return &c
	case *dns.SRV:
		c := *r
		c.Hdr.Name = name
		return &c
	case *dns.PTR:
		c := *r
		c.Hdr.Name = name
		return &c
	case *dns.CNAME:
		c := *r
		c.Hdr.Name = name
		return &c
	}
	c := dns.Copy(rr)
	c.Header().Name = name
	return c
}

// sortRRs orders a node's records: A by owner then address, SRV by target
// then port. (Sorting by String() cost a formatted string per comparison,
// most of a large zone's build time.)
func sortRRs(rrs []dns.RR) {
	sort.SliceStable(rrs, func(i, j int) bool {
		a, b := rrs[i], rrs[j]
		if ha, hb := a.Header().Name, b.Header().Name; ha != hb {
			return ha < hb
		}
		switch x := a.(type) {
		case *dns.A:
			if y, ok := b.(*dns.A); ok {
				return bytes.Compare(x.A.To4(), y.A.To4()) < 0
			}
		case *dns.SRV:
			if y, ok := b.(*dns.SRV); ok {
				return x.Target < y.Target || x.Target == y.Target && x.Port < y.Port
			}
		}
		return a.Header().Rrtype < b.Header().Rrtype
	})
}

func dedupRRs(rrs []dns.RR) []dns.RR {
	out := rrs[:0]
	for i, rr := range rrs {
		if i > 0 && dns.IsDuplicate(rr, rrs[i-1]) {
			continue
		}
		out = append(out, rr)
	}
	return out
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
