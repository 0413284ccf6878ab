package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	docker "github.com/docker/docker/client"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sync/errgroup"

	"github.com/reconcile-dev/reconcile/integration/labtest"
	"github.com/reconcile-dev/reconcile/runtime"
)

// The floors: what a user could do by hand with the same hosts, over the
// same SSH, timed in the same run as reconcile's figure beside it.

// sshTo opens a fresh SSH connection to a lab host, as a script's `ssh host`
// would: TCP, handshake, host key check, public key auth.
func (e *env) sshTo(ctx context.Context, host string) (*ssh.Client, error) {
	var ip string
	for _, h := range e.l.Hosts {
		if h.Name == host {
			ip = h.IP
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, "22"))
	if err != nil {
		return nil, err
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, ip+":22", labtest.ClientConfig(e.t, e.l))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: ssh: %w", host, err)
	}
	return ssh.NewClient(c, chans, reqs), nil
}

// dockerOver is a Docker API client whose connections are the host's
// /var/run/docker.sock, forwarded over c: the path reconcile itself uses.
func dockerOver(c *ssh.Client) (*docker.Client, error) {
	return docker.NewClientWithOpts(
		docker.WithHost("unix:///var/run/docker.sock"),
		docker.WithDialContext(func(ctx context.Context, _, _ string) (net.Conn, error) {
			return c.DialContext(ctx, "unix", "/var/run/docker.sock")
		}),
		docker.WithAPIVersionNegotiation(),
	)
}

// onHosts runs f for every lab host at once and waits for all.
func (e *env) onHosts(f func(host string) error) error {
	var g errgroup.Group
	for _, h := range e.l.Hosts {
		g.Go(func() error { return f(h.Name) })
	}
	return g.Wait()
}

// managedContainers is every container reconcile made on each host, as
// Docker describes it: the exact creates a direct run must repeat.
func (e *env) managedContainers() map[string][]container.InspectResponse {
	e.t.Helper()
	ctx := e.ctx(2 * time.Minute)
	var mu sync.Mutex
	all := map[string][]container.InspectResponse{}
	err := e.onHosts(func(host string) error {
		c, err := e.sshTo(ctx, host)
		if err != nil {
			return err
		}
		defer c.Close()
		dc, err := dockerOver(c)
		if err != nil {
			return err
		}
		defer dc.Close()
		list, err := dc.ContainerList(ctx, container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", runtime.LabelManagedBy+"="+runtime.ManagedBy))})
		if err != nil {
			return fmt.Errorf("%s: %w", host, err)
		}
		for _, s := range list {
			if s.Labels[runtime.LabelInfra] != "" {
				continue // the host's cluster DNS server, not a pod
			}
			in, err := dc.ContainerInspect(ctx, s.ID)
			if err != nil {
				return fmt.Errorf("%s: %w", host, err)
			}
			mu.Lock()
			all[host] = append(all[host], in)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return all
}

// directParallel is how many creates (or removes) the direct run keeps in
// flight per host, as the floor does.
const directParallel = 8

// forEach runs f on every item, directParallel at a time, over one Docker
// client per host; each host's SSH dial is inside the time, as it is in
// reconcile's.
func (e *env) forEach(cs map[string][]container.InspectResponse, f func(ctx context.Context, dc *docker.Client, in container.InspectResponse) error) time.Duration {
	e.t.Helper()
	ctx := e.ctx(5 * time.Minute)
	start := time.Now()
	err := e.onHosts(func(host string) error {
		c, err := e.sshTo(ctx, host)
		if err != nil {
			return err
		}
		defer c.Close()
		dc, err := dockerOver(c)
		if err != nil {
			return err
		}
		defer dc.Close()
		var g errgroup.Group
		g.SetLimit(directParallel)
		for _, in := range cs[host] {
			g.Go(func() error {
				if err := f(ctx, dc, in); err != nil {
					return fmt.Errorf("%s: %s: %w", host, in.Name, err)
				}
				return nil
			})
		}
		return g.Wait()
	})
	d := time.Since(start)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// createDirect creates and starts the containers of cs again, straight
// through each host's Docker API: same config, same name, same pod IP.
func (e *env) createDirect(cs map[string][]container.InspectResponse) time.Duration {
	e.t.Helper()
	return e.forEach(cs, func(ctx context.Context, dc *docker.Client, in container.InspectResponse) error {
		eps := map[string]*network.EndpointSettings{}
		for name, ep := range in.NetworkSettings.Networks {
			eps[name] = &network.EndpointSettings{IPAMConfig: ep.IPAMConfig}
		}
		resp, err := dc.ContainerCreate(ctx, in.Config, in.HostConfig, &network.NetworkingConfig{EndpointsConfig: eps}, nil, strings.TrimPrefix(in.Name, "/"))
		if err != nil {
			return err
		}
		return dc.ContainerStart(ctx, resp.ID, container.StartOptions{})
	})
}

// removeDirect removes what createDirect made, with the timer's result
// thrown away.
func (e *env) removeDirect(cs map[string][]container.InspectResponse) {
	e.t.Helper()
	e.forEach(cs, func(ctx context.Context, dc *docker.Client, in container.InspectResponse) error {
		return dc.ContainerRemove(ctx, strings.TrimPrefix(in.Name, "/"), container.RemoveOptions{Force: true})
	})
}

// listDirect is the Go equivalent of `ssh host curl --unix-socket
// /var/run/docker.sock http://d/containers/json` on every host at once: a
// fresh SSH connection each, one request through the forwarded socket, the
// whole answer read.
func (e *env) listDirect() time.Duration {
	e.t.Helper()
	ctx := e.ctx(time.Minute)
	start := time.Now()
	err := e.onHosts(func(host string) error {
		c, err := e.sshTo(ctx, host)
		if err != nil {
			return err
		}
		defer c.Close()
		hc := &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return c.DialContext(ctx, "unix", "/var/run/docker.sock")
			},
		}}
		resp, err := hc.Get("http://d/containers/json")
		if err != nil {
			return fmt.Errorf("%s: %w", host, err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK || n == 0 {
			return fmt.Errorf("%s: containers/json: %s, %d bytes, %v", host, resp.Status, n, err)
		}
		return nil
	})
	d := time.Since(start)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// sshCurl is the issue's own form of listDirect's floor, literally: `ssh
// host curl --unix-socket /var/run/docker.sock http://d/containers/json` on
// every host at once, with the OpenSSH client and curl as processes.
func (e *env) sshCurl() time.Duration {
	e.t.Helper()
	ctx := e.ctx(time.Minute)
	start := time.Now()
	err := e.onHosts(func(host string) error {
		out, err := exec.CommandContext(ctx, "ssh", "-F", e.l.SSHConfig, host,
			"curl", "-sf", "--unix-socket", "/var/run/docker.sock", "http://d/containers/json").Output()
		if err != nil || len(out) == 0 {
			return fmt.Errorf("%s: ssh curl: %v", host, err)
		}
		return nil
	})
	d := time.Since(start)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// ourRestore is the iptables-restore text of exactly reconcile's part of a
// host's tables, cut from iptables-save: per table, our chains' declarations,
// their rules and the jumps into them from the built-in chains. It is what
// the agent writes, in the form the floor restores. rules counts the -A lines.
func (e *env) ourRestore(host string) (text string, rules int) {
	e.t.Helper()
	save := e.mustExec(host, "iptables-save")
	var b, table strings.Builder
	ours := false
	sc := bufio.NewScanner(strings.NewReader(save))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "*"):
			table.Reset()
			table.WriteString(line + "\n")
			ours = false
		case line == "COMMIT":
			if ours {
				b.WriteString(table.String() + "COMMIT\n")
			}
		case strings.HasPrefix(line, ":RECONCILE-"):
			ch, _, _ := strings.Cut(line, " ")
			table.WriteString(ch + " - [0:0]\n")
			ours = true
		case strings.HasPrefix(line, "-A ") && strings.Contains(line, "RECONCILE-"):
			table.WriteString(line + "\n")
			rules++
			ours = true
		}
	}
	return b.String(), rules
}

// restoreDirect pipes each host's text into one `iptables-restore
// --noflush`, over a fresh SSH connection per host, all hosts at once. The
// restore runs in a new, empty network namespace (`unshare -n`): a clean
// host, whose tables hold none of our chains yet.
func (e *env) restoreDirect(texts map[string]string) time.Duration {
	e.t.Helper()
	ctx := e.ctx(5 * time.Minute)
	start := time.Now()
	err := e.onHosts(func(host string) error {
		c, err := e.sshTo(ctx, host)
		if err != nil {
			return err
		}
		defer c.Close()
		s, err := c.NewSession()
		if err != nil {
			return err
		}
		defer s.Close()
		s.Stdin = strings.NewReader(texts[host])
		if out, err := s.CombinedOutput("unshare -n iptables-restore --noflush"); err != nil {
			return fmt.Errorf("%s: iptables-restore: %v: %s", host, err, out)
		}
		return nil
	})
	d := time.Since(start)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// checkRestore makes sure the floor's text really loads every rule: restored
// into a clean namespace, iptables-save there must show as many of our rules.
func (e *env) checkRestore(host, text string, rules int) {
	e.t.Helper()
	c, err := e.sshTo(e.ctx(time.Minute), host)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		e.t.Fatal(err)
	}
	defer s.Close()
	s.Stdin = strings.NewReader(text)
	out, err := s.CombinedOutput(`unshare -n sh -c 'iptables-restore --noflush && iptables-save | grep -c "^-A .*RECONCILE-"'`)
	if err != nil {
		e.t.Fatalf("%s: checking the restore text: %v: %s", host, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != fmt.Sprint(rules) {
		e.t.Fatalf("%s: the restore text loads %s of our rules, want %d", host, got, rules)
	}
}
