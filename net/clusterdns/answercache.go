package clusterdns

import (
	"bytes"
	"encoding/binary"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// The answer cache is the UDP fast path. A zone's answers change only when
// the records file does, so the packed reply to a question is the same
// bytes for every client but for the ID, two flag bits and the question's
// spelling. Each zone snapshot keeps the replies it has packed, keyed by
// what they depend on, and a query of the common shape is answered by
// copying one and patching those bytes: no Msg unpacked or packed, no
// goroutine, no allocation. A reload swaps in a new zone with an empty
// cache, which is the whole invalidation.
//
// Anything else — TCP, several records in the additional section, TSIG,
// names with other characters than letters, digits, '-' and '_', names the
// zone does not answer, ExternalNames resolved upstream — takes miekg/dns's
// full path, as every query did before.

// Bounds of one zone's answer cache. Full, it is emptied and refilled: a
// flood of random names costs the hot names one repack each, not their
// place for the zone's lifetime.
const (
	maxCachedAnswers     = 10000
	maxCachedAnswerBytes = 8 << 20
)

type answerCache struct {
	mu    sync.RWMutex
	m     map[string][]byte // key (queryKey) → packed reply, never modified once stored
	bytes int
}

func (c *answerCache) get(key []byte) []byte {
	c.mu.RLock()
	wire := c.m[string(key)] // a lookup by string(key) does not allocate
	c.mu.RUnlock()
	return wire
}

func (c *answerCache) put(key, wire []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(key) + len(wire); c.m == nil || len(c.m) >= maxCachedAnswers || c.bytes+n > maxCachedAnswerBytes {
		c.m = make(map[string][]byte)
		c.bytes = 0
	}
	if _, ok := c.m[string(key)]; !ok {
		c.m[string(key)] = wire
		c.bytes += len(key) + len(wire)
	}
}

func (c *answerCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// Header bits the reply copies from the query (dns.Msg.SetReply).
const (
	bitRD = 0x01 // byte 2
	bitCD = 0x10 // byte 3
)

const headerLen = 12

// queryKey appends to key[:0] the cache key of a UDP query and returns it
// with the offset just past the question name; ok is false when pkt is not
// of the shape the cache serves:
//
//   - a QUERY (not a response, not truncated) with one question and no
//     answer or authority records;
//   - a name of labels of [A-Za-z0-9_-] only, uncompressed, as every stub
//     resolver sends it;
//   - nothing in the additional section, or one well-formed OPT record;
//   - nothing after that.
//
// The key is the lower-cased question name and type and class, then what
// the reply's bytes depend on besides the zone: whether the query had EDNS,
// its DO bit, and the reply size limit that finish derives from them.
func queryKey(pkt, key []byte) (_ []byte, nameEnd int, ok bool) {
	key = key[:0]
	if len(pkt) < headerLen+5 {
		return key, 0, false
	}
	if pkt[2]&0xfa != 0 { // QR, opcode and TC all zero; AA and RD are free
		return key, 0, false
	}
	qd, an, ns, ar := be16(pkt[4:]), be16(pkt[6:]), be16(pkt[8:]), be16(pkt[10:])
	if qd != 1 || an != 0 || ns != 0 || ar > 1 {
		return key, 0, false
	}
	off := headerLen
	for {
		if off >= len(pkt) {
			return key, 0, false
		}
		l := int(pkt[off])
		if l == 0 {
			key = append(key, 0)
			off++
			break
		}
		if l > 63 || off+1+l > len(pkt) || off+1+l-headerLen > 254 {
			return key, 0, false
		}
		key = append(key, byte(l))
		for _, c := range pkt[off+1 : off+1+l] {
			switch {
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			default:
				return key, 0, false
			}
			key = append(key, c)
		}
		off += 1 + l
	}
	nameEnd = off
	if off+4 > len(pkt) {
		return key, 0, false
	}
	key = append(key, pkt[off:off+4]...) // type, class
	off += 4
	var edns byte
	size := dns.MinMsgSize
	if ar == 1 {
		// OPT: root name, type 41, class = UDP size, TTL = extended
		// rcode, version, DO and Z, then the options.
		if off+11 > len(pkt) || pkt[off] != 0 || be16(pkt[off+1:]) != dns.TypeOPT {
			return key, 0, false
		}
		edns = 1
		if pkt[off+7]&0x80 != 0 {
			edns |= 2
		}
		size = min(max(int(be16(pkt[off+3:])), dns.MinMsgSize), maxUDPReply)
		rdlen := int(be16(pkt[off+9:]))
		off += 11
		if off+rdlen != len(pkt) {
			return key, 0, false
		}
		for end := off + rdlen; off < end; {
			if off+4 > end || off+4+int(be16(pkt[off+2:])) > end {
				return key, 0, false
			}
			off += 4 + int(be16(pkt[off+2:]))
		}
	}
	if off != len(pkt) {
		return key, 0, false
	}
	key = append(key, edns, byte(size>>8), byte(size))
	return key, nameEnd, true
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }

// patch writes into out the cached reply wire for the query pkt: pkt's ID,
// RD and CD bits, and pkt's question name, byte for byte (DNS 0x20
// resolvers check their random case comes back). The cached reply was
// packed from the lower-case question with names compressed, so owner
// names equal to the question are pointers to it and take its spelling
// too; names sharing only a suffix with it (the SOA's) take the suffix's
// spelling, which DNS compares without case.
func patch(out, wire, pkt []byte, nameEnd int) []byte {
	out = append(out[:0], wire...)
	out[0], out[1] = pkt[0], pkt[1]
	out[2] = out[2]&^bitRD | pkt[2]&bitRD
	out[3] = out[3]&^bitCD | pkt[3]&bitCD
	copy(out[headerLen:nameEnd], pkt[headerLen:nameEnd])
	return out
}

// cachedAnswer returns the packed reply to pkt from zone z's cache, packing
// and storing it first when the zone answers pkt by itself; nil when pkt
// must take the full path. key is pkt's queryKey.
func cachedAnswer(z *zone, pkt, key []byte, nameEnd int) []byte {
	if wire := z.answers.get(key); wire != nil {
		return wire
	}
	r := new(dns.Msg)
	if err := r.Unpack(pkt); err != nil || len(r.Question) != 1 {
		return nil
	}
	r.Question[0].Name = strings.ToLower(r.Question[0].Name)
	m, chase := z.reply(r)
	if m == nil || chase != "" {
		return nil
	}
	finish(m, r, true)
	wire, err := m.Pack()
	// The question must sit where patch expects it, as the key spells it.
	if err != nil || len(wire) < nameEnd || !bytes.Equal(wire[headerLen:nameEnd], key[:nameEnd-headerLen]) {
		return nil
	}
	z.answers.put(key, wire)
	return wire
}
