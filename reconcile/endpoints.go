package reconcile

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/reconcile-dev/reconcile/internal/jsonindent"
	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// ServiceState is a declared Service with its allocation and the pods behind
// each of its ports: what the VIP rules, the endpoints file and the read
// commands are made of.
type ServiceState struct {
	Service   *resources.Service
	ClusterIP string
	NodePorts map[string]int32 // by "port/PROTOCOL"
	Created   time.Time
	Ports     []PortEndpoints // in the Service's port order
	// Ingress are the addresses a LoadBalancer Service is served on (its
	// status.loadBalancer.ingress): the Cluster's load-balancer hosts'.
	Ingress []string
}

// PortEndpoints are the pods behind one service port.
type PortEndpoints struct {
	Port     resources.ServicePort
	NodePort int32
	Ready    []EndpointAddr // sorted by IP
	NotReady []EndpointAddr
}

// EndpointAddr is one pod behind a service port.
type EndpointAddr struct {
	IP        string
	Port      int32
	Node      string
	Pod       string
	Namespace string
}

// serviceStates resolves every declared Service against the observed pods.
// Pods in skip (about to be deleted) are left out, so rules stop sending them
// traffic before they go. A named targetPort is resolved per pod through its
// Deployment's template, as Kubernetes resolves it per pod.
func serviceStates(set *resources.Set, alloc Allocations, obs *Observed, skip map[string]bool) []ServiceState {
	templates := map[string]*resources.Deployment{}
	for _, d := range set.Deployments {
		templates[key(d.Namespace, d.Name)] = d
	}
	var pods []runtime.Pod
	for _, node := range obs.Reachable() {
		for _, p := range obs.Pods[node] {
			if !skip[p.ID] && p.IP != "" && p.State != "exited" && p.State != "dead" && p.State != "created" {
				pods = append(pods, p)
			}
		}
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].IP < pods[j].IP })
	idx := indexPods(pods)

	states := make([]ServiceState, 0, len(set.Services))
	for _, s := range set.Services {
		a := alloc.Services[key(s.Namespace, s.Name)]
		st := ServiceState{Service: s, ClusterIP: a.ClusterIP, NodePorts: a.NodePorts, Created: a.Created}
		if set.Cluster != nil {
			st.Ingress = set.Cluster.Spec.LoadBalancerIngress(s)
		}
		selected := idx.selected(s.Namespace, s.Spec.Selector)
		for _, sp := range s.Spec.Ports {
			pe := PortEndpoints{Port: sp, NodePort: a.NodePorts[portKey(sp)]}
			for _, i := range selected {
				p := pods[i]
				port, ok := targetPort(sp, templates[key(p.Namespace, p.Deployment)])
				if !ok {
					continue
				}
				ea := EndpointAddr{IP: p.IP, Port: port, Node: p.Node, Pod: p.Name, Namespace: p.Namespace}
				if p.Ready {
					pe.Ready = append(pe.Ready, ea)
				} else {
					pe.NotReady = append(pe.NotReady, ea)
				}
			}
			st.Ports = append(st.Ports, pe)
		}
		states = append(states, st)
	}
	return states
}

// podIndex finds the pods a selector matches without scanning every pod
// for every Service: pods are listed under each namespace/label=value they
// carry, and a selector looks only at its rarest pair's list.
type podIndex struct {
	pods    []runtime.Pod
	byLabel map[string][]int // "namespace\x00key=value" → indexes into pods, in pod order
}

func indexPods(pods []runtime.Pod) podIndex {
	idx := podIndex{pods: pods, byLabel: map[string][]int{}}
	for i, p := range pods {
		for k, v := range p.Labels {
			lk := p.Namespace + "\x00" + k + "=" + v
			idx.byLabel[lk] = append(idx.byLabel[lk], i)
		}
	}
	return idx
}

// selected returns, in pod order, the pods of namespace that selector
// matches; an empty selector selects nothing, as for a Service.
func (idx podIndex) selected(namespace string, selector map[string]string) []int {
	var best []int
	first := true
	for k, v := range selector {
		c := idx.byLabel[namespace+"\x00"+k+"="+v]
		if first || len(c) < len(best) {
			best, first = c, false
		}
	}
	var out []int
	for _, i := range best {
		if resources.ServiceSelects(selector, idx.pods[i].Labels) {
			out = append(out, i)
		}
	}
	return out
}

// targetPort resolves a service port's targetPort for a pod of Deployment d.
func targetPort(sp resources.ServicePort, d *resources.Deployment) (int32, bool) {
	tp := sp.TargetPort
	if tp.IsZero() {
		return sp.Port, true
	}
	if !tp.IsString {
		return tp.IntVal, true
	}
	if d == nil {
		return 0, false
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == tp.StrVal && protocolOf(cp.Protocol) == protocolOf(sp.Protocol) {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

func protocolOf(p string) string {
	if p == "" {
		return "TCP"
	}
	return strings.ToUpper(p)
}

// The v1 Endpoints shape, as `kubectl get ep -o json` prints it.
type (
	EndpointsList struct {
		APIVersion string      `json:"apiVersion"`
		Kind       string      `json:"kind"`
		Items      []Endpoints `json:"items"`
	}
	Endpoints struct {
		APIVersion string           `json:"apiVersion"`
		Kind       string           `json:"kind"`
		Metadata   EndpointsMeta    `json:"metadata"`
		Subsets    []EndpointSubset `json:"subsets"`
	}
	EndpointsMeta struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels,omitempty"`
	}
	EndpointSubset struct {
		Addresses         []EndpointAddress `json:"addresses,omitempty"`
		NotReadyAddresses []EndpointAddress `json:"notReadyAddresses,omitempty"`
		Ports             []EndpointPort    `json:"ports"`
	}
	EndpointAddress struct {
		IP        string           `json:"ip"`
		NodeName  string           `json:"nodeName,omitempty"`
		TargetRef *ObjectReference `json:"targetRef,omitempty"`
	}
	ObjectReference struct {
		Kind      string `json:"kind"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	}
	EndpointPort struct {
		Name     string `json:"name,omitempty"`
		Port     int32  `json:"port"`
		Protocol string `json:"protocol"`
	}
)

// BuildEndpoints turns service states into Kubernetes Endpoints. Like the
// endpoints controller, pods that share the same resolved ports share a
// subset; the content carries no timestamps so it only changes when the
// endpoints do. The cluster DNS Service, which selects no pods, gets the
// address every host of c answers on (clusterDNSSubsets); c may be nil.
func BuildEndpoints(c *resources.Cluster, states []ServiceState) EndpointsList {
	list := EndpointsList{APIVersion: "v1", Kind: "EndpointsList", Items: []Endpoints{}}
	for _, st := range states {
		ep := Endpoints{APIVersion: "v1", Kind: "Endpoints",
			Metadata: EndpointsMeta{Name: st.Service.Name, Namespace: st.Service.Namespace, Labels: st.Service.Labels},
			Subsets:  []EndpointSubset{}}
		if isClusterDNS(st.Service) && c != nil {
			ep.Subsets = clusterDNSSubsets(c, st)
			list.Items = append(list.Items, ep)
			continue
		}
		// Group pods by their resolved port list.
		type podPorts struct {
			addr  EndpointAddress
			ready bool
			ports []EndpointPort
		}
		byPod := map[string]*podPorts{}
		var order []string
		for _, pe := range st.Ports {
			for _, group := range []struct {
				addrs []EndpointAddr
				ready bool
			}{{pe.Ready, true}, {pe.NotReady, false}} {
				for _, a := range group.addrs {
					pp, ok := byPod[a.IP]
					if !ok {
						pp = &podPorts{addr: EndpointAddress{IP: a.IP, NodeName: a.Node,
							TargetRef: &ObjectReference{Kind: "Pod", Namespace: a.Namespace, Name: a.Pod}}, ready: group.ready}
						byPod[a.IP] = pp
						order = append(order, a.IP)
					}
					pp.ports = append(pp.ports, EndpointPort{Name: pe.Port.Name, Port: a.Port, Protocol: protocolOf(pe.Port.Protocol)})
				}
			}
		}
		sort.Strings(order)
		subsets := map[string]*EndpointSubset{}
		var subsetOrder []string
		var kb []byte
		for _, ip := range order {
			pp := byPod[ip]
			kb = portsKey(kb[:0], pp.ports)
			ss, ok := subsets[string(kb)]
			if !ok {
				sk := string(kb)
				ss = &EndpointSubset{Ports: pp.ports}
				subsets[sk] = ss
				subsetOrder = append(subsetOrder, sk)
			}
			if pp.ready {
				ss.Addresses = append(ss.Addresses, pp.addr)
			} else {
				ss.NotReadyAddresses = append(ss.NotReadyAddresses, pp.addr)
			}
		}
		for _, sk := range subsetOrder {
			ep.Subsets = append(ep.Subsets, *subsets[sk])
		}
		list.Items = append(list.Items, ep)
	}
	return list
}

// portsKey appends what groups pods into a subset: two port lists get the
// same key exactly when json.Marshal writes them the same, as it did when
// the key was json.Marshal's (a name is left out there only when empty,
// and here the empty name's "" is like no other name's string), without
// its reflection for every pod. Strings quoted as encoding/json quotes
// them end where their closing quote is, so the key reads one way only.
// ports is a pod's, never empty: json.Marshal told nil from [], this does
// not.
func portsKey(b []byte, ports []EndpointPort) []byte {
	for _, p := range ports {
		b = jsonindent.AppendString(b, p.Name)
		b = strconv.AppendInt(b, int64(p.Port), 10)
		b = jsonindent.AppendString(b, p.Protocol)
	}
	return b
}

// endpointsJSON is the endpoints file's exact content: what
// json.MarshalIndent(l, "", "  ") writes, and a newline (appendJSON).
func endpointsJSON(c *resources.Cluster, states []ServiceState) []byte {
	l := BuildEndpoints(c, states)
	return append(l.appendJSON(nil), '\n')
}
