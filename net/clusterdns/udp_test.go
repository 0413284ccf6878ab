package clusterdns

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Datagrams already queued when the reader starts, of every kind: cached
// answers, a forwarded name whose upstream takes its time, datagrams only
// the full path answers (FORMERR) or nobody answers (too short, a
// response). Every client gets its own answer, to its own address, and the
// cached ones do not wait for the upstream.
func TestUDPQueuedMixed(t *testing.T) {
	const delay = 500 * time.Millisecond
	up := startUpstream(t, delay)
	e := startServer(t, testRecords(), Config{UpstreamPort: up.port(), PollInterval: 20 * time.Millisecond})
	writeResolvConf(t, e.resolv, "127.0.0.1")
	time.Sleep(100 * time.Millisecond) // the poll picks up resolv.conf

	query := func(name string, qtype uint16) []byte {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	response := query("my-nginx.default.svc.cluster.local.", dns.TypeA)
	response[2] |= 0x80
	tests := []struct {
		name  string
		query []byte
		rcode int    // -1: no answer at all
		want  string // values of the answer
		slow  bool   // waits for the upstream
	}{
		{"cached A", query("my-nginx.default.svc.cluster.local.", dns.TypeA), dns.RcodeSuccess, "10.96.0.20", false},
		{"forwarded", query("www.example.org.", dns.TypeA), dns.RcodeSuccess, "10.9.8.7", true},
		{"0x20", query("My-Nginx.default.svc.cluster.local.", dns.TypeA), dns.RcodeSuccess, "10.96.0.20", false},
		{"NXDOMAIN", query("nope.default.svc.cluster.local.", dns.TypeA), dns.RcodeNameError, "", false},
		// Refused by miekg's accept function, and a question cut short.
		{"two questions", []byte{0, 7, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0}, dns.RcodeFormatError, "", false},
		{"cut short", []byte{0, 8, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xff}, dns.RcodeFormatError, "", false},
		{"too short", []byte{1, 2, 3}, -1, "", false},
		{"response", response, -1, "", false},
		{"headless", query("db.default.svc.cluster.local.", dns.TypeA), dns.RcodeSuccess, "10.244.1.9,10.244.2.7", false},
	}
	// Closed by u.stop, not by the test.
	pc, err := bindUDP(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	cs := make([]*net.UDPConn, len(tests))
	for i, tt := range tests {
		c, err := net.DialUDP("udp", nil, pc.laddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write(tt.query); err != nil {
			t.Fatal(err)
		}
		cs[i] = c
	}
	// Every client reads at once: an answer's time is when it came, not
	// when the test got round to it.
	type answer struct {
		wire []byte
		took time.Duration
		err  error
	}
	answers := make([]chan answer, len(tests))
	start := time.Now()
	u := e.srv.startUDP(pc, 1)
	t.Cleanup(u.stop)
	for i, tt := range tests {
		answers[i] = make(chan answer, 1)
		go func() {
			wait := 3 * time.Second
			if tt.rcode < 0 {
				wait = delay + 200*time.Millisecond
			}
			cs[i].SetReadDeadline(start.Add(wait))
			buf := make([]byte, maxUDPReply)
			n, err := cs[i].Read(buf)
			answers[i] <- answer{buf[:n], time.Since(start), err}
		}()
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := <-answers[i]
			if tt.rcode < 0 {
				if a.err == nil {
					t.Errorf("answered %d bytes, want no answer", len(a.wire))
				}
				return
			}
			if a.err != nil {
				t.Fatal(a.err)
			}
			r := new(dns.Msg)
			if err := r.Unpack(a.wire); err != nil {
				t.Fatal(err)
			}
			if r.Id != be16(tt.query) {
				t.Errorf("ID %d, want %d: another client's answer", r.Id, be16(tt.query))
			}
			if r.Rcode != tt.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
			}
			if got := strings.Join(values(r), ","); got != tt.want {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
			if tt.rcode == dns.RcodeSuccess {
				q := new(dns.Msg)
				q.Unpack(tt.query)
				if r.Question[0].Name != q.Question[0].Name {
					t.Errorf("question %q, want %q", r.Question[0].Name, q.Question[0].Name)
				}
			}
			if slow := a.took >= delay; slow != tt.slow {
				t.Errorf("answered after %v (the upstream waits %v)", a.took, delay)
			}
		})
	}
}

// stop ends readers blocked in the socket with nothing queued.
func TestUDPStopWhileBlocked(t *testing.T) {
	e := startServer(t, testRecords(), Config{})
	for _, readers := range []int{1, 3} {
		t.Run(fmt.Sprint(readers), func(t *testing.T) {
			pc, err := bindUDP(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			u := e.srv.startUDP(pc, readers)
			time.Sleep(50 * time.Millisecond) // the readers are in recvfrom
			done := make(chan struct{})
			go func() { u.stop(); close(done) }()
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				t.Fatal("readers still blocked after stop")
			}
		})
	}
}
