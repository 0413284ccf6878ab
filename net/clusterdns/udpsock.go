package clusterdns

import (
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"unsafe"

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

// peer is a datagram's source address as the kernel wrote it, kept in
// the reader's own memory and handed back to sendto as it is: no Sockaddr
// is allocated or converted per query.
type peer struct {
	raw unix.RawSockaddrAny
	len uint32
}

// recv blocks for one datagram into buf and its source into from; closed
// is the end of the socket.
func (u *udpSock) recv(buf []byte, from *peer) (n int, closed bool, err error) {
	from.len = unix.SizeofSockaddrAny
	r, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(u.fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)),
		0, uintptr(unsafe.Pointer(&from.raw)), uintptr(unsafe.Pointer(&from.len)))
	if u.closing.Load() {
		return 0, true, nil
	}
	if errno != 0 {
		return 0, false, errno
	}
	return int(r), false, nil
}

func (u *udpSock) send(b []byte, to *peer) error {
	if len(b) == 0 {
		return nil
	}
	_, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(u.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		0, uintptr(unsafe.Pointer(&to.raw)), uintptr(to.len))
	if errno != 0 {
		return errno
	}
	return nil
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

// addrPort is the peer's address, for the full path's RemoteAddr.
func (p *peer) addrPort() netip.AddrPort {
	switch p.raw.Addr.Family {
	case unix.AF_INET:
		a := (*unix.RawSockaddrInet4)(unsafe.Pointer(&p.raw))
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), be16((*[2]byte)(unsafe.Pointer(&a.Port))[:]))
	case unix.AF_INET6:
		a := (*unix.RawSockaddrInet6)(unsafe.Pointer(&p.raw))
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), be16((*[2]byte)(unsafe.Pointer(&a.Port))[:]))
	}
	return netip.AddrPort{}
}
