package clusterdns

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// readUpstreams returns the nameservers of a resolv.conf as host:port,
// without the addresses in skip (the cluster DNS's own, which would loop).
func readUpstreams(path, port string, skip map[string]bool) ([]string, error) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range cc.Servers {
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		hp := net.JoinHostPort(a.String(), port)
		if skip[a.Unmap().String()] || skip[hp] {
			continue
		}
		out = append(out, hp)
	}
	return out, nil
}

// exchange asks the upstreams in order, over UDP and again over TCP when
// the answer is truncated, and returns the first usable answer (SERVFAIL and
// REFUSED move on to the next upstream), or nil.
func exchange(ctx context.Context, upstreams []string, q dns.Question, do bool, timeout time.Duration) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(q.Name, q.Qtype)
	m.Question[0].Qclass = q.Qclass
	m.SetEdns0(upstreamUDPSize, do)
	for _, up := range upstreams {
		c := &dns.Client{Net: "udp", Timeout: timeout, UDPSize: upstreamUDPSize}
		r, _, err := c.ExchangeContext(ctx, m, up)
		if err == nil && r.Truncated {
			c.Net = "tcp"
			r, _, err = c.ExchangeContext(ctx, m, up)
		}
		if err != nil || r.Rcode == dns.RcodeServerFailure || r.Rcode == dns.RcodeRefused {
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		return r
	}
	return nil
}

// upstreamUDPSize is the EDNS buffer asked of upstreams: the DNS flag day
// 2020 size, which avoids IP fragmentation.
const upstreamUDPSize = 1232

// cache holds forwarded answers for at most their TTL (and at most maxTTL),
// with at most max entries.
type cache struct {
	mu     sync.Mutex
	max    int
	maxTTL time.Duration
	m      map[cacheKey]cacheEntry
}

type cacheKey struct {
	name   string // lower case
	qtype  uint16
	qclass uint16
	do     bool
}

type cacheEntry struct {
	msg     *dns.Msg // never modified once stored
	stored  time.Time
	expires time.Time
}

func newCache(max int, maxTTL time.Duration) *cache {
	return &cache{max: max, maxTTL: maxTTL, m: make(map[cacheKey]cacheEntry)}
}

func keyOf(q dns.Question, do bool) cacheKey {
	return cacheKey{name: strings.ToLower(q.Name), qtype: q.Qtype, qclass: q.Qclass, do: do}
}

// get returns a copy of a cached answer with its TTLs counted down.
func (c *cache) get(k cacheKey, now time.Time) *dns.Msg {
	c.mu.Lock()
	e, ok := c.m[k]
	if ok && !now.Before(e.expires) {
		delete(c.m, k)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return nil
	}
	m := e.msg.Copy()
	age := uint32(now.Sub(e.stored) / time.Second)
	for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			h := rr.Header()
			if h.Ttl > age {
				h.Ttl -= age
			} else {
				h.Ttl = 0
			}
		}
	}
	return m
}

// put stores m unless it says nothing cacheable. A full cache drops expired
// entries, then arbitrary ones: a bound, not an LRU, which is enough for
// the few external names pods ask for.
func (c *cache) put(k cacheKey, m *dns.Msg, now time.Time) {
	ttl := cacheTTL(m)
	if ttl > c.maxTTL {
		ttl = c.maxTTL
	}
	if ttl <= 0 || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for key, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, key)
			}
		}
		for key := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, key)
		}
	}
	c.m[k] = cacheEntry{msg: m, stored: now, expires: now.Add(ttl)}
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// cacheTTL is how long an answer may be kept: its smallest TTL, or for a
// negative answer the SOA's negative TTL (RFC 2308); 0 for anything else.
func cacheTTL(m *dns.Msg) time.Duration {
	switch {
	case m.Rcode == dns.RcodeSuccess && len(m.Answer) > 0:
		min := uint32(1<<31 - 1)
		for _, sec := range [][]dns.RR{m.Answer, m.Ns} {
			for _, rr := range sec {
				min = minU32(min, rr.Header().Ttl)
			}
		}
		return time.Duration(min) * time.Second
	case m.Rcode == dns.RcodeSuccess || m.Rcode == dns.RcodeNameError:
		for _, rr := range m.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				return time.Duration(minU32(soa.Hdr.Ttl, soa.Minttl)) * time.Second
			}
		}
	}
	return 0
}

func minU32(a, b uint32) uint32 {
	if a < b {
		return a
	}
	return b
}

// withoutOPT drops the upstream's OPT record: the server writes its own.
func withoutOPT(rrs []dns.RR) []dns.RR {
	out := rrs[:0:0]
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr)
		}
	}
	return out
}
