package net

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// DNSAddrLabel marks the cluster DNS address on the loopback device as
// ours: the agent adds and removes only addresses with this label.
const DNSAddrLabel = "lo:rcdns"

// syncDNSAddr makes this host hold the cluster DNS address itself, as a /32
// on lo, so that a pod's query to it is delivered to the local DNS server
// (which binds exactly that address) and never load-balanced to another
// host. lo rather than a dummy link: it needs no kernel module, and the
// address label says whose it is.
func syncDNSAddr(c NodeConfig, dryRun bool) ([]Change, error) {
	want := ""
	if c.ClusterDNS != nil {
		want = c.ClusterDNS.IP + "/32"
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return nil, fmt.Errorf("cluster DNS address: find lo: %w", err)
	}
	addrs, err := netlink.AddrList(lo, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("cluster DNS address: list addresses of lo: %w", err)
	}
	var changes []Change
	have := false
	for _, a := range addrs {
		if a.Label != DNSAddrLabel {
			continue
		}
		if a.IPNet.String() == want {
			have = true
			continue
		}
		changes = append(changes, Change{Kind: KindDNSAddr, Action: ActionDelete, Target: a.IPNet.String(), Detail: "lo"})
		if !dryRun {
			if err := netlink.AddrDel(lo, &a); err != nil {
				return changes, fmt.Errorf("cluster DNS address: remove %s from lo: %w", a.IPNet, err)
			}
		}
	}
	if want == "" || have {
		return changes, nil
	}
	changes = append(changes, Change{Kind: KindDNSAddr, Action: ActionAdd, Target: want, Detail: "lo"})
	if dryRun {
		return changes, nil
	}
	a, err := netlink.ParseAddr(want)
	if err != nil {
		return changes, fmt.Errorf("cluster DNS address %q: %w", want, err)
	}
	a.Label = DNSAddrLabel
	if err := netlink.AddrAdd(lo, a); err != nil {
		return changes, fmt.Errorf("cluster DNS address: add %s to lo: %w (is it on lo without our label? remove it: ip addr del %s dev lo)", want, err, want)
	}
	return changes, nil
}

func validateClusterDNS(d *ClusterDNS) error {
	if d == nil {
		return nil
	}
	if a, err := netip.ParseAddr(d.IP); err != nil || !a.Is4() {
		return fmt.Errorf("clusterDNS: ip %q: want an IPv4 address", d.IP)
	}
	return nil
}
