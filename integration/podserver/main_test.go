package main

import (
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	host, _ := os.Hostname()
	line := reply("198.18.2.3:41234").String() + "\n"
	if !strings.HasPrefix(line, "hostname="+host+" ip=") || !strings.HasSuffix(line, " client=198.18.2.3:41234\n") {
		t.Fatalf("reply line %q", line)
	}
	readyFile := filepath.Join(t.TempDir(), "ready")
	tests := []struct {
		name     string
		env      map[string]string
		path     string
		wantCode int
		wantBody string
	}{
		{"root", nil, "/", 200, line},
		{"any path", nil, "/some/path", 200, line},
		{"healthz", nil, "/healthz", 200, "ok\n"},
		{"healthz FAIL_READY", map[string]string{"FAIL_READY": "1"}, "/healthz", 503, "not ready: FAIL_READY=1\n"},
		{"healthz READY_FILE missing", map[string]string{"READY_FILE": readyFile}, "/healthz",
			503, "not ready: READY_FILE: stat " + readyFile + ": no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			req := httptest.NewRequest("GET", tt.path, nil)
			req.RemoteAddr = "198.18.2.3:41234"
			rec := httptest.NewRecorder()
			handler().ServeHTTP(rec, req)
			if rec.Code != tt.wantCode || rec.Body.String() != tt.wantBody {
				t.Errorf("GET %s = %d %q, want %d %q", tt.path, rec.Code, rec.Body.String(), tt.wantCode, tt.wantBody)
			}
		})
	}
	t.Run("READY_FILE present", func(t *testing.T) {
		if err := os.WriteFile(readyFile, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv("READY_FILE", readyFile)
		rec := httptest.NewRecorder()
		handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		if rec.Code != 200 {
			t.Errorf("GET /healthz = %d %q, want 200", rec.Code, rec.Body.String())
		}
	})
}

// The server and both client subcommands, on loopback.
func TestServeGetUDP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	go serve(addr)

	var out, errOut strings.Builder
	var code int
	for i := 0; i < 50; i++ {
		out.Reset()
		errOut.Reset()
		if code = get([]string{"http://" + addr + "/"}, &out, &errOut); code == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond) // serve is still starting
	}
	if code != 0 || !strings.Contains(out.String(), " client=127.0.0.1:") {
		t.Fatalf("get: exit %d, out %q, err %q", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := udp([]string{addr, "hi"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), " client=127.0.0.1:") {
		t.Fatalf("udp: exit %d, out %q, err %q", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := get([]string{"http://" + addr + "/healthz"}, &out, &errOut); code != 0 || out.String() != "ok\n" {
		t.Errorf("get /healthz: exit %d, out %q", code, out.String())
	}
}
