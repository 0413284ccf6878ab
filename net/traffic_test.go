package net

import (
	"errors"
	"io"
	stdnet "net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// addPod puts a namespace on the host's bridge, like Docker does for a container.
func addPod(t *testing.T, host, pod, veth, ip string) {
	t.Helper()
	newNetns(t, pod)
	run(t, "ip", "-n", host, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", pod)
	run(t, "ip", "-n", host, "link", "set", veth, "master", "rcn0", "up")
	run(t, "ip", "-n", pod, "addr", "add", ip+"/24", "dev", "eth0")
	run(t, "ip", "-n", pod, "link", "set", "eth0", "up")
	run(t, "ip", "-n", pod, "route", "add", "default", "via", "198.18.1.1")
}

// serve answers every connection with the caller's address as it sees it.
func serve(t *testing.T, ns, addr string) {
	t.Helper()
	var ln stdnet.Listener
	var err error
	inNetns(t, ns, func() { ln, err = stdnet.Listen("tcp", addr) })
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
			io.WriteString(c, c.RemoteAddr().(*stdnet.TCPAddr).IP.String())
			c.Close()
		}
	}()
}

// ask connects from ns and returns the address the server saw.
func ask(t *testing.T, ns, addr string) (string, error) {
	t.Helper()
	var c stdnet.Conn
	var err error
	inNetns(t, ns, func() { c, err = stdnet.DialTimeout("tcp", addr, 3*time.Second) })
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

func TestTrafficThroughVIP(t *testing.T) {
	needRoot(t)
	const host, pod1, pod2 = "rcntest-tr-host", "rcntest-tr-pod1", "rcntest-tr-pod2"
	newHost(t, host)
	addPod(t, host, pod1, "vethp1", "198.18.1.2")
	addPod(t, host, pod2, "vethp2", "198.18.1.3")
	serve(t, pod2, "198.18.1.3:8080")

	cfg := withServices(
		Service{Namespace: "default", Name: "web", ClusterIP: "198.19.0.10", Ports: []ServicePort{{Name: "http", Port: 80, NodePort: 30080,
			Endpoints: []Endpoint{{IP: "198.18.1.3", Port: 8080}}}}},
		Service{Namespace: "default", Name: "empty", ClusterIP: "198.19.0.11", Ports: []ServicePort{{Name: "http", Port: 80}}},
	)
	cfg.StateFile = ownedTempDir(t) + "/state.json"
	applyIn(t, host, cfg, false)

	tests := []struct {
		name, from, addr, wantSource string
	}{
		{"pod to VIP keeps the pod source", pod1, "198.19.0.10:80", "198.18.1.2"},
		{"pod to itself through VIP (hairpin)", pod2, "198.19.0.10:80", "198.18.1.1"},
		{"host process without default route", host, "198.19.0.10:80", "198.18.1.1"},
		{"node port on the host address", pod1, "198.51.100.11:30080", "198.18.1.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ask(t, tc.from, tc.addr)
			if err != nil {
				t.Fatalf("dial %s from %s: %v", tc.addr, tc.from, err)
			}
			if got != tc.wantSource {
				t.Errorf("server saw source %s, want %s", got, tc.wantSource)
			}
		})
	}

	t.Run("VIP without endpoints rejects at once", func(t *testing.T) {
		start := time.Now()
		_, err := ask(t, pod1, "198.19.0.11:80")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial: %v, want connection refused", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v", d)
		}
	})

	// Moving the endpoint is one restore: the VIP keeps answering.
	t.Run("endpoint update", func(t *testing.T) {
		serve(t, pod1, "198.18.1.2:8080")
		cfg.Services[0].Ports[0].Endpoints = []Endpoint{{IP: "198.18.1.2", Port: 8080}}
		applyIn(t, host, cfg, false)
		got, err := ask(t, pod2, "198.19.0.10:80")
		if err != nil || !strings.HasPrefix(got, "198.18.1.3") {
			t.Errorf("after the move: %q, %v", got, err)
		}
	})
}
