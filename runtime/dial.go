package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/docker/docker/client"
	"golang.org/x/crypto/ssh"
)

// Dial opens the one SSH connection to t that the Host uses for everything.
// It refuses hosts whose key is not in known_hosts or differs from it.
func Dial(ctx context.Context, t Target, o SSHOptions) (*Host, error) {
	e, err := resolve(t, o)
	if err != nil {
		return nil, err
	}
	kh, err := loadKnownHosts(e)
	if err != nil {
		return nil, err
	}
	creds, err := loadCredentials(e, o.UseAgent)
	if err != nil {
		return nil, err
	}
	// The agent signs during the handshake only.
	defer creds.close()

	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.addr())
	if err != nil {
		return nil, fmt.Errorf("%s: ssh %s: %w", e.name, e.addr(), err)
	}

	var refused error
	algos := kh.algorithms(e.addr(), conn.RemoteAddr())
	cfg := &ssh.ClientConfig{
		User:              e.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(creds.signers...)},
		HostKeyCallback:   kh.callback(e, &refused),
		HostKeyAlgorithms: algos,
	}

	// The handshake takes no context; closing the conn is how a silent
	// server or a cancelled caller ends it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, e.addr(), cfg)
	if !stop() {
		if err == nil {
			c.Close()
		}
		conn.Close()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s: ssh %s: no ssh handshake within %s (raise ConnectTimeout or the timeout): %w", e.name, e.addr(), e.timeout, ctx.Err())
		}
		return nil, fmt.Errorf("%s: ssh %s: %w", e.name, e.addr(), ctx.Err())
	}
	if err != nil {
		conn.Close()
		switch {
		case refused != nil:
			return nil, refused
		case algos != nil && strings.Contains(err.Error(), "no common algorithm for host key"):
			return nil, kh.noKnownType(e, algos)
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, creds.authError(e, err)
		}
		return nil, fmt.Errorf("%s: ssh %s: %w", e.name, e.addr(), err)
	}
	sc := ssh.NewClient(c, chans, reqs)
	dc, err := newDockerClient(sc, e.socket)
	if err != nil {
		sc.Close()
		return nil, fmt.Errorf("%s: docker client for %s: %w", e.name, e.socket, err)
	}
	return &Host{
		Name:     e.name,
		Addr:     e.addr(),
		User:     e.user,
		ssh:      sc,
		docker:   dc,
		sessions: make(chan struct{}, maxSessions),
		binDir:   defaultBinDir,
	}, nil
}

// DialAll dials every target at once. Each target ends up in exactly one of
// the two maps, keyed by name, so one unreachable host does not hide the
// others.
func DialAll(ctx context.Context, ts []Target, o SSHOptions) (map[string]*Host, map[string]error) {
	hosts := map[string]*Host{}
	errs := map[string]error{}
	count := map[string]int{}
	for _, t := range ts {
		count[t.Name]++
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, n := range count {
		if n > 1 {
			errs[name] = fmt.Errorf("%s: listed %d times in the inventory", name, n)
		}
	}
	for _, t := range ts {
		if count[t.Name] > 1 {
			continue
		}
		wg.Go(func() {
			h, err := Dial(ctx, t, o)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[t.Name] = err
				return
			}
			hosts[t.Name] = h
		})
	}
	wg.Wait()
	return hosts, errs
}

func newDockerClient(c *ssh.Client, socket string) (*client.Client, error) {
	return client.NewClientWithOpts(
		client.WithHost("unix://"+socket),
		// After WithHost, which installs a local unix dialer.
		client.WithDialContext(func(ctx context.Context, _, _ string) (net.Conn, error) {
			return c.DialContext(ctx, "unix", socket)
		}),
		client.WithAPIVersionNegotiation(),
	)
}
