package lab_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/reconcile-dev/reconcile/integration/lab"
	"github.com/reconcile-dev/reconcile/integration/labtest"
)

func TestMain(m *testing.M) { labtest.Main(m) }

func TestSSHAnswersWithOwnHostname(t *testing.T) {
	l := labtest.Up(t, 3)
	for _, h := range l.Hosts {
		t.Run(h.Name, func(t *testing.T) {
			// From the root namespace, with the lab's key and known_hosts.
			c := labtest.Dial(t, l, h.Name)
			if got := labtest.Run(t, c, "hostname"); got != h.Name+"\n" {
				t.Errorf("hostname over ssh = %q, want %q", got, h.Name+"\n")
			}
			// As a user would: ssh -F ssh_config, by alias and by address.
			for _, target := range []string{h.Name, h.IP} {
				out, err := exec.Command("ssh", "-F", l.SSHConfig, "-o", "BatchMode=yes", target, "hostname; ip -4 -o addr show dev eth0").CombinedOutput()
				if err != nil {
					t.Fatalf("ssh -F %s %s: %v: %s", l.SSHConfig, target, err, out)
				}
				f := strings.Fields(string(out))
				if len(f) < 5 || f[0] != h.Name || f[4] != h.IP+"/24" {
					t.Errorf("ssh -F ... %s: got %q, want hostname %s and eth0 %s/24", target, out, h.Name, h.IP)
				}
			}
		})
	}
}

func TestDockerInfoOverSSHShowsOneDaemonPerHost(t *testing.T) {
	l := labtest.Up(t, 3)
	ids := map[string]string{}
	for _, h := range l.Hosts {
		c := labtest.Dial(t, l, h.Name)
		// The way runtime/ reaches Docker: the API over the SSH connection.
		dc, err := client.NewClientWithOpts(
			client.WithHost("http://docker"),
			client.WithDialContext(func(ctx context.Context, _, _ string) (net.Conn, error) {
				return c.Dial("unix", "/var/run/docker.sock")
			}),
			client.WithAPIVersionNegotiation(),
		)
		if err != nil {
			t.Fatal(err)
		}
		defer dc.Close()
		info, err := dc.Info(context.Background())
		if err != nil {
			t.Fatalf("%s: docker info over ssh: %v", h.Name, err)
		}
		if info.Name != h.Name {
			t.Errorf("%s: docker info name = %q", h.Name, info.Name)
		}
		if other, dup := ids[info.ID]; dup {
			t.Errorf("%s and %s share daemon %s", other, h.Name, info.ID)
		}
		ids[info.ID] = h.Name
		for _, tag := range lab.ImageTags {
			if _, err := dc.ImageInspect(context.Background(), tag); err != nil {
				t.Errorf("%s: image %s: %v", h.Name, tag, err)
			}
		}
	}
}

// Two pods on different hosts, on subnets of their own, reach each other
// with their source address intact once each host routes the other's subnet.
func TestPodsOnDifferentHostsReachEachOther(t *testing.T) {
	l := labtest.Up(t, 3)
	ctx := context.Background()
	type pod struct{ host, hostIP, subnet, ip string }
	pods := []pod{
		{"node-1", l.Hosts[0].IP, "198.18.1.0/24", "198.18.1.10"},
		{"node-2", l.Hosts[1].IP, "198.18.2.0/24", "198.18.2.10"},
	}
	on := func(host string, cmd ...string) string {
		t.Helper()
		out, err := l.Exec(ctx, host, cmd...)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	for i, p := range pods {
		peer := pods[1-i]
		on(p.host, "docker", "network", "create", "--subnet", p.subnet,
			"-o", "com.docker.network.bridge.enable_ip_masquerade=false",
			"-o", "com.docker.network.bridge.name=labtest0", "labtest")
		on(p.host, "docker", "run", "-d", "--name", "labtest-pod", "--hostname", "pod-"+p.host,
			"--network", "labtest", "--ip", p.ip, "nginx:latest")
		on(p.host, "ip", "route", "add", peer.subnet, "via", peer.hostIP)
		// Docker's FORWARD policy is DROP; let the peer's pods in.
		on(p.host, "iptables", "-I", "DOCKER-USER", "-s", peer.subnet, "-d", p.subnet, "-j", "ACCEPT")
		t.Cleanup(func() {
			l.Exec(ctx, p.host, "docker", "rm", "-f", "labtest-pod")
			l.Exec(ctx, p.host, "docker", "network", "rm", "labtest")
			l.Exec(ctx, p.host, "ip", "route", "del", peer.subnet)
			l.Exec(ctx, p.host, "iptables", "-D", "DOCKER-USER", "-s", peer.subnet, "-d", p.subnet, "-j", "ACCEPT")
		})
	}
	for i, p := range pods {
		peer := pods[1-i]
		t.Run(p.host+"->"+peer.host, func(t *testing.T) {
			var out []byte
			var err error
			for try := 0; try < 20; try++ { // the server may still be starting
				out, err = l.Exec(ctx, p.host, "docker", "exec", "labtest-pod", "/podserver", "get", "-timeout", "2s", "http://"+peer.ip+"/")
				if err == nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("hostname=pod-%s ip=%s client=%s:", peer.host, peer.ip, p.ip)
			if !strings.HasPrefix(string(out), want) {
				t.Errorf("got %q, want it to start with %q", out, want)
			}
		})
	}
}

func TestPushGitOverSSH(t *testing.T) {
	l := labtest.Up(t, 3)
	ctx := context.Background()
	dir := t.TempDir()
	for i, content := range []string{"first\n", "second\n"} {
		if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		commit, err := l.PushGit(ctx, dir, fmt.Sprintf("change %d", i))
		if err != nil {
			t.Fatal(err)
		}
		for _, url := range []string{l.GitURL, l.GitFileURL} {
			cmd := exec.Command("git", "ls-remote", url, "refs/heads/main")
			cmd.Env = append(os.Environ(), "GIT_SSH_COMMAND="+l.GitSSHCommand())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("git ls-remote %s: %v: %s", url, err, out)
			}
			if want := commit + "\trefs/heads/main\n"; string(out) != want {
				t.Errorf("ls-remote %s = %q, want %q", url, out, want)
			}
		}
		out, err := l.Exec(ctx, "node-1", "git", "--git-dir", lab.GitPath, "show", "main:app.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != content {
			t.Errorf("app.yaml on main = %q, want %q", out, content)
		}
	}
}

func TestStopAndStartDocker(t *testing.T) {
	l := labtest.Up(t, 3)
	ctx := context.Background()
	if err := l.StopDocker(ctx, "node-3"); err != nil {
		t.Fatal(err)
	}
	if out, err := l.Exec(ctx, "node-3", "docker", "version"); err == nil {
		t.Errorf("docker on node-3 answers after StopDocker: %s", out)
	}
	if err := l.Check(ctx); err == nil {
		t.Error("Check passes with node-3's dockerd stopped")
	}
	if err := l.StartDocker(ctx, "node-3"); err != nil {
		t.Fatal(err)
	}
	if err := l.Check(ctx); err != nil {
		t.Error(err)
	}
}

func TestUpTwice(t *testing.T) {
	l := labtest.Up(t, 3)
	start := time.Now()
	again, err := lab.Up(context.Background(), lab.Config{Hosts: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second up took %s", time.Since(start).Round(time.Millisecond))
	if !slices.Equal(again.Hosts, l.Hosts) {
		t.Errorf("second Up replaced the hosts:\n got %+v\nwant %+v", again.Hosts, l.Hosts)
	}
}

func TestUpAfterKill9(t *testing.T) {
	l := labtest.Up(t, 3)
	for _, h := range l.Hosts {
		if err := syscall.Kill(h.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range l.Hosts {
		for i := 0; i < 200 && processExists(h.PID); i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := l.Check(context.Background()); err == nil {
		t.Fatal("Check passes after kill -9 of every host")
	}
	again, err := lab.Up(context.Background(), lab.Config{Hosts: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("up after kill -9 took %s", again.StartupTime.Round(time.Millisecond))
	for i, h := range again.Hosts {
		if h.PID == l.Hosts[i].PID {
			t.Errorf("%s: still pid %d", h.Name, h.PID)
		}
		c := labtest.Dial(t, again, h.Name)
		if got := labtest.Run(t, c, "hostname"); got != h.Name+"\n" {
			t.Errorf("hostname = %q", got)
		}
	}
}

func processExists(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(string(b), ") Z ")
}

func TestWrittenFiles(t *testing.T) {
	l := labtest.Up(t, 3)
	tests := []struct {
		file string
		want string
	}{
		{l.ClusterFile, `# Written by the integration lab "rcl": its hosts, reached with /var/lib/reconcile-lab/rcl/ssh_config.
apiVersion: reconcile.dev/v1alpha1
kind: Cluster
metadata:
  name: lab
spec:
  podCIDR: 198.18.0.0/16
  serviceCIDR: 198.19.0.0/16
  nodes:
  - name: node-1
    ssh: root@198.51.100.11:22
    address: 198.51.100.11
  - name: node-2
    ssh: root@198.51.100.12:22
    address: 198.51.100.12
  - name: node-3
    ssh: root@198.51.100.13:22
    address: 198.51.100.13
`},
		{l.SSHConfig, `# Written by the integration lab "rcl". Use: ssh -F /var/lib/reconcile-lab/rcl/ssh_config node-1

Host node-1 198.51.100.11
  HostName 198.51.100.11
  User root
  Port 22
  IdentityFile /var/lib/reconcile-lab/rcl/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile /var/lib/reconcile-lab/rcl/known_hosts
  StrictHostKeyChecking yes
  HostKeyAlgorithms ssh-ed25519

Host node-2 198.51.100.12
  HostName 198.51.100.12
  User root
  Port 22
  IdentityFile /var/lib/reconcile-lab/rcl/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile /var/lib/reconcile-lab/rcl/known_hosts
  StrictHostKeyChecking yes
  HostKeyAlgorithms ssh-ed25519

Host node-3 198.51.100.13
  HostName 198.51.100.13
  User root
  Port 22
  IdentityFile /var/lib/reconcile-lab/rcl/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile /var/lib/reconcile-lab/rcl/known_hosts
  StrictHostKeyChecking yes
  HostKeyAlgorithms ssh-ed25519
`},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			b, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("%s:\n%s\nwant:\n%s", tt.file, b, tt.want)
			}
		})
	}
	if l.GitURL != "ssh://root@198.51.100.11/srv/git/app.git" {
		t.Errorf("GitURL = %q", l.GitURL)
	}
}

// Down leaves `ip netns list` and `ip link` as they were before the lab,
// and a lab may not start on ranges the machine already uses. Runs last:
// it takes the lab down.
func TestDownRestoresMachineAndUpRefusesClash(t *testing.T) {
	l := labtest.Up(t, 3)
	if err := l.Down(); err != nil {
		t.Fatal(err)
	}
	after, err := labtest.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if left := labtest.Leftovers(labtest.Baseline(), after); left != "" {
		t.Errorf("after Down:\n%s", left)
	}
	if _, err := os.Stat(l.Dir); !os.IsNotExist(err) {
		t.Errorf("state folder %s: %v, want it gone", l.Dir, err)
	}
	out, err := exec.Command("iptables", "-S", "FORWARD").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), l.Bridge) {
		t.Errorf("FORWARD still mentions %s:\n%s", l.Bridge, out)
	}

	// A clash: an address in the service range on a link of our own (a bridge:
	// this kernel has no dummy links).
	const dummy = "rcltest-clash"
	if out, err := exec.Command("ip", "link", "add", dummy, "type", "bridge").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", dummy).Run() })
	if out, err := exec.Command("ip", "addr", "add", "198.19.255.1/32", "dev", dummy).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	_, err = lab.Up(context.Background(), lab.Config{Hosts: 1})
	want := "address 198.19.255.1/32 on rcltest-clash overlaps the lab's range 198.19.0.0/16"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Up with a clash: %v, want an error containing %q", err, want)
	}
}
