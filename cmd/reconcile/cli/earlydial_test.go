package cli

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/reconcile-dev/reconcile/reconcile"
	"github.com/reconcile-dev/reconcile/runtime"
)

// A host the last load named is dialled while the manifests load; when the
// load fails its errors come out exactly as without the dial, at once (the
// handshake with a silent server would take 10 s), and the early
// connection is closed by the time the command returns.
func TestEarlyDialClosedWhenLoadFails(t *testing.T) {
	dir := t.TempDir()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	key, kh, cache := filepath.Join(dir, "id"), filepath.Join(dir, "known_hosts"), filepath.Join(dir, "cache")
	if err := os.WriteFile(key, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kh, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A server on loopback that accepts and never answers: the SSH
	// handshake waits on it until the dial is called off.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	src := reconcile.SourceOptions{Dir: "testdata/broken-tree", CacheDir: cache}
	reconcile.RememberTargets(src, nil, []runtime.Target{{Name: "node-1", SSH: "root@" + ln.Addr().String()}})

	ios, stdout, stderr := Test()
	start := time.Now()
	code := Run([]string{"apply", "-f", "testdata/broken-tree", "--cache-dir", cache,
		"--ssh-key", key, "--known-hosts", kh, "--no-ssh-agent", "-F", os.DevNull}, ios)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the failed load returned after %s: the early dial held it", took)
	}
	if code != ExitInvalid || stdout.Len() != 0 || !strings.HasSuffix(stderr.String(), "12 problems found; nothing was changed\n") {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	select {
	case c := <-accepted:
		defer c.Close()
		// Closed by us: the read ends (EOF or reset) instead of timing out.
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatal("the early connection was left open")
				}
				break
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the host of the memo was not dialled early")
	}
}
