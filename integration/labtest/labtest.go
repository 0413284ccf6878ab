// Package labtest gives integration tests the lab:
//
//	func TestMain(m *testing.M) { labtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		l := labtest.Up(t, 3)
//		out, err := l.Exec(ctx, "node-1", "ip", "route")
//		c := labtest.Dial(t, l, "node-2") // SSH as root, host key checked
//	}
//
// With Main, one lab serves all the tests of the package: the first Up starts
// it fresh, later calls get it back (restarted if a test broke it), and it
// is torn down when the package's tests end. Without Main, each test gets
// its own lab, torn down at its end. Test packages that run at the same time
// take turns: the package holds the lab's lock from its first Up to teardown.
package labtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/reconcile-dev/reconcile/integration/lab"
)

var (
	mu       sync.Mutex
	shared   bool
	cur      *lab.Lab
	unlock   func()
	baseline Machine
)

// Main runs the package's tests with one shared lab and tears it down after
// them; it fails the run if the teardown left anything of the lab behind.
func Main(m *testing.M) {
	shared = true
	code := m.Run()
	if err := teardown(); err != nil {
		fmt.Fprintln(os.Stderr, "labtest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Up returns a running lab of the default name with the given number of
// hosts. It skips the test when not root.
func Up(t testing.TB, hosts int) *lab.Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the integration lab needs root (network namespaces, mounts, iptables); run the tests as root")
	}
	mu.Lock()
	defer mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if unlock == nil {
		u, err := lab.Lock(ctx, lab.DefaultName)
		if err != nil {
			t.Fatal(err)
		}
		unlock = u
		// Tests start from a fresh lab, whatever an earlier run or labctl left.
		if err := lab.Down(lab.DefaultName); err != nil {
			t.Fatalf("removing an earlier lab: %v", err)
		}
		if baseline, err = Snapshot(); err != nil {
			t.Fatal(err)
		}
	}
	l, err := lab.Up(ctx, lab.Config{Hosts: hosts})
	if err != nil {
		t.Fatal(err)
	}
	if cur == nil || l.Hosts[0].PID != cur.Hosts[0].PID || l.Hosts[0].PIDStart != cur.Hosts[0].PIDStart {
		t.Logf("lab %s: %d hosts up in %s", l.Name, len(l.Hosts), l.StartupTime.Round(time.Millisecond))
	}
	cur = l
	if !shared {
		t.Cleanup(func() {
			if err := teardown(); err != nil {
				t.Error(err)
			}
		})
	}
	return l
}

func teardown() error {
	mu.Lock()
	defer mu.Unlock()
	if unlock == nil {
		return nil
	}
	defer func() {
		unlock()
		unlock, cur = nil, nil
	}()
	if err := lab.Down(lab.DefaultName); err != nil {
		return err
	}
	after, err := Snapshot()
	if err != nil {
		return err
	}
	if left := Leftovers(baseline, after); left != "" {
		return fmt.Errorf("the lab's teardown left things behind:\n%s", left)
	}
	return nil
}

// Baseline is the machine as the package's first Up found it (after removing
// an earlier lab).
func Baseline() Machine {
	mu.Lock()
	defer mu.Unlock()
	return baseline
}

// Machine is what the lab's teardown must restore: `ip netns list` and
// `ip link` in the root namespace, by name.
type Machine struct {
	NetNS []string
	Links []string
}

// Snapshot lists the machine's network namespaces and links.
func Snapshot() (Machine, error) {
	var m Machine
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return m, fmt.Errorf("ip netns list: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			m.NetNS = append(m.NetNS, f[0])
		}
	}
	out, err = exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		return m, fmt.Errorf("ip link: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			n, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			m.Links = append(m.Links, n)
		}
	}
	slices.Sort(m.NetNS)
	slices.Sort(m.Links)
	return m, nil
}

var labNames = regexp.MustCompile(`^` + lab.DefaultName + `-`)

// Leftovers describes how after differs from before in names the lab uses;
// "" when it does not. Other differences are made by other programs (test
// packages run at the same time) and are not the lab's to judge.
func Leftovers(before, after Machine) string {
	var b strings.Builder
	diff := func(kind string, x, y []string) {
		for _, n := range y {
			if !slices.Contains(x, n) && labNames.MatchString(n) {
				fmt.Fprintf(&b, "  %s %s is new\n", kind, n)
			}
		}
		for _, n := range x {
			if !slices.Contains(y, n) && labNames.MatchString(n) {
				fmt.Fprintf(&b, "  %s %s is gone\n", kind, n)
			}
		}
	}
	diff("netns", before.NetNS, after.NetNS)
	diff("link", before.Links, after.Links)
	return b.String()
}

// ClientConfig is an SSH client config for the lab's hosts that checks host
// keys against the lab's known_hosts, as the product must.
func ClientConfig(t testing.TB, l *lab.Lab) *ssh.ClientConfig {
	t.Helper()
	key, err := os.ReadFile(l.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := knownhosts.New(l.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	return &ssh.ClientConfig{
		User:              "root",
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback:   hk,
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
		Timeout:           5 * time.Second,
	}
}

// Dial opens an SSH connection to a lab host as root, closed when the test
// ends.
func Dial(t testing.TB, l *lab.Lab, host string) *ssh.Client {
	t.Helper()
	var ip string
	for _, h := range l.Hosts {
		if h.Name == host {
			ip = h.IP
		}
	}
	if ip == "" {
		t.Fatalf("lab %s has no host %q", l.Name, host)
	}
	c, err := ssh.Dial("tcp", net.JoinHostPort(ip, "22"), ClientConfig(t, l))
	if err != nil {
		t.Fatalf("ssh %s (%s): %v", host, ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Run runs a command over SSH on a lab host and returns its stdout; a
// failure fails the test with stderr.
func Run(t testing.TB, c *ssh.Client, cmd string) string {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var stdout, stderr strings.Builder
	s.Stdout, s.Stderr = &stdout, &stderr
	if err := s.Run(cmd); err != nil {
		t.Fatalf("%s: %s: %v: %s", c.RemoteAddr(), cmd, err, stderr.String())
	}
	return stdout.String()
}
