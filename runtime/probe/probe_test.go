package probe

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMainHTTP(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusOK)
		case "/no-content":
			w.WriteHeader(http.StatusNoContent)
		case "/redirect":
			http.Redirect(w, r, "http://198.51.100.250/elsewhere", http.StatusFound)
		case "/not-found":
			http.NotFound(w, r)
		case "/error":
			w.WriteHeader(http.StatusInternalServerError)
		case "/headers":
			if r.Header.Get("X-Probe") != "yes" || r.Host != "app.example" || r.UserAgent() != UserAgent {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
		case "/slow":
			<-release
		}
	}))
	// Unblock /slow before Close waits for its handler.
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // exact; {URL} is the test server's base URL
	}{
		{"200", []string{"--http", "{URL}/ok"}, 0, "GET {URL}/ok: HTTP 200 OK\n"},
		{"204", []string{"--http", "{URL}/no-content"}, 0, "GET {URL}/no-content: HTTP 204 No Content\n"},
		{"redirect is success and not followed", []string{"--http", "{URL}/redirect"}, 0, "GET {URL}/redirect: HTTP 302 Found\n"},
		{"404", []string{"--http", "{URL}/not-found"}, 1, "probe failed: GET {URL}/not-found: HTTP 404 Not Found\n"},
		{"500", []string{"--http", "{URL}/error"}, 1, "probe failed: GET {URL}/error: HTTP 500 Internal Server Error\n"},
		{"headers and Host", []string{"--http", "{URL}/headers", "--header", "X-Probe: yes", "--header", "Host:app.example"}, 0, "GET {URL}/headers: HTTP 200 OK\n"},
		{"missing headers", []string{"--http", "{URL}/headers"}, 1, "probe failed: GET {URL}/headers: HTTP 400 Bad Request\n"},
		{"bad header", []string{"--http", "{URL}/ok", "--header", "nocolon"}, 1, "probe failed: header \"nocolon\": want Name:Value\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "{URL}", srv.URL)
			}
			var stdout, stderr bytes.Buffer
			code := Main(args, &stdout, &stderr)
			want := strings.ReplaceAll(tt.wantStdout, "{URL}", srv.URL)
			if code != tt.wantCode || stdout.String() != want {
				t.Errorf("Main(%q) = %d, stdout %q (stderr %q); want %d, %q", args, code, stdout.String(), stderr.String(), tt.wantCode, want)
			}
		})
	}

	t.Run("timeout", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		start := time.Now()
		code := Main([]string{"--http", srv.URL + "/slow", "--timeout", "200ms"}, &stdout, &stderr)
		if code != 1 || !strings.HasPrefix(stdout.String(), "probe failed: ") || !strings.Contains(stdout.String(), "deadline exceeded") {
			t.Errorf("code %d, stdout %q; want 1 and a deadline error", code, stdout.String())
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v; the timeout did not apply", d)
		}
	})
}

func TestMainTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	// A port that was just listening and is now closed: refused, not filtered.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	open := ln.Addr().String()
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"--tcp", open}, &stdout, &stderr); code != 0 || stdout.String() != "connect "+open+": ok\n" {
		t.Errorf("open port: code %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	if code := Main([]string{"--tcp", closedAddr}, &stdout, &stderr); code != 1 || !strings.Contains(stdout.String(), "connection refused") {
		t.Errorf("closed port: code %d, stdout %q; want 1 and connection refused", code, stdout.String())
	}
}

func TestMainUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStdout string
		wantStderr string
	}{
		{"nothing", nil, "", "probe: give exactly one of --http, --tcp or --exec\n"},
		{"both", []string{"--http", "http://127.0.0.1:1/", "--tcp", "127.0.0.1:1"}, "", "probe: give exactly one of --http, --tcp or --exec\n"},
		{"extra args", []string{"--tcp", "127.0.0.1:1", "x"}, "", "probe: unexpected arguments [\"x\"]\n"},
		{"zero timeout", []string{"--tcp", "127.0.0.1:1", "--timeout", "0s"}, "", "probe: --timeout must be positive\n"},
		{"tcp without port", []string{"--tcp", "127.0.0.1"}, "probe failed: --tcp \"127.0.0.1\": want host:port\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(tt.args, &stdout, &stderr)
			if code != 1 || stdout.String() != tt.wantStdout || stderr.String() != tt.wantStderr {
				t.Errorf("Main(%q) = %d, stdout %q, stderr %q; want 1, %q, %q", tt.args, code, stdout.String(), stderr.String(), tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

// --gate holds every check until its file exists; --exec runs a command.
func TestMainGateAndExec(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "ok")
	tests := []struct {
		name     string
		args     []string
		makeGate bool
		code     int
		stdout   string
	}{
		{"gate missing", []string{"--gate", gate}, false, 1, "probe failed: the startup probe has not succeeded yet\n"},
		{"gate alone", []string{"--gate", gate}, true, 0, "started\n"},
		{"gate holds exec", []string{"--gate", gate, "--exec", "--", "true"}, false, 1, "probe failed: the startup probe has not succeeded yet\n"},
		{"exec ok", []string{"--gate", gate, "--exec", "--", "echo", "fine"}, true, 0, "fine\n"},
		{"exec fails", []string{"--exec", "--", "false"}, false, 1, "probe failed: false: exit status 1: \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(gate)
			if tt.makeGate {
				os.WriteFile(gate, nil, 0o644)
			}
			var stdout, stderr bytes.Buffer
			if code := Main(tt.args, &stdout, &stderr); code != tt.code || stdout.String() != tt.stdout {
				t.Errorf("Main(%q) = %d, stdout %q, stderr %q; want %d, %q", tt.args, code, stdout.String(), stderr.String(), tt.code, tt.stdout)
			}
		})
	}
}
