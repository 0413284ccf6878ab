package net

import (
	"testing"
)

// TestLoadBalancerTraffic sends a client's connections, from a namespace
// on the host's link, to the host's own address on a LoadBalancer port
// through the real kernel rules: source ranges filter, Cluster
// masquerades, Local keeps the client address and drops on a host
// without a local endpoint.
func TestLoadBalancerTraffic(t *testing.T) {
	needRoot(t)
	const host, client, pod = "rcntest-lb-host", "rcntest-lb-client", "rcntest-lb-pod"
	const hostIP, clientIP, podIP = "198.51.100.11", "198.51.100.50", "198.18.1.2"
	newHost(t, host)
	// The client takes the host link's other end.
	newNetns(t, client)
	run(t, "ip", "-n", host, "link", "set", "eth0p", "netns", client)
	run(t, "ip", "-n", client, "addr", "add", clientIP+"/24", "dev", "eth0p")
	run(t, "ip", "-n", client, "link", "set", "eth0p", "up")
	addPod(t, host, pod, "vethp1", podIP)
	serve(t, pod, podIP+":8080")

	local := []Endpoint{{IP: podIP, Port: 8080, Local: true}}
	remote := []Endpoint{{IP: "198.18.3.7", Port: 8080}} // on another host
	lb := func(eps []Endpoint, localTraffic bool, ranges ...string) NodeConfig {
		cfg := withServices(Service{Namespace: "shop", Name: "lb", ClusterIP: "198.19.0.14",
			LoadBalancerIPs: []string{hostIP}, SourceRanges: ranges, LocalTraffic: localTraffic,
			Ports: []ServicePort{{Name: "http", Port: 80, NodePort: 30090, Endpoints: eps}}})
		return cfg
	}
	state := ownedTempDir(t) + "/state.json"
	tests := []struct {
		name       string
		cfg        NodeConfig
		addr       string
		wantSource string // "" = no answer
	}{
		{"Cluster masquerades", lb(local, false), hostIP + ":80", "198.18.1.1"},
		{"range with the client", lb(local, false, "203.0.113.0/24", "198.51.100.0/25"), hostIP + ":80", "198.18.1.1"},
		{"range without the client", lb(local, false, "203.0.113.0/24"), hostIP + ":80", ""},
		{"Local keeps the client address", lb(local, true), hostIP + ":80", clientIP},
		{"Local node port keeps it too", lb(local, true), hostIP + ":30090", clientIP},
		{"Local without a local endpoint", lb(remote, true), hostIP + ":80", ""},
		{"Local node port without a local endpoint", lb(remote, true), hostIP + ":30090", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.StateFile = state
			applyIn(t, host, tc.cfg, false)
			// What was applied reads back as no change (no drift).
			if res := applyIn(t, host, tc.cfg, true); len(res.Changes) != 0 {
				t.Errorf("after apply, a dry run still changes %v", changeSet(res))
			}
			got, err := ask(t, client, tc.addr)
			switch {
			case tc.wantSource == "" && err == nil:
				t.Errorf("%s answered (server saw %s), want no answer", tc.addr, got)
			case tc.wantSource != "" && err != nil:
				t.Errorf("dial %s: %v", tc.addr, err)
			case tc.wantSource != "" && got != tc.wantSource:
				t.Errorf("server saw source %s, want %s", got, tc.wantSource)
			}
		})
	}
}
