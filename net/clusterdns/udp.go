package clusterdns

import (
	"net"
	"net/netip"
	"sync"

	"github.com/miekg/dns"
)

// The UDP side is served here rather than by dns.Server: miekg's loop
// starts a goroutine, unpacks a Msg and packs one for every datagram, and
// reads and writes with control messages to learn the destination address,
// which a server bound to one address (Start refuses wildcards) knows
// already. Profiled against a pod's lookups that was most of the time not
// spent in the kernel. Here a few readers share the socket; each answers
// the common queries from the zone's answer cache in place, with its own
// buffers, and hands anything else to a goroutine running the full miekg
// path (ServeDNS), as forwarding may wait seconds for an upstream.
//
// TCP stays on dns.Server: its connections are few and long.

// maxUDPInFlight bounds queries on the full path at once (each a goroutine
// holding its datagram); beyond it a query is dropped and its client
// retries, as it would after a lost datagram.
const maxUDPInFlight = 4096

// udpServer is one UDP socket's readers.
type udpServer struct {
	s        *Server
	pc       *udpSock
	inFlight chan struct{} // semaphore of maxUDPInFlight
	wg       sync.WaitGroup
}

func (s *Server) startUDP(pc *udpSock, readers int) *udpServer {
	u := &udpServer{s: s, pc: pc, inFlight: make(chan struct{}, maxUDPInFlight)}
	for range readers {
		u.wg.Go(u.read)
	}
	return u
}

// stop closes the socket and waits for the readers and the queries on the
// full path (their upstream exchanges end with the server's context).
func (u *udpServer) stop() {
	u.pc.wake()
	u.wg.Wait()
	u.pc.close()
}

func (u *udpServer) read() {
	buf := make([]byte, maxUDPQuery)
	key := make([]byte, 0, 256+8)
	out := make([]byte, 0, maxUDPReply)
	var addr peer
	for {
		n, closed, err := u.pc.recv(buf, &addr)
		if closed {
			return
		}
		if err != nil {
			continue // EINTR, or an ICMP error reported on the socket
		}
		pkt := buf[:n]
		if n < headerLen {
			continue // nothing to answer to, as miekg does
		}
		k, nameEnd, ok := queryKey(pkt, key)
		key = k
		if ok {
			if wire := cachedAnswer(u.s.zone.Load(), pkt, key, nameEnd); wire != nil {
				out = patch(out, wire, pkt, nameEnd)
				u.pc.send(out, &addr)
				continue
			}
		}
		select {
		case u.inFlight <- struct{}{}:
		default:
			continue
		}
		q, to := append([]byte(nil), pkt...), addr
		u.wg.Go(func() {
			defer func() { <-u.inFlight }()
			u.serveFull(q, &to)
		})
	}
}

// serveFull answers one datagram as dns.Server does: responses are
// ignored, queries miekg's accept function refuses get FORMERR or NOTIMP,
// the rest go to ServeDNS.
func (u *udpServer) serveFull(pkt []byte, to *peer) {
	w := &udpWriter{pc: u.pc, to: to, addr: to.addrPort()}
	dh := dns.Header{Id: be16(pkt), Bits: be16(pkt[2:]), Qdcount: be16(pkt[4:]), Ancount: be16(pkt[6:]), Nscount: be16(pkt[8:]), Arcount: be16(pkt[10:])}
	action := dns.DefaultMsgAcceptFunc(dh)
	if action == dns.MsgIgnore {
		return
	}
	if action == dns.MsgAccept {
		r := new(dns.Msg)
		if err := r.Unpack(pkt); err == nil {
			u.s.ServeDNS(w, r)
			return
		}
		action = dns.MsgReject
	}
	m := new(dns.Msg)
	m.Id = dh.Id
	m.Response = true
	m.Opcode = int(dh.Bits>>11) & 0xf
	m.RecursionDesired = dh.Bits&(bitRD<<8) != 0
	m.CheckingDisabled = dh.Bits&bitCD != 0
	m.Rcode = dns.RcodeFormatError
	if action == dns.MsgRejectNotImplemented {
		m.Rcode = dns.RcodeNotImplemented
	}
	w.WriteMsg(m)
}

// udpWriter is the dns.ResponseWriter of one datagram on the full path.
type udpWriter struct {
	pc   *udpSock
	to   *peer
	addr netip.AddrPort
}

func (w *udpWriter) LocalAddr() net.Addr  { return w.pc.laddr }
func (w *udpWriter) RemoteAddr() net.Addr { return net.UDPAddrFromAddrPort(w.addr) }
func (w *udpWriter) Write(b []byte) (int, error) {
	if err := w.pc.send(b, w.to); err != nil {
		return 0, err
	}
	return len(b), nil
}
func (w *udpWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
func (w *udpWriter) Close() error        { return nil }
func (w *udpWriter) TsigStatus() error   { return nil }
func (w *udpWriter) TsigTimersOnly(bool) {}
func (w *udpWriter) Hijack()             {}
