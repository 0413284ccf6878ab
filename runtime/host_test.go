package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestDialAll(t *testing.T) {
	home := isolateHome(t)
	key := newTestKey(t, home, "id_user", "ed25519")
	s := startSSHD(t, key.pub())
	kh := writeFile(t, filepath.Join(home, "known_hosts"), s.knownHostsLine("ed25519", false))
	refused := net.JoinHostPort("127.0.0.1", freePort(t))
	silent1, silent2 := silentListener(t), silentListener(t)

	ts := []Target{
		{Name: "node-1", SSH: "root@" + s.addr},
		{Name: "node-2", SSH: "root@" + s.addr},
		{Name: "down", SSH: "root@" + refused},
		{Name: "wedged-1", SSH: "root@" + silent1},
		{Name: "wedged-2", SSH: "root@" + silent2},
		{Name: "twice", SSH: "root@" + s.addr},
		{Name: "twice", SSH: "root@" + s.addr},
	}
	start := time.Now()
	hosts, errs := DialAll(context.Background(), ts, SSHOptions{KeyFiles: []string{key.path}, KnownHostsFile: kh, Timeout: time.Second})
	elapsed := time.Since(start)
	for _, h := range hosts {
		t.Cleanup(func() { h.Close() })
	}

	var names []string
	for name, h := range hosts {
		names = append(names, name)
		if out, err := h.Run(context.Background(), nil, "echo "+name); err != nil || string(out) != name+"\n" {
			t.Errorf("%s: Run = %q, %v", name, out, err)
		}
	}
	slices.Sort(names)
	if want := []string{"node-1", "node-2"}; !slices.Equal(names, want) {
		t.Errorf("hosts = %v, want %v", names, want)
	}
	wantErrs := map[string]string{
		"down":     fmt.Sprintf("down: ssh %s: dial tcp %s: connect: connection refused", refused, refused),
		"wedged-1": fmt.Sprintf("wedged-1: ssh %s: no ssh handshake within 1s (raise ConnectTimeout or the timeout): context deadline exceeded", silent1),
		"wedged-2": fmt.Sprintf("wedged-2: ssh %s: no ssh handshake within 1s (raise ConnectTimeout or the timeout): context deadline exceeded", silent2),
		"twice":    "twice: listed 2 times in the inventory",
	}
	for name, want := range wantErrs {
		if err := errs[name]; err == nil || err.Error() != want {
			t.Errorf("errs[%s]:\n got: %v\nwant: %s", name, err, want)
		}
	}
	if len(errs) != len(wantErrs) {
		t.Errorf("errs = %v, want %d entries", errs, len(wantErrs))
	}
	// Two hosts that each take the full 1s timeout: in sequence that
	// would be 2s.
	if elapsed > 1900*time.Millisecond {
		t.Errorf("DialAll took %s; the targets were not dialed in parallel", elapsed)
	}
}

// silentListener accepts TCP connections and never answers, like a host
// whose sshd is wedged.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// TestDockerThroughSSH stands a tiny HTTP server on a unix socket in for
// dockerd: the Docker client must reach it through sshd, not directly, and
// must settle on the API version the server speaks.
func TestDockerThroughSSH(t *testing.T) {
	home := isolateHome(t)
	key := newTestKey(t, home, "id_user", "ed25519")
	s := startSSHD(t, key.pub())
	kh := writeFile(t, filepath.Join(home, "known_hosts"), s.knownHostsLine("ed25519", false))

	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var paths []string
	var peers []int32
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			paths = append(paths, r.Method+" "+r.URL.Path)
			mu.Unlock()
			w.Header().Set("Api-Version", "1.41")
			switch r.URL.Path {
			case "/_ping":
				w.Write([]byte("OK"))
			case "/v1.41/version":
				json.NewEncoder(w).Encode(map[string]string{"Version": "20.10.24", "ApiVersion": "1.41", "MinAPIVersion": "1.12"})
			default:
				http.NotFound(w, r)
			}
		}),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			mu.Lock()
			peers = append(peers, peerPID(t, c))
			mu.Unlock()
			return ctx
		},
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	h, err := Dial(context.Background(), Target{Name: "node-1", SSH: "root@" + s.addr, DockerHost: "unix://" + sock},
		SSHOptions{KeyFiles: []string{key.path}, KnownHostsFile: kh})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 2 {
		v, err := h.Docker().ServerVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v.Version != "20.10.24" || v.APIVersion != "1.41" {
			t.Errorf("version = %s API %s, want 20.10.24 API 1.41", v.Version, v.APIVersion)
		}
	}
	if got := h.Docker().ClientVersion(); got != "1.41" {
		t.Errorf("negotiated API version %s, want 1.41", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"HEAD /_ping", "GET /v1.41/version", "GET /v1.41/version"}; !slices.Equal(paths, want) {
		t.Errorf("requests = %q, want %q", paths, want)
	}
	for _, pid := range peers {
		if pid == int32(os.Getpid()) {
			t.Errorf("the test process dialed the socket itself, not through sshd")
		}
	}
	if len(peers) == 0 {
		t.Errorf("no connection reached the socket")
	}
}

func peerPID(t *testing.T, c net.Conn) int32 {
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Error(err)
		return 0
	}
	var cred *syscall.Ucred
	raw.Control(func(fd uintptr) {
		cred, err = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if err != nil {
		t.Error(err)
		return 0
	}
	return cred.Pid
}
