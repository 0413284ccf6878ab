package resources

import (
	"fmt"
	"net/netip"
)

// LoadBalancerSpec is the Cluster's spec.loadBalancer. Like k3s ServiceLB,
// which serves a LoadBalancer Service on every node (or on the nodes
// labelled svccontroller.k3s.cattle.io/enablelb), reconcile serves it on
// the address of every host whose labels NodeSelector matches.
type LoadBalancerSpec struct {
	// NodeSelector selects the load-balancer hosts by their labels
	// (Node.NodeLabels, so kubernetes.io/hostname works); empty: all.
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
}

// LoadBalancerNodes are the hosts serving LoadBalancer Services, in the
// Cluster's order: all of them unless spec.loadBalancer.nodeSelector says
// otherwise. It is the one home of that default.
func (s *ClusterSpec) LoadBalancerNodes() []Node {
	var out []Node
	for _, n := range s.Nodes {
		if s.LoadBalancer == nil || len(s.LoadBalancer.NodeSelector) == 0 || ServiceSelects(s.LoadBalancer.NodeSelector, n.NodeLabels()) {
			out = append(out, n)
		}
	}
	return out
}

// LoadBalancerIngress are the addresses a LoadBalancer Service answers on
// (status.loadBalancer.ingress, get svc's EXTERNAL-IP); nil for any other
// type.
func (s *ClusterSpec) LoadBalancerIngress(svc *Service) []string {
	if svc.Spec.Type != ServiceTypeLoadBalancer {
		return nil
	}
	var out []string
	for _, n := range s.LoadBalancerNodes() {
		out = append(out, n.Address)
	}
	return out
}

// maxSourceRanges bounds spec.loadBalancerSourceRanges: each range is
// an iptables rule on every host.
const maxSourceRanges = 64

func validateLoadBalancer(o obj, spec *ServiceSpec) {
	switch spec.ExternalTrafficPolicy {
	case "":
	case TrafficPolicyCluster, TrafficPolicyLocal:
		if spec.Type != ServiceTypeNodePort && spec.Type != ServiceTypeLoadBalancer {
			o.errorf("spec.externalTrafficPolicy", "may only be set when type is NodePort or LoadBalancer")
		}
	default:
		o.errorf("spec.externalTrafficPolicy", "unsupported value %q: supported values: \"Cluster\", \"Local\"", spec.ExternalTrafficPolicy)
	}
	if spec.AllocateLoadBalancerNodePorts != nil && spec.Type != ServiceTypeLoadBalancer {
		o.errorf("spec.allocateLoadBalancerNodePorts", "may only be set when type is LoadBalancer")
	}
	if len(spec.LoadBalancerSourceRanges) > 0 && spec.Type != ServiceTypeLoadBalancer {
		o.errorf("spec.loadBalancerSourceRanges", "may only be set when type is LoadBalancer")
	}
	if n := len(spec.LoadBalancerSourceRanges); n > maxSourceRanges {
		o.errorf("spec.loadBalancerSourceRanges", "at most %d ranges, not %d", maxSourceRanges, n)
		return
	}
	for i, r := range spec.LoadBalancerSourceRanges {
		// Kubernetes accepts surrounding spaces and a host address as
		// a /32; reconcile wants the network itself, IPv4 like its pods.
		if p, err := netip.ParsePrefix(r); err != nil || !p.Addr().Is4() {
			o.errorf(indexPath("spec.loadBalancerSourceRanges", i), "invalid IPv4 CIDR %q: want a network like 203.0.113.0/24", r)
		} else if p.Masked() != p {
			o.errorf(indexPath("spec.loadBalancerSourceRanges", i), "%q has host bits set: the network is %s", r, p.Masked())
		}
	}
}

// sshPort is sshd's port, which reconcile reaches the hosts on: a
// load-balancer port takes the port on the hosts' own addresses, so it
// would cut reconcile off its hosts.
const sshPort = 22

// checkLoadBalancerPorts reports a LoadBalancer port that another
// LoadBalancer Service of the tree already serves on the same hosts'
// addresses (k3s leaves the second pending; here it is an error, so
// nothing is half served), and one on sshd's port.
func checkLoadBalancerPorts(o obj, svc *Service, seen map[string]*Service) {
	if svc.Spec.Type != ServiceTypeLoadBalancer {
		return
	}
	for i, p := range svc.Spec.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = "TCP"
		}
		pp := fieldPath(indexPath("spec.ports", i), "port")
		if p.Port == sshPort && proto == "TCP" {
			o.errorf(pp, "port %d/TCP is sshd's on the hosts, which reconcile reaches them on: a LoadBalancer Service may not take it", p.Port)
		}
		k := fmt.Sprintf("%d/%s", p.Port, proto)
		if prev, dup := seen[k]; dup && prev != svc {
			o.errorf(pp, "port %s is already served on the load-balancer hosts by Service %s/%s (%s)", k, prev.Namespace, prev.Name, prev.Source)
		} else {
			seen[k] = svc
		}
	}
}
