// Package clusterdns is the cluster DNS server: it answers the cluster
// domain (cluster.local unless the Cluster says otherwise) from a records
// file the node agent writes on each host, as the Kubernetes "DNS for
// Services and Pods" specification defines the names, and forwards every
// other name to the host's own resolvers.
//
// Each host runs its own server and answers only from its own copy of the
// records file, so a pod's lookups never depend on another host. Pods use
// the cluster DNS ClusterIP as their nameserver; each host sends that
// address's port 53 to its local server (a DNAT in the VIP rules) instead
// of load-balancing it across hosts.
//
// It is named clusterdns, not dns, because every file here imports
// github.com/miekg/dns as dns.
package clusterdns

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
)

// DefaultRecordsFile is where the node agent writes the records file, next
// to the endpoints file (resources.DefaultEndpointsFile).
const DefaultRecordsFile = "/var/lib/reconcile/dns-records.json"

// DefaultDomain is the cluster domain when the Cluster names none.
const DefaultDomain = "cluster.local"

// Records is the records file: everything the server answers from. The agent
// writes it whole (write to a temporary file, rename) whenever a Service or a
// ready endpoint changes; the server reloads it within its poll interval.
type Records struct {
	// Domain is the cluster domain without a trailing dot; empty means the
	// server's Config.Domain.
	Domain string `json:"domain,omitempty"`
	// ServiceCIDR and PodCIDR are the ranges whose reverse (in-addr.arpa)
	// names the server answers itself: an unknown address inside them is
	// NXDOMAIN, an address outside them is forwarded.
	ServiceCIDR string    `json:"serviceCIDR,omitempty"`
	PodCIDR     string    `json:"podCIDR,omitempty"`
	Services    []Service `json:"services"`
}

// Service is one declared Service.
type Service struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Type is ClusterIP, NodePort or ExternalName.
	Type string `json:"type"`
	// ClusterIP is the allocated IPv4 address, "None" for a headless
	// Service, empty for ExternalName.
	ClusterIP string `json:"clusterIP,omitempty"`
	// ExternalName is the CNAME target of an ExternalName Service.
	ExternalName string `json:"externalName,omitempty"`
	Ports        []Port `json:"ports,omitempty"`
	// Endpoints are the ready pods only, as in the endpoints file's
	// addresses; not-ready pods never appear in DNS.
	Endpoints []Endpoint `json:"endpoints,omitempty"`
}

// Port is a Service port; only named ports get SRV records.
type Port struct {
	Name     string `json:"name,omitempty"`
	Protocol string `json:"protocol"` // TCP or UDP
	Port     int    `json:"port"`
}

// Endpoint is a ready pod behind a Service.
type Endpoint struct {
	IP string `json:"ip"`
	// Hostname names the pod under a headless Service
	// (<hostname>.<svc>.<ns>.svc.<domain>); when empty or not a DNS label,
	// the dashed address (10-244-1-5) is used, as Kubernetes does.
	Hostname string `json:"hostname,omitempty"`
	Pod      string `json:"pod,omitempty"`
	Node     string `json:"node,omitempty"`
	// Ports are the pod's resolved target ports by Service port name, for
	// a headless Service's SRV records.
	Ports []Port `json:"ports,omitempty"`
}

// JSON is the records file's exact content: services sorted by namespace
// and name, endpoints by address, so that the file (and the agent's write
// of it) changes only when the records do. r is sorted in place.
func (r *Records) JSON() []byte {
	sort.Slice(r.Services, func(i, j int) bool {
		a, b := r.Services[i], r.Services[j]
		return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.Name < b.Name
	})
	for _, s := range r.Services {
		sort.Slice(s.Endpoints, func(i, j int) bool {
			a, _ := netip.ParseAddr(s.Endpoints[i].IP)
			b, _ := netip.ParseAddr(s.Endpoints[j].IP)
			return a.Less(b)
		})
	}
	// What json.MarshalIndent(r, "", "  ") writes (appendJSON).
	return append(r.appendJSON(nil), '\n')
}

// maxRecordsFile bounds what the server reads: a file this large is a bug,
// not a cluster.
const maxRecordsFile = 64 << 20

// ReadRecords reads and checks a records file.
func ReadRecords(path string) (*Records, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxRecordsFile {
		return nil, fmt.Errorf("%s: %d bytes is more than the %d a records file may have", path, st.Size(), maxRecordsFile)
	}
	var r Records
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := r.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Check rejects records the zone cannot be built from, so a bad file leaves
// the previous zone in place instead of serving half of it.
func (r *Records) Check() error {
	if r.Domain != "" {
		if _, ok := domainName(r.Domain); !ok {
			return fmt.Errorf("domain %q is not a DNS name", r.Domain)
		}
	}
	for _, c := range []struct{ field, v string }{{"serviceCIDR", r.ServiceCIDR}, {"podCIDR", r.PodCIDR}} {
		if c.v == "" {
			continue
		}
		if p, err := netip.ParsePrefix(c.v); err != nil || !p.Addr().Is4() {
			return fmt.Errorf("%s %q is not an IPv4 CIDR", c.field, c.v)
		}
	}
	seen := map[string]int{}
	for i, s := range r.Services {
		where := fmt.Sprintf("services[%d] (%s/%s)", i, s.Namespace, s.Name)
		if !isLabel(s.Namespace) || !isLabel(s.Name) {
			return fmt.Errorf("%s: namespace and name must be DNS labels", where)
		}
		if j, dup := seen[s.Namespace+"/"+s.Name]; dup {
			return fmt.Errorf("%s: the same Service as services[%d]", where, j)
		}
		seen[s.Namespace+"/"+s.Name] = i
		switch {
		case s.Type == "ExternalName":
			if _, ok := domainName(s.ExternalName); !ok {
				return fmt.Errorf("%s: externalName %q is not a DNS name", where, s.ExternalName)
			}
		case s.ClusterIP == "None":
		default:
			if a, err := netip.ParseAddr(s.ClusterIP); err != nil || !a.Is4() {
				return fmt.Errorf("%s: clusterIP %q is not an IPv4 address or None", where, s.ClusterIP)
			}
		}
		for j, e := range s.Endpoints {
			if a, err := netip.ParseAddr(e.IP); err != nil || !a.Is4() {
				return fmt.Errorf("%s: endpoints[%d]: ip %q is not an IPv4 address", where, j, e.IP)
			}
		}
	}
	return nil
}

// domainName returns s as a lower-case FQDN if it is a DNS name of labels
// of letters, digits and '-' (a trailing dot is allowed).
func domainName(s string) (string, bool) {
	s = strings.TrimSuffix(strings.ToLower(s), ".")
	if s == "" || len(s) > 253 {
		return "", false
	}
	for _, l := range strings.Split(s, ".") {
		if !isLabel(l) {
			return "", false
		}
	}
	return s + ".", true
}

// isLabel is a DNS-1123 label: what Kubernetes names and hostnames are.
func isLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
