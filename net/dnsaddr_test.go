package net

import (
	"strings"
	"testing"
)

func TestSyncDNSAddr(t *testing.T) {
	needRoot(t)
	const ns = "rcntest-dns"
	newNetns(t, ns)
	// An address on lo that is not ours stays.
	run(t, "ip", "-n", ns, "addr", "add", "198.19.0.99/32", "dev", "lo")
	cfg := func(ip string) NodeConfig {
		if ip == "" {
			return NodeConfig{}
		}
		return NodeConfig{ClusterDNS: &ClusterDNS{IP: ip}}
	}
	steps := []struct {
		ip, want string
	}{
		{"198.19.0.10", "add 198.19.0.10/32"},
		{"198.19.0.10", ""},
		{"198.19.1.10", "delete 198.19.0.10/32, add 198.19.1.10/32"},
		{"", "delete 198.19.1.10/32"},
	}
	for _, s := range steps {
		inNetns(t, ns, func() {
			dry, err := syncDNSAddr(cfg(s.ip), true)
			if err != nil {
				t.Fatal(err)
			}
			got, err := syncDNSAddr(cfg(s.ip), false)
			if err != nil {
				t.Fatal(err)
			}
			if changeList(dry) != s.want || changeList(got) != s.want {
				t.Errorf("ip %q: dry run %q, apply %q, want %q", s.ip, changeList(dry), changeList(got), s.want)
			}
		})
		out := run(t, "ip", "-n", ns, "-4", "addr", "show", "dev", "lo")
		if !strings.Contains(out, "198.19.0.99/32") {
			t.Fatalf("someone else's address on lo was removed:\n%s", out)
		}
		if s.ip != "" && !strings.Contains(out, s.ip+"/32 scope global "+DNSAddrLabel) {
			t.Errorf("lo after %q:\n%s", s.ip, out)
		}
	}
}

func changeList(cs []Change) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.Action+" "+c.Target)
	}
	return strings.Join(s, ", ")
}
