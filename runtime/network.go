package runtime

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

// Bridge driver options for host-routed pod IPs: pods keep their own source
// address when they leave the host (no masquerade), and the bridge has a
// fixed device name the node agent can route and filter on.
const (
	optBridgeName = "com.docker.network.bridge.name"
	optMasquerade = "com.docker.network.bridge.enable_ip_masquerade"
)

// EnsureNetwork makes sure the host has the pod network: a bridge network
// named PodNetwork on device PodBridge with the host's pod subnet, the
// subnet's first address as gateway, and masquerade off. An existing network
// of that name that reconcile did not create, that belongs to another
// cluster, or that has another subnet is an error: it is never changed or
// deleted, because containers we know nothing about may use it.
func (p *Pods) EnsureNetwork(ctx context.Context, cluster, subnet string) (created bool, err error) {
	prefix, gw, err := podSubnet(subnet)
	if err != nil {
		return false, fmt.Errorf("%s: pod network: %w", p.node, err)
	}
	for attempt := 0; ; attempt++ {
		nw, err := p.api.NetworkInspect(ctx, PodNetwork, network.InspectOptions{})
		if err == nil {
			return false, checkNetwork(p.node, nw, cluster, prefix)
		}
		if !cerrdefs.IsNotFound(err) {
			return false, fmt.Errorf("%s: inspect network %s: %w", p.node, PodNetwork, err)
		}
		_, err = p.api.NetworkCreate(ctx, PodNetwork, networkCreateOptions(cluster, prefix, gw))
		if err == nil {
			return true, nil
		}
		// Another reconcile created it between our inspect and create: check
		// theirs like any existing network.
		if cerrdefs.IsConflict(err) && attempt == 0 {
			continue
		}
		return false, fmt.Errorf("%s: create network %s (subnet %s, bridge %s): %w", p.node, PodNetwork, prefix, PodBridge, err)
	}
}

func networkCreateOptions(cluster string, subnet netip.Prefix, gw netip.Addr) network.CreateOptions {
	return network.CreateOptions{
		Driver: "bridge",
		IPAM: &network.IPAM{
			Driver: "default",
			Config: []network.IPAMConfig{{Subnet: subnet.String(), Gateway: gw.String()}},
		},
		Options: map[string]string{
			optBridgeName: PodBridge,
			optMasquerade: "false",
		},
		Labels: map[string]string{
			LabelManagedBy: ManagedBy,
			LabelCluster:   cluster,
		},
	}
}

func checkNetwork(node string, nw network.Inspect, cluster string, want netip.Prefix) error {
	if nw.Labels[LabelManagedBy] != ManagedBy {
		return fmt.Errorf("%s: a Docker network named %s exists that reconcile did not create (no %s=%s label); it is left alone: remove or rename it on that host",
			node, PodNetwork, LabelManagedBy, ManagedBy)
	}
	if c := nw.Labels[LabelCluster]; c != cluster {
		return fmt.Errorf("%s: Docker network %s belongs to cluster %q, not %q; one host can serve one cluster", node, PodNetwork, c, cluster)
	}
	var subnets []string
	for _, c := range nw.IPAM.Config {
		subnets = append(subnets, c.Subnet)
		if c.Subnet == want.String() {
			return nil
		}
	}
	return fmt.Errorf("%s: Docker network %s has subnet %s, but the host's pod subnet is %s; delete the host's pods and that network to change it",
		node, PodNetwork, strings.Join(subnets, ","), want)
}

// podSubnet validates a host's pod subnet and returns it with its gateway,
// the first address.
func podSubnet(s string) (netip.Prefix, netip.Addr, error) {
	prefix, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("pod subnet %q: %w", s, err)
	}
	if !prefix.Addr().Is4() {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("pod subnet %s: only IPv4 is supported", s)
	}
	if prefix.Masked() != prefix {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("pod subnet %s has host bits set; did you mean %s?", s, prefix.Masked())
	}
	if prefix.Bits() > 29 {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("pod subnet %s is too small; use a /29 or larger", s)
	}
	return prefix, prefix.Addr().Next(), nil
}

// nextFreeIP is the lowest address above the gateway that nothing uses,
// leaving out the broadcast address.
func nextFreeIP(subnet netip.Prefix, gw netip.Addr, used []netip.Addr) (netip.Addr, error) {
	taken := make(map[netip.Addr]bool, len(used)+1)
	taken[gw] = true
	for _, a := range used {
		taken[a] = true
	}
	broadcast := lastAddr(subnet)
	for a := gw.Next(); a.IsValid() && subnet.Contains(a) && a != broadcast; a = a.Next() {
		if !taken[a] {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("pod subnet %s is full (%d addresses in use)", subnet, len(taken))
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	hostBits := 32 - p.Bits()
	for i := 3; i >= 0 && hostBits > 0; i-- {
		n := min(hostBits, 8)
		b[i] |= byte(1<<n - 1)
		hostBits -= n
	}
	return netip.AddrFrom4(b)
}

// usedPodIPs collects every address on the pod network that is taken or
// promised: endpoints of running containers (from the network), plus the
// fixed addresses of stopped or restarting containers, which are not
// attached right now but will want their address back.
func (p *Pods) usedPodIPs(ctx context.Context) (netip.Prefix, netip.Addr, []netip.Addr, error) {
	nw, err := p.api.NetworkInspect(ctx, PodNetwork, network.InspectOptions{})
	if err != nil {
		return netip.Prefix{}, netip.Addr{}, nil, fmt.Errorf("inspect network %s: %w", PodNetwork, err)
	}
	if len(nw.IPAM.Config) == 0 {
		return netip.Prefix{}, netip.Addr{}, nil, fmt.Errorf("network %s has no IPAM subnet", PodNetwork)
	}
	subnet, err := netip.ParsePrefix(nw.IPAM.Config[0].Subnet)
	if err != nil {
		return netip.Prefix{}, netip.Addr{}, nil, fmt.Errorf("network %s subnet: %w", PodNetwork, err)
	}
	gw := subnet.Masked().Addr().Next()
	if g, err := netip.ParseAddr(nw.IPAM.Config[0].Gateway); err == nil {
		gw = g
	}
	var used []netip.Addr
	add := func(s string) {
		if s == "" {
			return
		}
		if a, err := netip.ParsePrefix(s); err == nil {
			used = append(used, a.Addr())
		} else if a, err := netip.ParseAddr(s); err == nil {
			used = append(used, a)
		}
	}
	for _, ep := range nw.Containers {
		add(ep.IPv4Address)
	}
	all, err := p.api.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return netip.Prefix{}, netip.Addr{}, nil, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range all {
		add(c.Labels[LabelPodIP])
		if c.NetworkSettings == nil {
			continue
		}
		if es := c.NetworkSettings.Networks[PodNetwork]; es != nil {
			add(es.IPAddress)
			if es.IPAMConfig != nil {
				add(es.IPAMConfig.IPv4Address)
			}
		}
	}
	sort.Slice(used, func(i, j int) bool { return used[i].Less(used[j]) })
	return subnet, gw, used, nil
}
