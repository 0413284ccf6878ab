package gitsource

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// sshServer is a real sshd on 127.0.0.1 with throwaway host and client keys.
type sshServer struct {
	port      int
	dir       string
	user      string
	clientKey string            // private key file authorized on the server
	hostKeys  map[string]string // type ("ed25519", "ecdsa", "rsa") -> public key line
}

func (s *sshServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

func (s *sshServer) url(path string) string {
	return fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", s.user, s.port, path)
}

// knownHosts writes a known_hosts file naming the server with the given
// host key types, and returns its path.
func (s *sshServer) knownHosts(t testing.TB, types ...string) string {
	t.Helper()
	var b strings.Builder
	for _, typ := range types {
		fmt.Fprintf(&b, "[127.0.0.1]:%d %s\n", s.port, s.hostKeys[typ])
	}
	f := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, f, b.String())
	return f
}

func keygen(t testing.TB, typ, file string) string {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-q", "-t", typ, "-N", "", "-C", "", "-f", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(file + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(pub))
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startSSHD runs /usr/sbin/sshd in a private mount namespace, where a tmpfs
// on /run gives it the /run/sshd it insists on without touching the
// machine's /run. It is killed by pid in t.Cleanup.
func startSSHD(t testing.TB) *sshServer {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("sshd test needs root (for sshd's privilege separation)")
	}
	for _, bin := range []string{"/usr/sbin/sshd", "ssh-keygen", "unshare", "git-upload-pack"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed", bin)
		}
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	s := &sshServer{dir: t.TempDir(), user: u.Username, hostKeys: map[string]string{}}
	var hostKeyLines []string
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		f := filepath.Join(s.dir, "host_"+typ)
		pub := keygen(t, typ, f)
		s.hostKeys[typ] = pub
		hostKeyLines = append(hostKeyLines, "HostKey "+f)
	}
	s.clientKey = filepath.Join(s.dir, "client")
	writeFile(t, filepath.Join(s.dir, "authorized_keys"), keygen(t, "ed25519", s.clientKey)+"\n")

	s.port = freePort(t)
	config := filepath.Join(s.dir, "sshd_config")
	writeFile(t, config, strings.Join(append(hostKeyLines,
		"ListenAddress 127.0.0.1",
		"Port "+strconv.Itoa(s.port),
		"AuthorizedKeysFile "+filepath.Join(s.dir, "authorized_keys"),
		"StrictModes no",
		"PidFile none",
		"UsePAM no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
	), "\n")+"\n")

	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs tmpfs /run && mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e -f "$1"`, "sh", config)
	logFile, err := os.Create(filepath.Join(s.dir, "sshd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("sshd log:\n%s", b)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr(), time.Second)
		if err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logFile.Name())
			t.Fatalf("sshd did not listen on %s: %v\n%s", s.addr(), err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serveAgent runs an in-process ssh-agent holding the key file and points
// SSH_AUTH_SOCK at it.
func serveAgent(t *testing.T, keyFile string) {
	t.Helper()
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.ParseRawPrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(keyring, c)
			}()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
}

func TestFetchOverSSH(t *testing.T) {
	s := startSSHD(t)
	r := newTestRepo(t)
	url := s.url(r.bare)
	cache := t.TempDir()
	otherKey := filepath.Join(t.TempDir(), "other")
	keygen(t, "ed25519", otherKey)

	tests := []struct {
		name       string
		o          Options
		agentKey   string // served by an ssh-agent when set
		wantCommit string
		wantErr    string
	}{
		{
			name:       "key file, branch",
			o:          Options{Ref: "main", SSHKeyFile: s.clientKey, KnownHostsFile: s.knownHosts(t, "ed25519", "ecdsa", "rsa")},
			wantCommit: r.second,
		},
		{
			// The server offers ecdsa/rsa before ed25519 unless told which
			// algorithms known_hosts has (LAB.md pitfall).
			name:       "known_hosts lists only ed25519",
			o:          Options{Ref: "v1", SSHKeyFile: s.clientKey, KnownHostsFile: s.knownHosts(t, "ed25519")},
			wantCommit: r.first,
		},
		{
			name:       "known_hosts lists only rsa",
			o:          Options{Ref: r.feature[:7], SSHKeyFile: s.clientKey, KnownHostsFile: s.knownHosts(t, "rsa")},
			wantCommit: r.feature,
		},
		{
			name:       "ssh-agent",
			o:          Options{Ref: "feature", KnownHostsFile: s.knownHosts(t, "ed25519")},
			agentKey:   s.clientKey,
			wantCommit: r.feature,
		},
		{
			// With no line for the host, the client's default preference
			// picks the server's ecdsa key.
			name: "unknown host",
			o:    Options{Ref: "main", SSHKeyFile: s.clientKey, KnownHostsFile: writeTemp(t, "[127.0.0.1]:1 "+s.hostKeys["ed25519"]+"\n")},
			wantErr: fmt.Sprintf("git: ssh host [127.0.0.1]:%[1]d is not in %%[1]s; check its key (%[2]s) and add it: ssh-keyscan -p %[1]d 127.0.0.1 >> %%[1]s, or ssh to the host once by hand",
				s.port, fingerprint(t, s.hostKeys["ecdsa"])),
		},
		{
			name: "host key mismatch",
			o:    Options{Ref: "main", SSHKeyFile: s.clientKey, KnownHostsFile: writeTemp(t, fmt.Sprintf("[127.0.0.1]:%d %s\n", s.port, strings.TrimSpace(readFile(t, otherKey+".pub"))))},
			wantErr: fmt.Sprintf("git: ssh host key of [127.0.0.1]:%[1]d (%[2]s) does not match %%[1]s; if the host was reinstalled, remove the old line (ssh-keygen -R '[127.0.0.1]:%[1]d' -f %%[1]s) and add the new key (ssh-keyscan -p %[1]d 127.0.0.1 >> %%[1]s), otherwise someone may be intercepting the connection",
				s.port, fingerprint(t, s.hostKeys["ed25519"])),
		},
		{
			name: "key not authorized",
			o:    Options{Ref: "main", SSHKeyFile: otherKey, KnownHostsFile: s.knownHosts(t, "ed25519")},
			wantErr: fmt.Sprintf(`git: cannot reach %s: ssh login as %q with key %s was refused; check that the public key is in the server's authorized_keys: ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain`,
				url, s.user, otherKey),
		},
		{
			name:    "no key and no agent",
			o:       Options{Ref: "main", KnownHostsFile: s.knownHosts(t, "ed25519")},
			wantErr: fmt.Sprintf("git: no ssh key for %s: start ssh-agent and ssh-add your key (SSH_AUTH_SOCK is not set), or pass --git-ssh-key FILE", url),
		},
		{
			name:    "bad repository path",
			o:       Options{URL: s.url("/nonexistent/app.git"), Ref: "main", SSHKeyFile: s.clientKey, KnownHostsFile: s.knownHosts(t, "ed25519")},
			wantErr: fmt.Sprintf("git: cannot reach %s: repository not found", s.url("/nonexistent/app.git")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SSH_AUTH_SOCK", "")
			if tt.agentKey != "" {
				serveAgent(t, tt.agentKey)
			}
			o := tt.o
			if o.URL == "" {
				o.URL = url
			}
			o.CacheDir = cache
			res, err := Fetch(context.Background(), o)
			if tt.wantErr != "" {
				want := tt.wantErr
				if strings.Contains(want, "%[1]s") {
					want = fmt.Sprintf(want, o.KnownHostsFile)
				}
				if err == nil || err.Error() != want {
					t.Errorf("error:\n got: %v\nwant: %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Commit != tt.wantCommit {
				t.Errorf("commit %s, want %s", res.Commit, tt.wantCommit)
			}
		})
	}
}

// TestFetchOverSSHIncremental checks the second fetch over SSH sees a new
// commit without cloning again.
func TestFetchOverSSHIncremental(t *testing.T) {
	s := startSSHD(t)
	r := newTestRepo(t)
	cache := t.TempDir()
	o := Options{URL: s.url(r.bare), Ref: "main", Path: "deploy", CacheDir: cache, SSHKeyFile: s.clientKey, KnownHostsFile: s.knownHosts(t, "ed25519")}
	if _, err := Fetch(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	root, _ := cacheRoot(cache, o.URL)
	marker := filepath.Join(root, "repo.git", "marker")
	writeFile(t, marker, "first clone\n")
	third := r.commit("v3\n")
	res, err := Fetch(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != third || readFile(t, filepath.Join(res.Dir, "app.yaml")) != "v3\n" {
		t.Errorf("got %s, want %s with app.yaml v3", res.Commit, third)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("clone was redone: %v", err)
	}
}

func writeTemp(t testing.TB, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, f, content)
	return f
}

func fingerprint(t *testing.T, pubLine string) string {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pubLine))
	if err != nil {
		t.Fatal(err)
	}
	return k.Type() + " " + ssh.FingerprintSHA256(k)
}
