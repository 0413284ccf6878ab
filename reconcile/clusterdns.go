package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"slices"
	"sort"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/net/clusterdns"
	"github.com/reconcile-dev/reconcile/resources"
)

// The cluster DNS, as the planner sees it: reconcile declares the kube-dns
// Service itself (so allocation, get and describe treat it like any other),
// gives every host the records file built from the same ServiceStates as
// the endpoints file, and asks each host's agent to hold the DNS address and
// run the server that answers on it (NodeConfig.ClusterDNS).

// ResolvConfDir holds the resolv.conf files pods bind-mount, named by
// content: pods of the same namespace and DNS settings share one.
const ResolvConfDir = "/var/lib/reconcile/resolv"

// withClusterDNS declares kube-system/kube-dns in d, once, before a run
// plans or reads anything. It is not done on load: render and validate show
// the manifests as written.
func (d *Desired) withClusterDNS() error {
	d.dnsOnce.Do(func() {
		if d.Set != nil {
			revision(d) // of the tree as written
			d.dnsErr = addClusterDNS(d.Set)
		}
	})
	return d.dnsErr
}

// addClusterDNS declares kube-system/kube-dns in set, replacing a user
// Service of that name (validate warns about it). A serviceCIDR smaller
// than a /28 has no tenth address: such a cluster runs without cluster DNS,
// as before it existed.
func addClusterDNS(set *resources.Set) error {
	if set.Cluster == nil {
		return nil
	}
	dns, err := resources.ClusterDNSService(set.Cluster)
	if err != nil {
		return nil // a range too small for the DNS address: no cluster DNS (validate warns)
	}
	svcs := set.Services[:0:0]
	for _, s := range set.Services {
		if !isClusterDNS(s) {
			svcs = append(svcs, s)
		}
	}
	set.Services = append(svcs, dns)
	return nil
}

func isClusterDNS(s *resources.Service) bool {
	return s.Namespace == resources.ClusterDNSNamespace && s.Name == resources.ClusterDNSName
}

// declaresServices says whether svcs hold a Service the user declared: the
// cluster DNS Service, declared by reconcile on every run, keeps no
// workload (prune and teardown look past it).
func declaresServices(svcs []*resources.Service) bool {
	return slices.ContainsFunc(svcs, func(s *resources.Service) bool { return !isClusterDNS(s) })
}

// clusterDNSKey is the cluster DNS Service's key in Allocations. It is
// reconcile's own, not any source's: sources neither own nor prune it.
var clusterDNSKey = key(resources.ClusterDNSNamespace, resources.ClusterDNSName)

// hasClusterIP says whether a Service gets an address: headless and
// ExternalName Services live only in DNS.
func hasClusterIP(s *resources.Service) bool {
	return s.Spec.ClusterIP != resources.ClusterIPNone && s.Spec.Type != resources.ServiceTypeExternalName
}

// reserveClusterDNS marks the cluster DNS address as kube-dns's in used and
// returns kube-dns's key and that address ("" when the range has none).
func reserveClusterDNS(serviceCIDR string, used map[string]string) (string, string) {
	k := key(resources.ClusterDNSNamespace, resources.ClusterDNSName)
	ip, err := resources.ClusterDNSIP(serviceCIDR)
	if err != nil {
		return k, ""
	}
	used[ip.String()] = k
	return k, ip.String()
}

// dnsRecords is the records file content for states: every Service with its
// ClusterIP (or None), its ports, and its ready pods with their target
// ports. A pod's hostname in DNS is its name, which is always a DNS label.
func dnsRecords(c *resources.Cluster, states []ServiceState) []byte {
	r := clusterdns.Records{Domain: c.Spec.Domain(), ServiceCIDR: c.Spec.ServiceCIDR, PodCIDR: c.Spec.PodCIDR, Services: []clusterdns.Service{}}
	for _, st := range states {
		s := st.Service
		rs := clusterdns.Service{Namespace: s.Namespace, Name: s.Name, Type: s.Spec.Type}
		switch {
		case s.Spec.Type == resources.ServiceTypeExternalName:
			rs.ExternalName = s.Spec.ExternalName
		case s.Spec.ClusterIP == resources.ClusterIPNone:
			rs.ClusterIP = resources.ClusterIPNone
		case st.ClusterIP == "":
			continue // not allocated (cannot happen after a successful allocate)
		default:
			rs.ClusterIP = st.ClusterIP
		}
		byIP := map[string]*clusterdns.Endpoint{}
		for _, pe := range st.Ports {
			proto := protocolOf(pe.Port.Protocol)
			rs.Ports = append(rs.Ports, clusterdns.Port{Name: pe.Port.Name, Protocol: proto, Port: int(pe.Port.Port)})
			for _, a := range pe.Ready {
				ep, ok := byIP[a.IP]
				if !ok {
					ep = &clusterdns.Endpoint{IP: a.IP, Hostname: a.Pod, Pod: a.Pod, Node: a.Node}
					byIP[a.IP] = ep
				}
				ep.Ports = append(ep.Ports, clusterdns.Port{Name: pe.Port.Name, Protocol: proto, Port: int(a.Port)})
			}
		}
		for _, ep := range byIP {
			rs.Endpoints = append(rs.Endpoints, *ep)
		}
		r.Services = append(r.Services, rs)
	}
	return r.JSON()
}

// clusterDNSConfig is what each host's agent needs to serve the cluster
// DNS; nil when the service range holds no DNS address.
func clusterDNSConfig(c *resources.Cluster) *rnet.ClusterDNS {
	ip, err := resources.ClusterDNSIP(c.Spec.ServiceCIDR)
	if err != nil {
		return nil
	}
	return &rnet.ClusterDNS{IP: ip.String(), Domain: c.Spec.Domain(), RecordsFile: clusterdns.DefaultRecordsFile}
}

// podResolvConf is the resolv.conf a pod of d gets, and the host path it
// is written to; "" for dnsPolicy Default without dnsConfig, which keeps
// Docker's own (the host's resolvers through Docker's embedded DNS).
//
// The host's own search domains, which a ClusterFirst pod takes after the
// cluster's as the kubelet gives them, are known only on the host: the
// agent merges them in when it writes the file (hostSearchAt), so the path
// is the same on every host and the content may differ.
func podResolvConf(c *resources.Cluster, d *resources.Deployment) (string, []byte) {
	ps := &d.Spec.Template.Spec
	if ps.DNSPolicy == resources.DNSDefault && ps.DNSConfig == nil {
		return "", nil
	}
	dnsIP, err := resources.ClusterDNSIP(c.Spec.ServiceCIDR)
	if err != nil {
		return "", nil
	}
	content := []byte("# Written by reconcile for pods of namespace " + d.Namespace + ".\n" +
		resources.PodResolvConf(ps, d.Namespace, c.Spec.Domain(), dnsIP.String(), resources.ResolvConf{}).String())
	sum := sha256.Sum256(content)
	return path.Join(ResolvConfDir, d.Namespace+"-"+hex.EncodeToString(sum[:6])+".conf"), content
}

// clusterDNSFiles are the cluster DNS's files every host holds: the records
// file and the pods' resolv.conf files.
func clusterDNSFiles(d *Desired, states []ServiceState) []rnet.File {
	if clusterDNSConfig(d.Cluster) == nil {
		return nil
	}
	files := []rnet.File{{Path: clusterdns.DefaultRecordsFile, Content: dnsRecords(d.Cluster, states), Mode: 0o644}}
	return append(files, resolvConfFiles(d.Cluster, d.Deployments)...)
}

// resolvConfFiles are the resolv.conf files of every declared Deployment.
func resolvConfFiles(c *resources.Cluster, deps []*resources.Deployment) []rnet.File {
	seen := map[string]bool{}
	var files []rnet.File
	for _, d := range deps {
		p, content := podResolvConf(c, d)
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		files = append(files, rnet.File{Path: p, Content: content, Mode: 0o644, HostSearchAt: hostSearchAt(d)})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files
}

// clusterDNSSubsets are kube-dns's endpoints: every host answers on the
// cluster DNS address itself (on lo, see NodeConfig.ClusterDNS), so the
// Service has one address per host, that IP with the host as nodeName,
// and kube-dns's ports (dns 53/UDP, dns-tcp 53/TCP). No targetRef: the
// server is reconcile's container, not a pod.
func clusterDNSSubsets(c *resources.Cluster, st ServiceState) []EndpointSubset {
	if st.ClusterIP == "" || len(c.Spec.Nodes) == 0 {
		return []EndpointSubset{}
	}
	ss := EndpointSubset{}
	for _, n := range c.Spec.Nodes {
		ss.Addresses = append(ss.Addresses, EndpointAddress{IP: st.ClusterIP, NodeName: n.Name})
	}
	for _, p := range st.Service.Spec.Ports {
		ss.Ports = append(ss.Ports, EndpointPort{Name: p.Name, Port: p.Port, Protocol: protocolOf(p.Protocol)})
	}
	return []EndpointSubset{ss}
}

// hostSearchAt is where the host's search domains go in a pod's search
// list: after the three cluster entries for ClusterFirst; nowhere for
// Default (its file, with dnsConfig, starts from no host entries) and None.
func hostSearchAt(d *resources.Deployment) int {
	switch d.Spec.Template.Spec.DNSPolicy {
	case resources.DNSDefault, resources.DNSNone:
		return 0
	}
	return 3
}
