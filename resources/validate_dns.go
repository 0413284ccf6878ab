package resources

import (
	"net/netip"
	"strings"
)

// validatePodDNS checks dnsPolicy and dnsConfig with Kubernetes' rules.
func validatePodDNS(o obj, path string, p *PodSpec) {
	pp := fieldPath(path, "dnsPolicy")
	switch p.DNSPolicy {
	case "", DNSClusterFirst, DNSClusterFirstWithHostNet, DNSDefault:
	case DNSNone:
		if p.DNSConfig == nil {
			o.errorf(pp, "dnsConfig is required when dnsPolicy is None")
		} else if len(p.DNSConfig.Nameservers) == 0 {
			o.errorf(fieldPath(path, "dnsConfig.nameservers"), "at least one nameserver is required when dnsPolicy is None")
		}
	default:
		o.errorf(pp, "unsupported value %q: supported values: \"ClusterFirst\", \"ClusterFirstWithHostNet\", \"Default\", \"None\"", p.DNSPolicy)
	}
	c := p.DNSConfig
	if c == nil {
		return
	}
	cp := fieldPath(path, "dnsConfig")
	np := fieldPath(cp, "nameservers")
	if len(c.Nameservers) > MaxDNSNameservers {
		o.errorf(np, "must not have more than %d nameservers, not %d", MaxDNSNameservers, len(c.Nameservers))
	}
	for i, ns := range c.Nameservers {
		if _, err := netip.ParseAddr(ns); err != nil {
			o.errorf(indexPath(np, i), "invalid IP address %q", ns)
		}
	}
	sp := fieldPath(cp, "searches")
	if len(c.Searches) > MaxDNSSearchPaths {
		o.errorf(sp, "must not have more than %d search paths, not %d", MaxDNSSearchPaths, len(c.Searches))
	}
	if n := len(strings.Join(c.Searches, " ")); n > MaxDNSSearchListChars {
		o.errorf(sp, "must not have more than %d characters (including spaces) in the search list, not %d", MaxDNSSearchListChars, n)
	}
	for i, s := range c.Searches {
		if msg := dns1123Subdomain(strings.TrimSuffix(s, ".")); msg != "" {
			o.errorf(indexPath(sp, i), "invalid search domain %q: %s", s, msg)
		}
	}
	op := fieldPath(cp, "options")
	for i, opt := range c.Options {
		if opt.Name == "" {
			o.errorf(fieldPath(indexPath(op, i), "name"), "required")
		}
	}
}

// validateServiceDNS checks what makes a Service a DNS-only one: headless
// (clusterIP None) or ExternalName.
func validateServiceDNS(o obj, spec *ServiceSpec) {
	headless := spec.ClusterIP == ClusterIPNone
	if spec.Type == ServiceTypeExternalName {
		if spec.ExternalName == "" {
			o.errorf("spec.externalName", "required when type is ExternalName: the DNS name the Service is an alias for")
		} else if msg := dns1123Subdomain(strings.TrimSuffix(spec.ExternalName, ".")); msg != "" {
			o.errorf("spec.externalName", "invalid DNS name %q: %s", spec.ExternalName, msg)
		}
		if spec.ClusterIP != "" {
			o.errorf("spec.clusterIP", "must be empty when type is ExternalName")
		}
		if spec.SessionAffinity == "ClientIP" {
			o.errorf("spec.sessionAffinity", "must be None when type is ExternalName")
		}
		return
	}
	if spec.ExternalName != "" {
		o.errorf("spec.externalName", "may only be set when type is ExternalName")
	}
	if headless && (spec.Type == ServiceTypeNodePort || spec.Type == ServiceTypeLoadBalancer) {
		o.errorf("spec.clusterIP", "may not be None for type %s: a %s Service needs a ClusterIP", spec.Type, spec.Type)
	}
	if headless && spec.SessionAffinity == "ClientIP" {
		o.errorf("spec.sessionAffinity", "must be None when clusterIP is None: a headless Service has no VIP to keep sessions on")
	}
}

// validateClusterDomain checks spec.clusterDomain.
func validateClusterDomain(o obj, c *Cluster) {
	if d := c.Spec.ClusterDomain; d != "" {
		if msg := dns1123Subdomain(d); msg != "" {
			o.errorf("spec.clusterDomain", "invalid DNS domain %q: %s (without a trailing dot)", d, msg)
		}
	}
}

// validateClusterDNSCollision reports user Services that would clash with
// the cluster DNS Service: the same ClusterIP is an error (both could not
// get it), the same name a warning (it hides kube-dns in get and describe).
func validateClusterDNSCollision(r *reporter, s *Set) {
	var dnsIP netip.Addr
	if s.Cluster != nil {
		var err error
		if dnsIP, err = ClusterDNSIP(s.Cluster.Spec.ServiceCIDR); err != nil && strings.Contains(err.Error(), "too small") {
			r.object(s.Cluster.Source, "Cluster", s.Cluster.Name).warnf("spec.serviceCIDR", "%v; without it the cluster has no DNS (pods cannot resolve Service names)", err)
		}
	}
	for _, svc := range s.Services {
		o := r.object(svc.Source, "Service", svc.Name)
		if svc.Namespace == ClusterDNSNamespace && svc.Name == ClusterDNSName {
			o.warnf("metadata.name", "%s/%s is the cluster DNS Service reconcile declares: this Service collides with it; rename it", ClusterDNSNamespace, ClusterDNSName)
		}
		if a, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil && dnsIP.IsValid() && a == dnsIP {
			o.errorf("spec.clusterIP", "%s is the cluster DNS Service's address (the tenth of serviceCIDR %s): choose another or leave clusterIP empty", a, s.Cluster.Spec.ServiceCIDR)
		}
	}
}
