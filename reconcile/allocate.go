package reconcile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// AllocationsFile records each Service's ClusterIP and nodePorts on every
// host, so that any runner, from anywhere, with an empty cache, keeps them.
const AllocationsFile = "/var/lib/reconcile/state/allocations.json"

// Allocations is the content of AllocationsFile.
type Allocations struct {
	Services map[string]Allocation `json:"services"` // by namespace/name
}

// Allocation is what one Service holds.
type Allocation struct {
	ClusterIP string           `json:"clusterIP"`
	NodePorts map[string]int32 `json:"nodePorts,omitempty"` // by "port/PROTOCOL"
	Created   time.Time        `json:"created"`
	Source    string           `json:"source,omitempty"` // the source that declares the Service (SourceID)
}

func portKey(p resources.ServicePort) string { return fmt.Sprintf("%d/%s", p.Port, p.Protocol) }

// allocations is the allocation step of every run (diff, apply, a sync
// pass's check): what the hosts in obs recorded, and what d's Services get
// from it now, stamped with d's source. Another source's Services
// (recorded in prev, or behind the foreign pods) are refused here.
func allocations(d *Desired, obs *Observed, foreign []runtime.Pod) (prev, next Allocations, err error) {
	if prev, err = recordedAllocations(obs); err != nil {
		return prev, prev, err
	}
	if err = checkSources(d, foreign, prev); err != nil {
		return prev, prev, err
	}
	svcs := d.Services
	if len(d.Deployments) == 0 && !declaresServices(svcs) {
		// Nothing declared: the cluster DNS keeps no address either, so
		// removing everything leaves no allocation behind (teardown).
		svcs = nil
	}
	next, err = allocate(svcs, d.Cluster.Spec.ServiceCIDR, prev, time.Now().UTC().Truncate(time.Second))
	if err == nil {
		stampSource(next, d.Source)
	}
	return prev, next, err
}

// recordedAllocations merges the allocation records of every host read
// into obs.
func recordedAllocations(obs *Observed) (Allocations, error) {
	var files [][]byte
	for _, n := range obs.Reachable() {
		files = append(files, obs.Files[n][AllocationsFile])
	}
	return mergeAllocations(files)
}

// mergeAllocations unions what the hosts recorded. Hosts can disagree after
// one was unreachable during a run; the oldest record of a Service wins,
// which is the one every earlier runner handed out.
func mergeAllocations(files [][]byte) (Allocations, error) {
	m := Allocations{Services: map[string]Allocation{}}
	for i, f := range files {
		// Hosts usually hold the same record: merging it again changes
		// nothing, and at 2,000 Services each decode is milliseconds.
		if len(f) == 0 || slices.ContainsFunc(files[:i], func(g []byte) bool { return bytes.Equal(f, g) }) {
			continue
		}
		var a Allocations
		if err := json.Unmarshal(f, &a); err != nil {
			return m, fmt.Errorf("parse %s: %w", AllocationsFile, err)
		}
		for k, v := range a.Services {
			if cur, ok := m.Services[k]; !ok || v.Created.Before(cur.Created) {
				m.Services[k] = v
			}
		}
	}
	return m, nil
}

// allocate gives every desired Service a ClusterIP (and nodePorts) that stays
// stable: an existing allocation is kept, an explicit clusterIP is honoured
// unless another Service holds it, and a new one starts at a hash of the
// Service's name so that two runners racing pick the same address. Services
// no longer declared lose their allocation.
func allocate(svcs []*resources.Service, serviceCIDR string, prev Allocations, now time.Time) (Allocations, error) {
	prefix, err := netip.ParsePrefix(serviceCIDR)
	if err != nil {
		return prev, fmt.Errorf("serviceCIDR %q: %w", serviceCIDR, err)
	}
	next := Allocations{Services: map[string]Allocation{}}
	usedIP := map[string]string{}
	usedPort := map[int32]string{}
	// The cluster DNS address is kube-dns's alone, whether or not a Service
	// held it before this reconcile declared kube-dns.
	dnsKey, dnsIP := reserveClusterDNS(serviceCIDR, usedIP)
	// Keep what declared Services already hold, when it still fits.
	for _, s := range svcs {
		k := key(s.Namespace, s.Name)
		a, ok := prev.Services[k]
		if !ok || (s.Spec.ClusterIP != "" && s.Spec.ClusterIP != a.ClusterIP) || !hasClusterIP(s) {
			continue
		}
		if ip, err := netip.ParseAddr(a.ClusterIP); err != nil || !prefix.Contains(ip) || (a.ClusterIP == dnsIP && k != dnsKey) {
			continue
		}
		a.NodePorts = keepNodePorts(s, a.NodePorts)
		next.Services[k] = a
		usedIP[a.ClusterIP] = k
		for _, p := range a.NodePorts {
			usedPort[p] = k
		}
	}
	var errs []string
	for _, s := range svcs {
		k := key(s.Namespace, s.Name)
		a, ok := next.Services[k]
		if !ok && !hasClusterIP(s) {
			// Headless and ExternalName Services get no address; they are
			// recorded (with their creation time) all the same.
			a, ok = prev.Services[k], true
			if a.Created.IsZero() || a.ClusterIP != "" {
				a = Allocation{Created: now}
			}
		}
		if !ok {
			a = Allocation{Created: now}
			if s.Spec.ClusterIP != "" {
				if holder, taken := usedIP[s.Spec.ClusterIP]; taken && holder != k {
					errs = append(errs, fmt.Sprintf("%s: Service/%s: spec.clusterIP: %s is already allocated to Service %s", s.Source, s.Name, s.Spec.ClusterIP, holder))
					continue
				}
				a.ClusterIP = s.Spec.ClusterIP
			} else {
				ip, ok := pickIP(prefix, k, usedIP)
				if !ok {
					errs = append(errs, fmt.Sprintf("%s: Service/%s: serviceCIDR %s is exhausted", s.Source, s.Name, serviceCIDR))
					continue
				}
				a.ClusterIP = ip
			}
			usedIP[a.ClusterIP] = k
		}
		if s.Spec.Type == resources.ServiceTypeNodePort || s.Spec.Type == resources.ServiceTypeLoadBalancer {
			if err := allocateNodePorts(s, &a, usedPort); err != "" {
				errs = append(errs, err)
				continue
			}
		}
		next.Services[k] = a
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return prev, &AllocationError{Problems: errs}
	}
	return next, nil
}

// AllocationError lists addresses or ports that cannot be given out; nothing
// is changed on any host when it is returned.
type AllocationError struct{ Problems []string }

func (e *AllocationError) Error() string {
	s := "cannot allocate service addresses:"
	for _, p := range e.Problems {
		s += "\n  " + p
	}
	return s
}

// keepNodePorts drops recorded nodePorts of ports the Service no longer has,
// or whose explicit nodePort changed.
func keepNodePorts(s *resources.Service, had map[string]int32) map[string]int32 {
	if s.Spec.Type != resources.ServiceTypeNodePort && s.Spec.Type != resources.ServiceTypeLoadBalancer {
		return nil
	}
	kept := map[string]int32{}
	for _, p := range s.Spec.Ports {
		if np, ok := had[portKey(p)]; ok && (p.NodePort == 0 && s.HasNodePorts() || p.NodePort == np) {
			kept[portKey(p)] = np
		}
	}
	return kept
}

const nodePortMin, nodePortMax = 30000, 32767

func allocateNodePorts(s *resources.Service, a *Allocation, used map[int32]string) string {
	k := key(s.Namespace, s.Name)
	if a.NodePorts == nil {
		a.NodePorts = map[string]int32{}
	}
	for _, p := range s.Spec.Ports {
		pk := portKey(p)
		if np, ok := a.NodePorts[pk]; ok && used[np] == k {
			continue
		}
		if p.NodePort != 0 {
			if holder, taken := used[p.NodePort]; taken && holder != k {
				return fmt.Sprintf("%s: Service/%s: nodePort %d is already allocated to Service %s", s.Source, s.Name, p.NodePort, holder)
			}
			a.NodePorts[pk] = p.NodePort
			used[p.NodePort] = k
			continue
		}
		if !s.HasNodePorts() {
			// allocateLoadBalancerNodePorts: false: only the nodePorts
			// the Service names, as in Kubernetes.
			continue
		}
		n := int32(nodePortMax - nodePortMin + 1)
		start := int32(hash32(k+"/"+pk) % uint32(n))
		found := false
		for i := int32(0); i < n; i++ {
			np := nodePortMin + (start+i)%n
			if _, taken := used[np]; !taken {
				a.NodePorts[pk] = np
				used[np] = k
				found = true
				break
			}
		}
		if !found {
			return fmt.Sprintf("%s: Service/%s: no free nodePort in %d-%d", s.Source, s.Name, nodePortMin, nodePortMax)
		}
	}
	return ""
}

// pickIP returns a free address of prefix, probing from a hash of the name.
// The network address, the first host address (kept free as Kubernetes keeps
// it for its own API Service) and the broadcast address are never used.
func pickIP(prefix netip.Prefix, name string, used map[string]string) (string, bool) {
	prefix = prefix.Masked()
	bits := 32 - prefix.Bits()
	if !prefix.Addr().Is4() || bits < 2 || bits > 31 {
		return "", false
	}
	size := uint32(1) << bits
	base := binary.BigEndian.Uint32(prefix.Addr().AsSlice())
	usable := size - 3 // offsets 2 .. size-2
	start := hash32(name) % usable
	for i := uint32(0); i < usable; i++ {
		off := 2 + (start+i)%usable
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], base+off)
		ip := netip.AddrFrom4(b).String()
		if _, taken := used[ip]; !taken {
			return ip, true
		}
	}
	return "", false
}

func hash32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}
