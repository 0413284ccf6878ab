package runtime

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// testKey is a private key written to a file, as a user or sshd keeps it.
type testKey struct {
	path   string
	signer ssh.Signer
	raw    crypto.PrivateKey
}

func (k testKey) pub() ssh.PublicKey { return k.signer.PublicKey() }

func newTestKey(t *testing.T, dir, name, kind string) testKey {
	t.Helper()
	return writeTestKey(t, dir, name, generateKey(t, kind))
}

func generateKey(t *testing.T, kind string) crypto.PrivateKey {
	t.Helper()
	var raw crypto.PrivateKey
	var err error
	switch kind {
	case "ed25519":
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("unknown key kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func writeTestKey(t *testing.T, dir, name string, raw crypto.PrivateKey) testKey {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(raw, name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{path: path, signer: signer, raw: raw}
}

// testSSHD is a real sshd on loopback that lets in the keys it was given.
type testSSHD struct {
	addr     string // 127.0.0.1:port
	port     string
	hostKeys map[string]testKey // by kind
	log      *bytes.Buffer
}

// hostKeyKinds are the keys every test sshd has. The ecdsa key matters: Go's
// client asks for ecdsa before ed25519, which is how the known_hosts pitfall
// of LAB.md shows up.
var hostKeyKinds = []string{"ed25519", "ecdsa", "rsa"}

// sshdHostKeys are generated once per test binary, because RSA generation
// is slow; each sshd writes them into its own temp dir.
var sshdHostKeys = struct {
	once sync.Once
	keys map[string]crypto.PrivateKey
}{}

func startSSHD(t *testing.T, authorized ...ssh.PublicKey) *testSSHD {
	t.Helper()
	return startSSHDWithHostKeys(t, hostKeyKinds, authorized...)
}

func startSSHDWithHostKeys(t *testing.T, kinds []string, authorized ...ssh.PublicKey) *testSSHD {
	t.Helper()
	return startSSHDWithOptions(t, kinds, nil, authorized...)
}

// startSSHDWithOptions passes extra -o options to sshd (SetEnv=PATH=... to
// give sessions a fake command).
func startSSHDWithOptions(t *testing.T, kinds, options []string, authorized ...ssh.PublicKey) *testSSHD {
	t.Helper()
	// sshd refuses to start without its privilege separation directory.
	// It is left in place: the openssh-server package normally creates it,
	// and another test package's sshd may be using it right now.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	sshdHostKeys.once.Do(func() {
		sshdHostKeys.keys = map[string]crypto.PrivateKey{}
		for _, kind := range hostKeyKinds {
			sshdHostKeys.keys[kind] = generateKey(t, kind)
		}
	})

	dir := t.TempDir()
	var ak bytes.Buffer
	for _, k := range authorized {
		ak.Write(ssh.MarshalAuthorizedKey(k))
	}
	akPath := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(akPath, ak.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	port := freePort(t)
	args := []string{"-D", "-e", "-f", "/dev/null", "-p", port,
		"-o", "ListenAddress=127.0.0.1",
		"-o", "AuthorizedKeysFile=" + akPath,
		"-o", "StrictModes=no",
		"-o", "PidFile=none",
		"-o", "UsePAM=no",
		"-o", "LogLevel=VERBOSE",
	}
	for _, o := range options {
		args = append(args, "-o", o)
	}
	s := &testSSHD{
		addr:     net.JoinHostPort("127.0.0.1", port),
		port:     port,
		hostKeys: map[string]testKey{},
		log:      &bytes.Buffer{},
	}
	for _, kind := range kinds {
		k := writeTestKey(t, dir, "host_"+kind, sshdHostKeys.keys[kind])
		s.hostKeys[kind] = k
		args = append(args, "-h", k.path)
	}
	cmd := exec.Command("/usr/sbin/sshd", args...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.log)
		}
	})

	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on %s: %v\n%s", s.addr, err, s.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// knownHostsLine is the entry ssh-keyscan would print for the sshd.
func (s *testSSHD) knownHostsLine(kind string, hashed bool) string {
	host := knownhosts.Normalize(s.addr)
	if hashed {
		host = knownhosts.HashHostname(host)
	}
	return knownhosts.Line([]string{host}, s.hostKeys[kind].pub()) + "\n"
}

// startAgent serves an in-memory keyring over the real agent protocol on a
// unix socket, as ssh-agent does, and points SSH_AUTH_SOCK at it.
func startAgent(t *testing.T, keys ...testKey) string {
	t.Helper()
	keyring := agent.NewKeyring()
	for _, k := range keys {
		if err := keyring.Add(agent.AddedKey{PrivateKey: k.raw}); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				agent.ServeAgent(keyring, c)
			})
		}
	})
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	return sock
}

// isolateHome keeps the tests off the real ~/.ssh and agent.
func isolateHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	return home
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// dialTestHost starts an sshd and returns a Host connected to it as root.
func dialTestHost(t *testing.T, name string, sshdOptions ...string) *Host {
	t.Helper()
	home := isolateHome(t)
	key := newTestKey(t, home, "id_user", "ed25519")
	s := startSSHDWithOptions(t, hostKeyKinds, sshdOptions, key.pub())
	kh := writeFile(t, filepath.Join(home, "known_hosts"), s.knownHostsLine("ed25519", false))
	h, err := Dial(context.Background(), Target{Name: name, SSH: "root@" + s.addr},
		SSHOptions{KeyFiles: []string{key.path}, KnownHostsFile: kh})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}
