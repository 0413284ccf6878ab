package lab

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// Up brings up the lab cfg describes and returns it once every host's sshd
// and dockerd answer and every host has the images. It is idempotent: a
// healthy lab with the same number of hosts is returned as it is; anything
// else under the same name (a lab from a crashed run, or one with another
// number of hosts) is removed first.
func Up(ctx context.Context, cfg Config) (*Lab, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("the lab needs root (network namespaces, mounts, iptables): run it as root")
	}
	if err := os.MkdirAll(BaseDir, 0o700); err != nil {
		return nil, err
	}
	unlock, err := lockFile(ctx, lockPath(cfg.Name, "op"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	start := time.Now()
	if old, err := load(cfg.StateDir); err == nil {
		if len(old.Hosts) == cfg.Hosts && old.Check(ctx) == nil {
			return old, nil
		}
		if err := old.down(); err != nil {
			return nil, fmt.Errorf("removing the earlier lab %s: %w", cfg.Name, err)
		}
	}
	if err := cleanupByName(cfg); err != nil {
		return nil, fmt.Errorf("removing leftovers of lab %s: %w", cfg.Name, err)
	}
	if err := checkClash(cfg.Name); err != nil {
		return nil, err
	}

	l := newLab(cfg)
	ok := false
	defer func() {
		if !ok {
			l.down()
		}
	}()
	if err := l.up(ctx); err != nil {
		return nil, fmt.Errorf("lab %s: %w (logs in %s)", cfg.Name, err, l.Dir)
	}
	l.StartupTime = time.Since(start)
	l.Complete = true
	if err := l.save(); err != nil {
		return nil, err
	}
	ok = true
	return l, nil
}

func newLab(cfg Config) *Lab {
	l := &Lab{
		Name:        cfg.Name,
		Dir:         cfg.StateDir,
		Bridge:      cfg.Name + "-br0",
		ClusterFile: filepath.Join(cfg.StateDir, "cluster.yaml"),
		SSHConfig:   filepath.Join(cfg.StateDir, "ssh_config"),
		KeyFile:     filepath.Join(cfg.StateDir, "id_ed25519"),
		KnownHosts:  filepath.Join(cfg.StateDir, "known_hosts"),
	}
	for i := 0; i < cfg.Hosts; i++ {
		n := hostName(i)
		l.Hosts = append(l.Hosts, Host{
			Name:  n,
			IP:    hostIP(i),
			NetNS: cfg.Name + "-" + n,
			Veth:  fmt.Sprintf("%s-n%d", cfg.Name, i+1),
		})
	}
	l.GitURL = "ssh://root@" + l.Hosts[0].IP + GitPath
	l.GitFileURL = "file://" + filepath.Join(l.hostDir(l.Hosts[0].Name), "fs", GitPath)
	l.ForwardRules = [][]string{
		{"FORWARD", "-i", l.Bridge, "-o", l.Bridge, "-j", "ACCEPT"},
		{"FORWARD", "-i", l.Bridge, "!", "-o", l.Bridge, "-j", "DROP"},
	}
	return l
}

func (l *Lab) up(ctx context.Context) error {
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return err
	}
	// The state file goes first, and is rewritten as things are created,
	// so a crash at any point leaves a record Down can follow.
	if err := l.save(); err != nil {
		return err
	}

	var build struct {
		sync.WaitGroup
		err error
	}
	build.Add(1)
	go func() {
		defer build.Done()
		build.err = l.buildImage(ctx)
	}()

	if err := l.writeFiles(); err != nil {
		return err
	}
	if err := l.makeMountpoints(); err != nil {
		return err
	}
	if err := l.makeNetwork(ctx); err != nil {
		return err
	}
	for i := range l.Hosts {
		if err := l.startHost(&l.Hosts[i]); err != nil {
			return err
		}
		if err := l.save(); err != nil {
			return err
		}
	}
	if err := l.waitReady(ctx, 90*time.Second); err != nil {
		return err
	}
	build.Wait()
	if build.err != nil {
		return build.err
	}
	if err := l.importImage(ctx); err != nil {
		return err
	}
	if _, err := l.Exec(ctx, l.Hosts[0].Name, "git", "init", "--bare", "--quiet", "--initial-branch=main", GitPath); err != nil {
		return fmt.Errorf("%s: git repository: %w", l.Hosts[0].Name, err)
	}
	return nil
}

// checkClash refuses ranges the machine already uses: an address or route
// in them on any link but this lab's own bridge.
func checkClash(name string) error {
	ours := name + "-br0"
	ranges := []netip.Prefix{
		netip.MustParsePrefix(HostNet),
		netip.MustParsePrefix(PodCIDR),
		netip.MustParsePrefix(ServiceCIDR),
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, ifc := range ifaces {
		if ifc.Name == ours {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			return err
		}
		for _, a := range addrs {
			p, err := netip.ParsePrefix(a.String())
			if err != nil {
				continue
			}
			for _, r := range ranges {
				if r.Overlaps(p) {
					return fmt.Errorf("address %s on %s overlaps the lab's range %s: the lab would hijack it; remove it (another lab? try: go run ./integration/labctl down) or run the lab on another machine", p, ifc.Name, r)
				}
			}
		}
	}
	out, err := run(context.Background(), "ip", "-4", "-o", "route", "show", "table", "all")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.Contains(line, " dev "+ours+" ") {
			continue
		}
		dst := f[0]
		if dst == "local" || dst == "broadcast" || dst == "unicast" {
			if len(f) < 2 {
				continue
			}
			dst = f[1]
		}
		if dst == "default" {
			continue
		}
		if !strings.Contains(dst, "/") {
			dst += "/32"
		}
		p, err := netip.ParsePrefix(dst)
		if err != nil {
			continue
		}
		for _, r := range ranges {
			if r.Overlaps(p) {
				return fmt.Errorf("route %q overlaps the lab's range %s: refusing to start; remove the route or run the lab on another machine", strings.TrimSpace(line), r)
			}
		}
	}
	return nil
}

// writeFiles writes the keys, known_hosts, ssh_config, the Cluster manifest
// and each host's sshd config and folders.
func (l *Lab) writeFiles() error {
	if err := os.WriteFile(filepath.Join(l.Dir, "host.sh"), hostScript, 0o700); err != nil {
		return err
	}
	pub, err := writeKey(l.KeyFile, "reconcile-lab-"+l.Name)
	if err != nil {
		return err
	}
	if err := os.WriteFile(l.KeyFile+".pub", ssh.MarshalAuthorizedKey(pub), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(l.Dir, "authorized_keys"), ssh.MarshalAuthorizedKey(pub), 0o600); err != nil {
		return err
	}
	var known, sshConfig strings.Builder
	fmt.Fprintf(&sshConfig, "# Written by the integration lab %q. Use: ssh -F %s node-1\n", l.Name, l.SSHConfig)
	for _, h := range l.Hosts {
		dir := l.hostDir(h.Name)
		for _, d := range append(hostDirs, "/srv/git") {
			if err := os.MkdirAll(filepath.Join(dir, "fs", d), 0o755); err != nil {
				return err
			}
		}
		if err := os.Chmod(filepath.Join(dir, "fs", "root"), 0o700); err != nil {
			return err
		}
		resolv := "# Written by the integration lab: nothing answers here unless a test starts a resolver there.\nnameserver " + UpstreamDNS + "\n"
		if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte(resolv), 0o644); err != nil {
			return err
		}
		keyFile := filepath.Join(dir, "ssh_host_ed25519_key")
		hostPub, err := writeKey(keyFile, "root@"+h.Name)
		if err != nil {
			return err
		}
		fmt.Fprintf(&known, "%s,%s %s", h.Name, h.IP, ssh.MarshalAuthorizedKey(hostPub))
		sshd := strings.Join([]string{
			"ListenAddress " + h.IP,
			"HostKey " + keyFile,
			"AuthorizedKeysFile " + filepath.Join(l.Dir, "authorized_keys"),
			"PermitRootLogin prohibit-password",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"UsePAM no",
			"PidFile /run/sshd.pid",
			"AllowStreamLocalForwarding yes",
			"AllowTcpForwarding yes",
			"MaxSessions 100",
			"MaxStartups 100:30:200",
			"AcceptEnv LANG LC_*",
			"Subsystem sftp /usr/lib/openssh/sftp-server",
			"",
		}, "\n")
		if err := os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(sshd), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(&sshConfig, "\nHost %s %s\n  HostName %s\n  User root\n  Port 22\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  HostKeyAlgorithms ssh-ed25519\n",
			h.Name, h.IP, h.IP, l.KeyFile, l.KnownHosts)
	}
	for file, text := range map[string]string{
		l.KnownHosts:  known.String(),
		l.SSHConfig:   sshConfig.String(),
		l.ClusterFile: l.ClusterManifest(ClusterOptions{}),
	} {
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func writeKey(file, comment string) (ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	return ssh.NewPublicKey(pub)
}

// hostDirs are the machine's folders each host has its own copy of (host.sh
// binds them).
var hostDirs = []string{"/var/lib/docker", "/var/lib/containerd", "/var/lib/reconcile", "/srv", "/etc/docker", "/root"}

// makeMountpoints creates the directories host.sh binds over, when the
// machine lacks them (no dockerd ever ran here), and records them for Down.
func (l *Lab) makeMountpoints() error {
	for _, d := range hostDirs {
		if _, err := os.Stat(d); err == nil {
			continue
		}
		if err := os.Mkdir(d, 0o711); err != nil {
			return err
		}
		l.Mountpoints = append(l.Mountpoints, d)
		if err := l.save(); err != nil {
			return err
		}
	}
	return nil
}

func (l *Lab) makeNetwork(ctx context.Context) error {
	steps := [][]string{
		{"ip", "link", "add", l.Bridge, "type", "bridge"},
		{"ip", "addr", "add", BridgeIP + "/24", "dev", l.Bridge},
		{"ip", "link", "set", l.Bridge, "up"},
	}
	for _, r := range l.ForwardRules {
		// Docker in any namespace may set FORWARD's policy to DROP, and
		// br_netfilter sends bridged frames through it; lab traffic must
		// pass between hosts and never be routed off the bridge.
		steps = append(steps, append([]string{"iptables", "-w", "-I"}, r...))
	}
	for _, h := range l.Hosts {
		steps = append(steps,
			[]string{"ip", "netns", "add", h.NetNS},
			[]string{"ip", "link", "add", h.Veth, "type", "veth", "peer", "name", "eth0", "netns", h.NetNS},
			[]string{"ip", "link", "set", h.Veth, "master", l.Bridge, "up"},
			[]string{"ip", "-n", h.NetNS, "addr", "add", h.IP + "/24", "dev", "eth0"},
			[]string{"ip", "-n", h.NetNS, "link", "set", "eth0", "up"},
			[]string{"ip", "-n", h.NetNS, "link", "set", "lo", "up"},
		)
	}
	for _, s := range steps {
		if _, err := run(ctx, s[0], s[1:]...); err != nil {
			return err
		}
	}
	return nil
}

func (l *Lab) startHost(h *Host) error {
	dir := l.hostDir(h.Name)
	logf, err := os.OpenFile(filepath.Join(dir, "host.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("nsenter", "--net=/run/netns/"+h.NetNS,
		"unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private",
		"sh", filepath.Join(l.Dir, "host.sh"), h.Name, dir, h.NetNS)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	// Its own session: the host outlives `labctl up` and ignores the
	// terminal's ^C; Down ends it by pid.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: start: %w", h.Name, err)
	}
	go cmd.Wait() // reap it if it ends while we still run
	child, err := childPID(cmd.Process.Pid, 5*time.Second)
	if err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	start, err := pidStart(child)
	if err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	h.PID, h.PIDStart = child, start
	return nil
}

func (l *Lab) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	errs := make([]error, len(l.Hosts))
	var wg sync.WaitGroup
	for i := range l.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.waitHost(ctx, &l.Hosts[i])
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (l *Lab) waitHost(ctx context.Context, h *Host) error {
	for {
		err := l.checkHost(ctx, h)
		if err == nil {
			return nil
		}
		if !alive(h.PID, h.PIDStart) {
			return fmt.Errorf("%s: host process %d ended; see %s", h.Name, h.PID, filepath.Join(l.hostDir(h.Name), "host.log"))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not ready: %w; see %s", h.Name, err, l.hostDir(h.Name))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Check reports whether the lab's start finished and every host runs and its sshd and dockerd answer.
func (l *Lab) Check(ctx context.Context) error {
	if !l.Complete {
		return fmt.Errorf("lab %s: its start did not finish (killed midway?)", l.Name)
	}
	var errs []error
	for i := range l.Hosts {
		if err := l.checkHost(ctx, &l.Hosts[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (l *Lab) checkHost(ctx context.Context, h *Host) error {
	if !alive(h.PID, h.PIDStart) {
		return fmt.Errorf("%s: host process %d is not running", h.Name, h.PID)
	}
	if err := sshBanner(ctx, h.IP); err != nil {
		return fmt.Errorf("%s: sshd: %w", h.Name, err)
	}
	if err := l.dockerPing(ctx, h); err != nil {
		return fmt.Errorf("%s: dockerd: %w", h.Name, err)
	}
	return nil
}

func sshBanner(ctx context.Context, ip string) error {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, "22"))
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 8)
	if _, err := c.Read(buf); err != nil {
		return err
	}
	if !strings.HasPrefix(string(buf), "SSH-2.0") {
		return fmt.Errorf("unexpected banner %q", buf)
	}
	return nil
}
