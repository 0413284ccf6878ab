package clusterdns

import (
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// udpSock is a UDP socket in blocking mode, read by goroutines that sit in
// recvfrom. Go's own UDPConn is non-blocking: a datagram wakes the runtime's
// netpoller, which then wakes a thread to run the reader, two hand-offs per
// query before any answering starts. A reader blocked in recvfrom is woken
// by the kernel itself, as dnsmasq's loop is; measured from a pod on the lab
// (BenchmarkLabClusterDNS) that hand-off was most of the gap to dnsmasq.
// Each blocked reader holds an OS thread; there are UDPReaders of them per
// listen address.
type udpSock struct {
	fd      int
	laddr   *net.UDPAddr
	closing atomic.Bool
}

// bindUDP opens a blocking UDP socket bound to addr (port 0: a free one).
func bindUDP(addr *net.UDPAddr) (*udpSock, error) {
	ip, ok := netip.AddrFromSlice(addr.IP)
	if !ok {
		return nil, fmt.Errorf("listen udp %s: not an IP address", addr)
	}
	ip = ip.Unmap()
	family := unix.AF_INET
	var sa unix.Sockaddr = &unix.SockaddrInet4{Port: addr.Port, Addr: ip.As4()}
	if ip.Is6() {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: addr.Port, Addr: ip.As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	if family == unix.AF_INET6 {
		unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	return &udpSock{fd: fd, laddr: udpAddr(bound)}, nil
}

// recv blocks for one datagram; n == 0 with closed true is the end.
func (u *udpSock) recv(buf []byte) (n int, from unix.Sockaddr, closed bool, err error) {
	n, from, err = unix.Recvfrom(u.fd, buf, 0)
	if u.closing.Load() {
		return 0, nil, true, nil
	}
	return n, from, false, err
}

func (u *udpSock) send(b []byte, to unix.Sockaddr) error {
	return unix.Sendto(u.fd, b, 0, to)
}

// wake ends every blocked recv: shutdown on a UDP socket wakes its waiters
// on Linux (and reports ENOTCONN, as the socket is not connected).
func (u *udpSock) wake() {
	u.closing.Store(true)
	unix.Shutdown(u.fd, unix.SHUT_RDWR)
}

// close releases the socket, once nothing reads or writes it any more.
func (u *udpSock) close() error { return unix.Close(u.fd) }

func udpAddr(sa unix.Sockaddr) *net.UDPAddr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.UDPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.UDPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	}
	return &net.UDPAddr{}
}

func addrPort(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}
