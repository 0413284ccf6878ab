package net

import (
	"fmt"
	"net/netip"
)

// Per service port chains for traffic from outside: load-balancer
// addresses and, under externalTrafficPolicy Local, node ports.
// RECONCILE-FW- filters by loadBalancerSourceRanges (kube-proxy's
// KUBE-FW-), RECONCILE-EXT- picks the endpoints (kube-proxy's KUBE-EXT-).
const (
	fwChainPrefix  = "RECONCILE-FW-"
	extChainPrefix = "RECONCILE-EXT-"

	// maxLoadBalancerIPs and maxSourceRanges bound what one Service
	// adds to every host's rules; the planner checks the ranges with
	// file and line (resources), the agent again here.
	maxLoadBalancerIPs = 64
	maxSourceRanges    = 64
)

// perServiceChain says whether ch is one of the chains made per service
// port, which the agent deletes when the config no longer has them.
func perServiceChain(ch string) bool {
	for _, p := range []string{svcChainPrefix, sepChainPrefix, fwChainPrefix, extChainPrefix} {
		if len(ch) > len(p) && ch[:len(p)] == p {
			return true
		}
	}
	return false
}

// validateLoadBalancer is the agent's check of what it is told to serve
// on the host's own addresses.
func validateLoadBalancer(id string, s Service) []error {
	var errs []error
	if len(s.LoadBalancerIPs) > maxLoadBalancerIPs || len(s.SourceRanges) > maxSourceRanges {
		return []error{fmt.Errorf("service %s: %d load-balancer addresses and %d source ranges: at most %d and %d", id, len(s.LoadBalancerIPs), len(s.SourceRanges), maxLoadBalancerIPs, maxSourceRanges)}
	}
	for _, ip := range s.LoadBalancerIPs {
		if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() || a.IsLoopback() || a.IsUnspecified() || a.IsMulticast() {
			errs = append(errs, fmt.Errorf("service %s: load-balancer address %q: want a host's IPv4 address", id, ip))
		}
	}
	for _, r := range s.SourceRanges {
		if p, err := netip.ParsePrefix(r); err != nil || !p.Addr().Is4() || p.Masked() != p {
			errs = append(errs, fmt.Errorf("service %s: source range %q: want an IPv4 network", id, r))
		}
	}
	return errs
}

// external says whether sp takes traffic from outside through its EXT
// chain: every load-balancer port, and node ports under Local (a
// Cluster node port keeps its two rules in RECONCILE-NODEPORTS).
func (sp *svcPort) external() bool {
	return len(sp.svc.LoadBalancerIPs) > 0 || sp.svc.LocalTraffic && sp.port.NodePort != 0
}

// externalRules fill sp's EXT and FW chains (natTable has declared
// them; not when sp is not own) and send the load-balancer addresses to
// them.
func externalRules(t *table, c NodeConfig, sp *svcPort) {
	port := fmt.Sprint(sp.port.Port)
	target := sp.ext
	firewall := len(sp.svc.SourceRanges) > 0 && len(sp.svc.LoadBalancerIPs) > 0
	if firewall {
		target = sp.fw
	}
	if firewall && sp.own {
		for _, r := range sp.svc.SourceRanges {
			t.rule(sp.fw, "-s "+r, comment(sp.name+" loadbalancer source range"), "-j "+sp.ext)
		}
		// The host itself (its address as the source) is let through,
		// as kube-proxy lets the load-balancer IPs through. The rest
		// falls through, not translated, to filterTable's DROP.
		for _, ip := range sp.svc.LoadBalancerIPs {
			t.rule(sp.fw, "-s "+hostCIDR(ip), comment(sp.name+" loadbalancer source range"), "-j "+sp.ext)
		}
	}
	for _, ip := range sp.svc.LoadBalancerIPs {
		t.rule(chainServices, "-d "+hostCIDR(ip), "-p "+sp.proto, comment(sp.name+" loadbalancer IP"),
			"-m "+sp.proto, "--dport "+port, "-j "+target)
	}
	if !sp.own {
		return // the rest is its own chains
	}
	if !sp.svc.LocalTraffic {
		// Cluster: masquerade, so a pod on another host replies here.
		t.rule(sp.ext, comment("masquerade traffic for "+sp.name+" external destinations"), "-j "+chainMarkMasq)
		t.rule(sp.ext, "-j "+sp.chain)
		return
	}
	// Local, as kube-proxy: pods and the host itself may use any
	// endpoint; outside clients keep their address and go to this
	// host's endpoints only, or (none here) fall through to the DROP.
	if c.ClusterPodCIDR != "" {
		t.rule(sp.ext, "-s "+c.ClusterPodCIDR, comment("pod traffic for "+sp.name+" external destinations"), "-j "+sp.chain)
	}
	t.rule(sp.ext, comment("masquerade LOCAL traffic for "+sp.name+" external destinations"), "-m addrtype --src-type LOCAL", "-j "+chainMarkMasq)
	t.rule(sp.ext, comment("route LOCAL traffic for "+sp.name+" external destinations"), "-m addrtype --src-type LOCAL", "-j "+sp.chain)
	var local []int
	for i, ep := range sp.eps {
		if ep.Local {
			local = append(local, i)
		}
	}
	for k, i := range local {
		rule := []string{comment(sp.name + " -> " + epAddr(sp.eps[i]) + " (local)")}
		if k < len(local)-1 {
			rule = append(rule, "-m statistic --mode random --probability "+probability(1/float64(len(local)-k)))
		}
		t.rule(sp.ext, append(rule, "-j "+sp.seps[i])...)
	}
}

// hasLocal says whether one of sp's endpoints is on this host.
func (sp *svcPort) hasLocal() bool {
	for _, ep := range sp.eps {
		if ep.Local {
			return true
		}
	}
	return false
}

// externalFilter rejects a load-balancer address without endpoints, as
// the cluster IP, and drops what the nat table left untranslated: a
// source outside the ranges, or Local traffic on a host without a local
// endpoint (kube-proxy drops both).
func externalFilter(t *table, sp *svcPort) {
	port := fmt.Sprint(sp.port.Port)
	for _, ip := range sp.svc.LoadBalancerIPs {
		switch {
		case len(sp.eps) == 0:
			t.rule(chainServices, "-d "+hostCIDR(ip), "-p "+sp.proto, comment(sp.name+" has no endpoints"),
				"-m "+sp.proto, "--dport "+port, "-j REJECT --reject-with icmp-port-unreachable")
		case len(sp.svc.SourceRanges) > 0 || sp.svc.LocalTraffic && !sp.hasLocal():
			t.rule(chainServices, "-d "+hostCIDR(ip), "-p "+sp.proto, comment(sp.name+" traffic not accepted by the load balancer"),
				"-m "+sp.proto, "--dport "+port, "-j DROP")
		}
	}
	if sp.svc.LocalTraffic && sp.port.NodePort != 0 && len(sp.eps) > 0 && !sp.hasLocal() {
		t.rule(chainServices, "-p "+sp.proto, comment(sp.name+" has no local endpoints"), "-m addrtype --dst-type LOCAL",
			"-m "+sp.proto, "--dport "+fmt.Sprint(sp.port.NodePort), "-j DROP")
	}
}
