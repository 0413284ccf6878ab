package clusterdns

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/netutil"
	"golang.org/x/sync/singleflight"
)

// Config is what the server needs; zero fields take the defaults below.
type Config struct {
	// Listen are host:port addresses, each served on UDP and TCP. Port 0
	// picks one free port for both (tests). Unspecified addresses
	// (0.0.0.0, ::) are refused: the server would be an open resolver on
	// every interface of the host, and could not tell its own address
	// from an upstream's.
	Listen []string
	// RecordsFile is the records file (DefaultRecordsFile).
	RecordsFile string
	// Domain is the cluster domain when the records file names none
	// (DefaultDomain).
	Domain string
	// ResolvConf lists the upstream resolvers ("/etc/resolv.conf").
	ResolvConf string
	// UpstreamPort is the port of those resolvers ("53"): resolv.conf
	// cannot say.
	UpstreamPort string
	// SkipUpstreams are addresses (IP, or IP:port) never forwarded to,
	// besides the Listen addresses: the cluster DNS ClusterIP, whose
	// queries end up here and would loop.
	SkipUpstreams []string
	// PollInterval is how often the records file and resolv.conf are
	// checked for changes (250ms).
	PollInterval time.Duration
	// ForwardTimeout bounds one upstream attempt (2s).
	ForwardTimeout time.Duration
	// CacheSize bounds the forwarded answers kept (10000); CacheMaxTTL
	// bounds how long one is kept whatever its TTL (30s).
	CacheSize   int
	CacheMaxTTL time.Duration
	// MaxForwards bounds concurrent upstream queries (256): beyond, a
	// query is answered SERVFAIL at once instead of queueing.
	MaxForwards int
	// MaxTCPConns bounds open TCP connections per listen address (256).
	MaxTCPConns int
	// UDPReaders is how many goroutines read each UDP socket (1). Each
	// blocks in recvfrom on its own thread; a cached answer takes a few
	// microseconds, and on the lab's 2 cores a second reader only added
	// thread wake-ups competing with the pods (p50 from a pod 80-91 us
	// with one, 91-115 us with two).
	UDPReaders int
	// Logf reports reloads and errors (log.Printf).
	Logf func(format string, args ...any)
}

func (c *Config) defaults() {
	if c.RecordsFile == "" {
		c.RecordsFile = DefaultRecordsFile
	}
	if c.Domain == "" {
		c.Domain = DefaultDomain
	}
	if c.ResolvConf == "" {
		c.ResolvConf = "/etc/resolv.conf"
	}
	if c.UpstreamPort == "" {
		c.UpstreamPort = "53"
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 250 * time.Millisecond
	}
	if c.ForwardTimeout <= 0 {
		c.ForwardTimeout = 2 * time.Second
	}
	if c.CacheSize == 0 {
		c.CacheSize = 10000
	}
	if c.CacheMaxTTL <= 0 {
		c.CacheMaxTTL = 30 * time.Second
	}
	if c.MaxForwards <= 0 {
		c.MaxForwards = 256
	}
	if c.MaxTCPConns <= 0 {
		c.MaxTCPConns = 256
	}
	if c.UDPReaders <= 0 {
		c.UDPReaders = 1
	}
	if c.Logf == nil {
		c.Logf = log.Printf
	}
}

// maxWaitersPerForward bounds queries waiting for upstream answers, as a
// multiple of MaxForwards.
const maxWaitersPerForward = 8

// maxUDPQuery is the read buffer for one UDP query: a question with EDNS
// options is far smaller, and a bigger datagram is dropped, not read.
const maxUDPQuery = 4096

// maxUDPReply bounds a UDP answer whatever buffer the client advertises.
const maxUDPReply = 4096

// Server is a running cluster DNS server.
type Server struct {
	cfg       Config
	domain    string
	zone      atomic.Pointer[zone]
	upstreams atomic.Pointer[[]string]
	skip      map[string]bool
	cache     *cache
	flight    singleflight.Group
	forwards  chan struct{} // semaphore of MaxForwards
	pending   atomic.Int64  // queries waiting for a forward, shared flights included
	servers   []*dns.Server // TCP
	udp       []*udpServer
	addrs     []string
	done      chan struct{}
	ctx       context.Context
}

// Serve runs the server until ctx is done, then shuts it down gracefully.
func Serve(ctx context.Context, cfg Config) error {
	s, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	s.Wait()
	return nil
}

// Start listens on every address and serves in the background until ctx is
// done. A missing or bad records file is not fatal: cluster names answer
// SERVFAIL until a good one appears, so clients retry instead of caching a
// negative answer.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	cfg.defaults()
	domain, ok := domainName(cfg.Domain)
	if !ok {
		return nil, fmt.Errorf("cluster DNS: domain %q is not a DNS name", cfg.Domain)
	}
	if len(cfg.Listen) == 0 {
		return nil, errors.New("cluster DNS: no listen address")
	}
	s := &Server{cfg: cfg, domain: domain, skip: map[string]bool{}, cache: newCache(cfg.CacheSize, cfg.CacheMaxTTL),
		forwards: make(chan struct{}, cfg.MaxForwards), done: make(chan struct{}), ctx: ctx}
	for _, a := range cfg.SkipUpstreams {
		s.skip[a] = true
	}
	s.zone.Store(emptyZone(domain))
	s.upstreams.Store(&[]string{})
	// Bind first: the bound addresses must be in skip before resolv.conf
	// is read, and the records loaded before the first query is served.
	type bound struct {
		addr string
		pc   *udpSock
		l    net.Listener
	}
	var socks []bound
	for _, addr := range cfg.Listen {
		if host, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("cluster DNS: listen address %q: %w", addr, err)
		} else if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
			return nil, fmt.Errorf("cluster DNS: listen address %q: give the IP address to answer on, such as the host-local DNS address", addr)
		}
	}
	for _, addr := range cfg.Listen {
		pc, l, err := listen(addr)
		if err != nil {
			for _, b := range socks {
				b.pc.close()
				b.l.Close()
			}
			return nil, fmt.Errorf("cluster DNS: %w", err)
		}
		socks = append(socks, bound{addr, pc, l})
		s.addrs = append(s.addrs, pc.laddr.String())
		s.skip[pc.laddr.String()] = true
	}
	w := &watcher{s: s}
	w.poll()

	var started sync.WaitGroup
	for _, b := range socks {
		s.udp = append(s.udp, s.startUDP(b.pc, cfg.UDPReaders))
		srv := &dns.Server{Listener: netutil.LimitListener(b.l, cfg.MaxTCPConns), Handler: s}
		// Done once: when serving starts, or when it fails before.
		started.Add(1)
		var once sync.Once
		srv.NotifyStartedFunc = func() { once.Do(started.Done) }
		s.servers = append(s.servers, srv)
		go func() {
			err := srv.ActivateAndServe()
			once.Do(started.Done)
			if err != nil && ctx.Err() == nil {
				cfg.Logf("cluster DNS: serve %s: %v", b.addr, err)
			}
		}()
	}
	started.Wait()
	go func() {
		t := time.NewTicker(cfg.PollInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				s.shutdown()
				return
			case <-t.C:
				w.poll()
			}
		}
	}()
	return s, nil
}

// listen binds UDP and TCP on the same address; with port 0 it retries
// until both get the same free port.
func listen(addr string) (*udpSock, net.Listener, error) {
	for try := 0; ; try++ {
		ua, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		pc, err := bindUDP(ua)
		if err != nil {
			return nil, nil, err
		}
		l, err := net.Listen("tcp", pc.laddr.String())
		if err == nil {
			return pc, l, nil
		}
		pc.close()
		if _, port, _ := net.SplitHostPort(addr); port != "0" || try == 10 {
			return nil, nil, err
		}
	}
}

// Addrs are the bound addresses (the same port on UDP and TCP).
func (s *Server) Addrs() []string { return s.addrs }

// Wait blocks until the server has shut down.
func (s *Server) Wait() { <-s.done }

func (s *Server) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range s.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.ShutdownContext(ctx)
		}()
	}
	for _, u := range s.udp {
		wg.Go(u.stop)
	}
	wg.Wait()
	close(s.done)
}

// watcher reloads the records file and resolv.conf when they change. It
// polls with stat rather than inotify: the agent replaces the file by
// rename, which a watch on the file itself would lose, and a stat every
// 250ms costs nothing next to the 2s a dead pod may linger.
type watcher struct {
	s               *Server
	records, resolv fs.FileInfo
	recordsErr      string
	resolvErr       string
}

func changed(prev, cur fs.FileInfo) bool {
	return prev == nil || !os.SameFile(prev, cur) || !prev.ModTime().Equal(cur.ModTime()) || prev.Size() != cur.Size()
}

func (w *watcher) poll() {
	s := w.s
	if st, err := os.Stat(s.cfg.RecordsFile); err != nil {
		w.report(&w.recordsErr, fmt.Sprintf("cluster DNS: %v: keeping the last records", err))
	} else if changed(w.records, st) {
		w.records = st
		r, err := ReadRecords(s.cfg.RecordsFile)
		if err != nil {
			w.report(&w.recordsErr, fmt.Sprintf("cluster DNS: %v: keeping the last records", err))
		} else {
			s.zone.Store(buildZone(r, s.domain, uint32(st.ModTime().Unix())))
			w.recordsErr = ""
		}
	}
	if st, err := os.Stat(s.cfg.ResolvConf); err != nil {
		w.report(&w.resolvErr, fmt.Sprintf("cluster DNS: %v: keeping the last upstreams", err))
	} else if changed(w.resolv, st) {
		w.resolv = st
		ups, err := readUpstreams(s.cfg.ResolvConf, s.cfg.UpstreamPort, s.skip)
		if err != nil {
			w.report(&w.resolvErr, fmt.Sprintf("cluster DNS: %v: keeping the last upstreams", err))
			return
		}
		if len(ups) == 0 {
			w.report(&w.resolvErr, fmt.Sprintf("cluster DNS: %s names no nameserver but this server: names outside the cluster domain will fail", s.cfg.ResolvConf))
		} else {
			w.resolvErr = ""
		}
		s.upstreams.Store(&ups)
	}
}

// report logs an error once, not every poll.
func (w *watcher) report(last *string, msg string) {
	if *last != msg {
		w.s.cfg.Logf("%s", msg)
		*last = msg
	}
}

// ServeDNS answers one query: from the zone when the name is the cluster's,
// from the cache or the upstreams otherwise. UDP queries of the common
// shape do not come here once answered: the answer cache (answercache.go)
// replays their packed answer.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := s.reply(r)
	_, udp := w.LocalAddr().(*net.UDPAddr)
	finish(m, r, udp)
	w.WriteMsg(m)
}

// finish fits m to what the client can take: an OPT record when it sent
// one, and the size it can read over UDP (512 bytes without EDNS), with the
// TC bit when answers had to be dropped. Names are compressed, so the same
// question gives the same bytes on every path.
func finish(m, r *dns.Msg, udp bool) {
	size := dns.MaxMsgSize
	if udp {
		size = dns.MinMsgSize
		if o := r.IsEdns0(); o != nil {
			size = min(max(int(o.UDPSize()), dns.MinMsgSize), maxUDPReply)
		}
	}
	if o := r.IsEdns0(); o != nil {
		m.SetEdns0(upstreamUDPSize, o.Do())
	}
	m.Truncate(size)
	m.Compress = true
}

func (s *Server) reply(r *dns.Msg) *dns.Msg {
	m, chase := s.zone.Load().reply(r)
	if m == nil {
		// Not the zone's: forwarded.
		q := r.Question[0]
		m = newReply(r)
		up := s.forward(q, doBit(r))
		if up == nil {
			m.Rcode = dns.RcodeServerFailure
			return m
		}
		m.Rcode = up.Rcode
		m.Answer, m.Ns, m.Extra = up.Answer, up.Ns, withoutOPT(up.Extra)
		return m
	}
	if chase != "" {
		// An ExternalName: resolve the target as a recursive server
		// would; without an upstream the bare CNAME is still the truth.
		q := r.Question[0]
		if up := s.forward(dns.Question{Name: chase, Qtype: q.Qtype, Qclass: dns.ClassINET}, doBit(r)); up != nil {
			m.Answer = append(m.Answer, up.Answer...)
			if up.Rcode == dns.RcodeNameError {
				m.Rcode = dns.RcodeNameError
			}
		}
	}
	return m
}

func newReply(r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = true
	return m
}

func doBit(r *dns.Msg) bool {
	o := r.IsEdns0()
	return o != nil && o.Do()
}

// reply is the zone's answer to r, or nil when r's name is not the zone's
// (to be forwarded). A non-empty chase is a CNAME target outside the zone
// whose records the answer still lacks; otherwise the answer is complete
// and depends only on this snapshot, which is what lets the answer cache
// keep it until the next reload.
func (z *zone) reply(r *dns.Msg) (m *dns.Msg, chase string) {
	if len(r.Question) != 1 {
		m = newReply(r)
		m.Rcode = dns.RcodeFormatError
		return m, ""
	}
	q := r.Question[0]
	if !z.authoritative(strings.ToLower(q.Name)) {
		return nil, ""
	}
	m = newReply(r)
	m.Authoritative = true
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		m.Rcode = dns.RcodeRefused
		return m, ""
	}
	a := z.lookup(q)
	m.Rcode, m.Answer, m.Ns, m.Extra = a.rcode, a.answer, a.ns, a.extra
	return m, a.chase
}

// forward answers from the cache or the upstreams; nil means no upstream
// answered. Concurrent identical questions share one upstream query.
func (s *Server) forward(q dns.Question, do bool) *dns.Msg {
	k := keyOf(q, do)
	if m := s.cache.get(k, time.Now()); m != nil {
		return m
	}
	// Callers waiting on a shared flight hold a goroutine each: bound them
	// too, so a flood of one slow name cannot pile them up.
	if s.pending.Add(1) > int64(maxWaitersPerForward*s.cfg.MaxForwards) {
		s.pending.Add(-1)
		return nil
	}
	defer s.pending.Add(-1)
	v, _, _ := s.flight.Do(fmt.Sprint(k), func() (any, error) {
		select {
		case s.forwards <- struct{}{}:
			defer func() { <-s.forwards }()
		default:
			return (*dns.Msg)(nil), nil
		}
		m := exchange(s.ctx, *s.upstreams.Load(), q, do, s.cfg.ForwardTimeout)
		if m != nil {
			s.cache.put(k, m, time.Now())
		}
		return m, nil
	})
	m := v.(*dns.Msg)
	if m == nil {
		return nil
	}
	// The flight's callers share m with the cache: each gets its own copy.
	return m.Copy()
}
