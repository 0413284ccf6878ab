package resources

import (
	"fmt"
	"net/netip"
	"strings"
)

// DefaultClusterDomain is the cluster DNS domain unless the Cluster sets
// spec.clusterDomain, as in Kubernetes.
const DefaultClusterDomain = "cluster.local"

// Pod DNS policies, as in Kubernetes. ClusterFirstWithHostNet is accepted
// and means ClusterFirst: reconcile's pods never use the host network.
const (
	DNSClusterFirst            = "ClusterFirst"
	DNSClusterFirstWithHostNet = "ClusterFirstWithHostNet"
	DNSDefault                 = "Default"
	DNSNone                    = "None"
)

// Kubernetes' limits on a pod's resolver configuration (those of glibc's
// resolv.conf before 2.26, kept for portability).
const (
	MaxDNSNameservers     = 3
	MaxDNSSearchPaths     = 32
	MaxDNSSearchListChars = 2048
)

// PodDNSConfig is a pod's spec.dnsConfig, merged into what dnsPolicy gives.
type PodDNSConfig struct {
	Nameservers []string             `json:"nameservers,omitempty"`
	Searches    []string             `json:"searches,omitempty"`
	Options     []PodDNSConfigOption `json:"options,omitempty"`
}

type PodDNSConfigOption struct {
	Name  string  `json:"name"`
	Value *string `json:"value,omitempty"`
}

// Domain is the cluster DNS domain, defaulted.
func (c *ClusterSpec) Domain() string {
	if c.ClusterDomain == "" {
		return DefaultClusterDomain
	}
	return c.ClusterDomain
}

// ClusterDNSIP is the cluster DNS Service's ClusterIP: the tenth address of
// the service range, as kubeadm gives kube-dns (10.96.0.10 in 10.96.0.0/12).
// The allocator must never hand it to another Service.
func ClusterDNSIP(serviceCIDR string) (netip.Addr, error) {
	p, err := netip.ParsePrefix(serviceCIDR)
	if err != nil || !p.Addr().Is4() {
		return netip.Addr{}, fmt.Errorf("serviceCIDR %q is not an IPv4 CIDR", serviceCIDR)
	}
	p = p.Masked()
	if p.Bits() > 28 {
		return netip.Addr{}, fmt.Errorf("serviceCIDR %s is too small to hold the cluster DNS address (the tenth): use a /28 or larger", p)
	}
	a := p.Addr().As4()
	a[3] += 10 // a /28 or larger starts on a multiple of 16: no carry
	return netip.AddrFrom4(a), nil
}

// Cluster DNS Service identity, as kube-dns's.
const (
	ClusterDNSNamespace = "kube-system"
	ClusterDNSName      = "kube-dns"
)

// ClusterDNSService is the Service reconcile declares for its cluster DNS,
// shaped like kube-dns's so `get svc -n kube-system` and `describe svc`
// show it. It has no selector: every host answers on it locally.
func ClusterDNSService(c *Cluster) (*Service, error) {
	ip, err := ClusterDNSIP(c.Spec.ServiceCIDR)
	if err != nil {
		return nil, err
	}
	s := &Service{
		TypeMeta: TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: ObjectMeta{Name: ClusterDNSName, Namespace: ClusterDNSNamespace,
			Labels: map[string]string{"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}},
		Spec: ServiceSpec{ClusterIP: ip.String(), Ports: []ServicePort{
			{Name: "dns", Port: 53, Protocol: "UDP"},
			{Name: "dns-tcp", Port: 53, Protocol: "TCP"},
		}},
		Source: c.Source,
	}
	s.Default()
	return s, nil
}

// ResolvConf is a resolver configuration: a host's /etc/resolv.conf, or the
// one a pod gets.
type ResolvConf struct {
	Nameservers []string
	Searches    []string
	Options     []string // "name" or "name:value"
}

// ParseResolvConf reads the nameserver, search (or domain) and options
// lines of a resolv.conf; a later search line replaces an earlier one, as
// in glibc.
func ParseResolvConf(b []byte) ResolvConf {
	var r ResolvConf
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			r.Nameservers = append(r.Nameservers, f[1])
		case "search", "domain":
			r.Searches = append([]string(nil), f[1:]...)
		case "options":
			r.Options = append(r.Options, f[1:]...)
		}
	}
	return r
}

// String is the resolv.conf file.
func (r ResolvConf) String() string {
	var b strings.Builder
	for _, n := range r.Nameservers {
		b.WriteString("nameserver " + n + "\n")
	}
	if len(r.Searches) > 0 {
		b.WriteString("search " + strings.Join(r.Searches, " ") + "\n")
	}
	if len(r.Options) > 0 {
		b.WriteString("options " + strings.Join(r.Options, " ") + "\n")
	}
	return b.String()
}

// PodResolvConf is the resolver configuration of a pod in namespace, as the
// kubelet builds it: ClusterFirst (the default) points at the cluster DNS
// with the cluster search list before the host's and ndots:5; Default is
// the host's configuration; None is only dnsConfig. dnsConfig is then
// merged in (nameservers and searches appended without duplicates, options
// by name with dnsConfig's winning) and the result cut to Kubernetes'
// limits.
func PodResolvConf(p *PodSpec, namespace, clusterDomain, clusterDNS string, host ResolvConf) ResolvConf {
	var r ResolvConf
	switch p.DNSPolicy {
	case DNSDefault:
		r = ResolvConf{Nameservers: host.Nameservers, Searches: host.Searches, Options: host.Options}
	case DNSNone:
	default: // "", ClusterFirst, ClusterFirstWithHostNet
		r.Nameservers = []string{clusterDNS}
		r.Searches = append([]string{namespace + ".svc." + clusterDomain, "svc." + clusterDomain, clusterDomain}, host.Searches...)
		r.Options = []string{"ndots:5"}
	}
	if c := p.DNSConfig; c != nil {
		r.Nameservers = appendNew(r.Nameservers, c.Nameservers)
		r.Searches = appendNew(r.Searches, c.Searches)
		var opts []string
		for _, o := range c.Options {
			if o.Value != nil {
				opts = append(opts, o.Name+":"+*o.Value)
			} else {
				opts = append(opts, o.Name)
			}
		}
		r.Options = mergeOptions(r.Options, opts)
	}
	if len(r.Nameservers) > MaxDNSNameservers {
		r.Nameservers = r.Nameservers[:MaxDNSNameservers]
	}
	r.Searches, _ = limitSearches(r.Searches)
	return r
}

// appendNew appends the entries of add not already present (a copy: the
// host's lists are shared between pods).
func appendNew(base, add []string) []string {
	out := append([]string(nil), base...)
	seen := map[string]bool{}
	for _, s := range out {
		seen[s] = true
	}
	for _, s := range add {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// mergeOptions merges resolver options by name, keeping first-seen order;
// a later value for a name replaces the earlier one.
func mergeOptions(base, add []string) []string {
	var out []string
	at := map[string]int{}
	for _, o := range append(append([]string(nil), base...), add...) {
		name, _, _ := strings.Cut(o, ":")
		if i, ok := at[name]; ok {
			out[i] = o
			continue
		}
		at[name] = len(out)
		out = append(out, o)
	}
	return out
}
