package runtime

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/network"
)

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func TestNextFreeIP(t *testing.T) {
	tests := []struct {
		name    string
		subnet  string
		used    []netip.Addr
		want    string
		wantErr string
	}{
		{name: "empty subnet", subnet: "198.18.1.0/24", want: "198.18.1.2"},
		{name: "lowest gap", subnet: "198.18.1.0/24", used: addrs("198.18.1.2", "198.18.1.4", "198.18.1.3", "198.18.1.6"), want: "198.18.1.5"},
		{name: "addresses outside the subnet do not matter", subnet: "198.18.1.0/24", used: addrs("198.18.2.2", "10.0.0.2"), want: "198.18.1.2"},
		{name: "last usable before broadcast", subnet: "198.18.9.0/29", used: addrs("198.18.9.2", "198.18.9.3", "198.18.9.4", "198.18.9.5"), want: "198.18.9.6"},
		{name: "full /29", subnet: "198.18.9.0/29", used: addrsRange("198.18.9.", 2, 6), wantErr: "pod subnet 198.18.9.0/29 is full (6 addresses in use)"},
		{name: "wide subnet crosses an octet", subnet: "198.18.0.0/23", used: addrsRange("198.18.0.", 2, 255), want: "198.18.1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix, gw, err := podSubnet(tt.subnet)
			if err != nil {
				t.Fatal(err)
			}
			got, err := nextFreeIP(prefix, gw, tt.used)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v; want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Errorf("nextFreeIP = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func addrsRange(prefix string, from, to int) []netip.Addr {
	var out []netip.Addr
	for i := from; i <= to; i++ {
		out = append(out, netip.MustParseAddr(prefix+strconv.Itoa(i)))
	}
	return out
}

func TestPodSubnet(t *testing.T) {
	tests := []struct {
		in, wantGW, wantErr string
	}{
		{in: "198.18.1.0/24", wantGW: "198.18.1.1"},
		{in: "198.18.1.5/24", wantErr: "pod subnet 198.18.1.5/24 has host bits set; did you mean 198.18.1.0/24?"},
		{in: "198.18.1.0/30", wantErr: "pod subnet 198.18.1.0/30 is too small; use a /29 or larger"},
		{in: "fd00::/64", wantErr: "pod subnet fd00::/64: only IPv4 is supported"},
		{in: "nonsense", wantErr: `pod subnet "nonsense": netip.ParsePrefix("nonsense"): no '/'`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, gw, err := podSubnet(tt.in)
			if got := errString(err); got != tt.wantErr {
				t.Fatalf("err = %q; want %q", got, tt.wantErr)
			}
			if err == nil && gw.String() != tt.wantGW {
				t.Errorf("gateway %s; want %s", gw, tt.wantGW)
			}
		})
	}
}

func TestEnsureNetwork(t *testing.T) {
	ours := func(cluster, subnet string) *network.Inspect {
		return &network.Inspect{
			Name:   PodNetwork,
			Labels: map[string]string{LabelManagedBy: "reconcile", LabelCluster: cluster},
			IPAM:   network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet, Gateway: "198.18.1.1"}}},
		}
	}
	tests := []struct {
		name        string
		existing    *network.Inspect
		wantCreated bool
		wantErr     string
	}{
		{name: "missing: created", wantCreated: true},
		{name: "ours, same subnet", existing: ours("lab", "198.18.1.0/24")},
		{name: "ours, other subnet", existing: ours("lab", "198.18.7.0/24"),
			wantErr: "node-1: Docker network reconcile-pods has subnet 198.18.7.0/24, but the host's pod subnet is 198.18.1.0/24; delete the host's pods and that network to change it"},
		{name: "other cluster", existing: ours("prod", "198.18.1.0/24"),
			wantErr: `node-1: Docker network reconcile-pods belongs to cluster "prod", not "lab"; one host can serve one cluster`},
		{name: "not ours", existing: &network.Inspect{Name: PodNetwork, IPAM: network.IPAM{Config: []network.IPAMConfig{{Subnet: "198.18.1.0/24"}}}},
			wantErr: "node-1: a Docker network named reconcile-pods exists that reconcile did not create (no reconcile.dev/managed-by=reconcile label); it is left alone: remove or rename it on that host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDocker()
			if tt.existing != nil {
				f.networks[PodNetwork] = *tt.existing
			}
			created, err := NewPods("node-1", f).EnsureNetwork(context.Background(), "lab", "198.18.1.0/24")
			if got := errString(err); got != tt.wantErr || created != tt.wantCreated {
				t.Fatalf("EnsureNetwork = %v, %q; want %v, %q", created, got, tt.wantCreated, tt.wantErr)
			}
			if tt.existing != nil {
				if len(f.calls("NetworkCreate")) != 0 {
					t.Errorf("an existing network was recreated")
				}
				return
			}
			if tt.wantCreated {
				assertEqualJSON(t, "create options", f.lastNetworkCreate, network.CreateOptions{
					Driver: "bridge",
					IPAM:   &network.IPAM{Driver: "default", Config: []network.IPAMConfig{{Subnet: "198.18.1.0/24", Gateway: "198.18.1.1"}}},
					Options: map[string]string{
						"com.docker.network.bridge.name":                 "rcn0",
						"com.docker.network.bridge.enable_ip_masquerade": "false",
					},
					Labels: map[string]string{LabelManagedBy: "reconcile", LabelCluster: "lab"},
				})
			}
		})
	}
	t.Run("bad subnet names the host", func(t *testing.T) {
		_, err := NewPods("node-2", newFakeDocker()).EnsureNetwork(context.Background(), "lab", "198.18.2.0/31")
		if err == nil || !strings.HasPrefix(err.Error(), "node-2: pod network: ") {
			t.Errorf("err = %v", err)
		}
	})
}
