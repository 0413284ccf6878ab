package resources

import (
	"net/netip"
	"path"
	"strconv"
	"strings"
)

func validateCluster(r *reporter, c *Cluster) {
	o := r.object(c.Source, ClusterKind, c.Name)
	validateMeta(o, &c.ObjectMeta, "metadata", false)
	pods, podsOK := validateCIDR(o, "spec.podCIDR", c.Spec.PodCIDR)
	if podsOK && pods.Bits() > 24 {
		o.errorf("spec.podCIDR", "%s is too small: it must hold a /24 per node, so use a /24 or larger", pods)
		podsOK = false
	}
	podsOK = podsOK && checkRange(o, "spec.podCIDR", pods, maxPodCIDRBits)
	services, servicesOK := validateCIDR(o, "spec.serviceCIDR", c.Spec.ServiceCIDR)
	servicesOK = servicesOK && checkRange(o, "spec.serviceCIDR", services, maxServiceCIDRBits)
	if podsOK && servicesOK && pods.Overlaps(services) {
		o.errorf("spec.serviceCIDR", "%s overlaps podCIDR %s", services, pods)
	}
	if f := c.Spec.EndpointsFile; f != "" {
		if msg := checkEndpointsFile(f); msg != "" {
			o.errorf("spec.endpointsFile", "%s", msg)
		}
	}
	validateClusterDomain(o, c)
	for i, p := range c.Spec.HostPathAllowList {
		if msg := hostPathProblem(p); msg != "" {
			o.errorf(indexPath("spec.hostPathAllowList", i), "%s", msg)
		} else if path.Clean(p) == "/" {
			o.errorf(indexPath("spec.hostPathAllowList", i), "\"/\" would let a pod mount the whole host: name the directories pods need")
		}
	}
	validateKubelet(o, c.Spec.Kubelet)
	if lb := c.Spec.LoadBalancer; lb != nil {
		validateLabels(o, "spec.loadBalancer.nodeSelector", lb.NodeSelector)
	}
	if len(c.Spec.Nodes) == 0 {
		o.errorf("spec.nodes", "required: a Cluster needs at least one node")
	}
	names := map[string]string{}
	addrs := map[netip.Addr]string{}
	type subnet struct {
		p    netip.Prefix
		node string
	}
	var subnets []subnet
	for i := range c.Spec.Nodes {
		n := &c.Spec.Nodes[i]
		np := indexPath("spec.nodes", i)
		if n.Name == "" {
			o.errorf(fieldPath(np, "name"), "required")
		} else if msg := dns1123Subdomain(n.Name); msg != "" {
			o.errorf(fieldPath(np, "name"), "invalid node name %q: %s", n.Name, msg)
		} else if prev, dup := names[n.Name]; dup {
			o.errorf(fieldPath(np, "name"), "duplicate node name %q (also %s)", n.Name, prev)
		} else {
			names[n.Name] = np
		}
		if msg := checkSSH(n.SSH); msg != "" {
			o.errorf(fieldPath(np, "ssh"), "%s", msg)
		}
		ap := fieldPath(np, "address")
		if n.Address == "" {
			o.errorf(ap, "required: the IP address other nodes route this node's pods through")
		} else if a, err := netip.ParseAddr(n.Address); err != nil || !a.Is4() {
			o.errorf(ap, "invalid IPv4 address %q", n.Address)
		} else if prev, dup := addrs[a]; dup {
			o.errorf(ap, "duplicate node address %s (also %s)", a, prev)
		} else {
			addrs[a] = np
		}
		pp := fieldPath(np, "podCIDR")
		if n.PodCIDR == "" {
			if podsOK {
				o.errorf(pp, "no free /24 left in spec.podCIDR %s for this node (the first /24 is reserved): use a larger podCIDR", pods)
			}
		} else if p, ok := validateCIDR(o, pp, n.PodCIDR); ok && checkRange(o, pp, p, maxNodePodCIDRBits) {
			if servicesOK && p.Overlaps(services) {
				o.errorf(pp, "%s overlaps spec.serviceCIDR %s", p, services)
			}
			if podsOK && (p.Bits() < pods.Bits() || !pods.Contains(p.Addr())) {
				o.errorf(pp, "%s is outside spec.podCIDR %s", p, pods)
			}
			for _, s := range subnets {
				if s.p.Overlaps(p) {
					o.errorf(pp, "%s overlaps the podCIDR %s of node %q", p, s.p, s.node)
				}
			}
			subnets = append(subnets, subnet{p, n.Name})
		}
		validateNodeLabels(o, fieldPath(np, "labels"), n.Labels)
		if d := n.Docker; d != "" && !strings.HasPrefix(d, "unix://") && !strings.HasPrefix(d, "tcp://") {
			o.errorf(fieldPath(np, "docker"), "unsupported Docker host %s: use unix:///path/to/docker.sock or tcp://host:port", quote(d))
		}
	}
	// A range holding a node's own address would route that node's
	// traffic (SSH included) into pods or VIP rules and cut it off.
	ranges := []struct {
		field string
		p     netip.Prefix
	}{}
	if podsOK {
		ranges = append(ranges, struct {
			field string
			p     netip.Prefix
		}{"spec.podCIDR", pods})
	}
	if servicesOK {
		ranges = append(ranges, struct {
			field string
			p     netip.Prefix
		}{"spec.serviceCIDR", services})
	}
	for i, n := range c.Spec.Nodes {
		a, err := netip.ParseAddr(n.Address)
		if err != nil {
			continue
		}
		for _, rg := range ranges {
			if rg.p.Contains(a) {
				o.errorf(rg.field, "%s contains the address %s of node %q: pods and services need ranges of their own", rg.p, a, n.Name)
			}
		}
		for _, s := range subnets {
			if s.p.Contains(a) {
				o.errorf(fieldPath(indexPath("spec.nodes", i), "address"), "%s lies in the podCIDR %s of node %q: pods need a range of their own", a, s.p, s.node)
			}
		}
	}
}

// The largest ranges accepted, as prefix lengths: a pod range of a /8, a
// service range of a /12 (the limit kube-apiserver sets), a node's pod
// subnet of a /16. Larger ones swallow the hosts' own networks.
const (
	maxPodCIDRBits     = 8
	maxServiceCIDRBits = 12
	maxNodePodCIDRBits = 16
)

// reservedRanges are the IPv4 ranges that can never hold pods or service
// VIPs: routing them to pods breaks the host itself.
var reservedRanges = []struct {
	p    netip.Prefix
	name string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "the \"this network\" range 0.0.0.0/8"},
	{netip.MustParsePrefix("127.0.0.0/8"), "the loopback range 127.0.0.0/8"},
	{netip.MustParsePrefix("169.254.0.0/16"), "the link-local range 169.254.0.0/16"},
	{netip.MustParsePrefix("224.0.0.0/4"), "the multicast range 224.0.0.0/4"},
	{netip.MustParsePrefix("240.0.0.0/4"), "the reserved range 240.0.0.0/4 (broadcast included)"},
}

// checkRange reports a range larger than a /minBits or overlapping a
// reserved range.
func checkRange(o obj, field string, p netip.Prefix, minBits int) bool {
	if p.Bits() < minBits {
		o.errorf(field, "%s is too large: use a /%d or smaller range", p, minBits)
		return false
	}
	for _, r := range reservedRanges {
		if p.Overlaps(r.p) {
			o.errorf(field, "%s overlaps %s", p, r.name)
			return false
		}
	}
	return true
}

// validateCIDR parses an IPv4 network in canonical form.
func validateCIDR(o obj, field, s string) (netip.Prefix, bool) {
	if s == "" {
		o.errorf(field, "required")
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		o.errorf(field, "invalid IPv4 CIDR %q", s)
		return netip.Prefix{}, false
	}
	if p.Masked() != p {
		o.errorf(field, "%s has host bits set: did you mean %s?", s, p.Masked())
		return netip.Prefix{}, false
	}
	return p, true
}

// checkSSH accepts user@host[:port] or a bare ~/.ssh/config alias.
func checkSSH(s string) string {
	switch {
	case s == "":
		return "required: user@host[:port] or a Host alias from ~/.ssh/config"
	case strings.ContainsAny(s, " \t\n"):
		return "invalid ssh target " + strconv.Quote(s) + ": must not contain spaces"
	}
	user, hostport, hasUser := strings.Cut(s, "@")
	if !hasUser {
		hostport = user
	} else if user == "" {
		return "invalid ssh target " + strconv.Quote(s) + ": empty user before '@'"
	}
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return "invalid ssh target " + strconv.Quote(s) + ": missing ']'"
		}
		host, port = hostport[1:end], strings.TrimPrefix(hostport[end+1:], ":")
	} else if h, p, ok := strings.Cut(hostport, ":"); ok {
		host, port = h, p
		if p == "" {
			return "invalid ssh target " + strconv.Quote(s) + ": empty port after ':'"
		}
	}
	if host == "" {
		return "invalid ssh target " + strconv.Quote(s) + ": empty host"
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "invalid ssh target " + strconv.Quote(s) + ": port must be between 1 and 65535"
		}
	}
	return ""
}

// checkEndpointsFile accepts only a clean absolute path of a file directly
// in StateDir: the agent replaces that file as root on every host, so a
// manifest must not be able to name any other file (../ tricks included).
func checkEndpointsFile(f string) string {
	inside := func(f string) bool {
		return path.Dir(f) == StateDir && !strings.HasPrefix(path.Base(f), ".") && f != StateDir+"/bin" && f != StateDir+"/state"
	}
	switch {
	case !path.IsAbs(f) || strings.HasSuffix(f, "/"):
		return "must be an absolute file path, not " + quote(f)
	case path.Clean(f) != f && inside(path.Clean(f)):
		return quote(f) + " is not a clean path: write it as " + quote(path.Clean(f))
	case path.Clean(f) != f:
		return quote(f) + " is not a clean path: it must not contain '.', '..' or '//' and must name a file directly in " + StateDir
	case !inside(f):
		return quote(f) + " is not a file directly in " + StateDir + ", the directory reconcile owns on each host: use a path such as " + DefaultEndpointsFile
	}
	return ""
}
