package reconcile

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// nodeConfig is the whole desired network state of one node: routes to every
// other node's pod subnet (reachable or not: their pods may come back), VIP
// rules for every Service, and our files. Every node gets the same services
// and files, so any host can serve any VIP.
func nodeConfig(c *resources.Cluster, node resources.Node, states []ServiceState, files []rnet.File) rnet.NodeConfig {
	nc := rnet.NodeConfig{
		Cluster: c.Name, Node: node.Name, PodCIDR: node.PodCIDR,
		ClusterPodCIDR: c.Spec.PodCIDR, ServiceCIDR: c.Spec.ServiceCIDR, Bridge: runtime.PodBridge,
		Files: files,
	}
	for _, other := range c.Spec.Nodes {
		if other.Name != node.Name {
			nc.Routes = append(nc.Routes, rnet.Route{Node: other.Name, Dst: other.PodCIDR, Via: other.Address})
		}
	}
	for _, st := range states {
		if st.ClusterIP == "" {
			continue
		}
		s := rnet.Service{Namespace: st.Service.Namespace, Name: st.Service.Name, ClusterIP: st.ClusterIP}
		if st.Service.Spec.SessionAffinity == "ClientIP" {
			s.ClientIPAffinity = true
			s.AffinityTimeoutSeconds = 10800
			if cfg := st.Service.Spec.SessionAffinityConfig; cfg != nil && cfg.ClientIP != nil && cfg.ClientIP.TimeoutSeconds != nil {
				s.AffinityTimeoutSeconds = int(*cfg.ClientIP.TimeoutSeconds)
			}
		}
		for _, pe := range st.Ports {
			sp := rnet.ServicePort{Name: pe.Port.Name, Protocol: protocolOf(pe.Port.Protocol), Port: int(pe.Port.Port), NodePort: int(pe.NodePort)}
			for _, a := range pe.Ready {
				sp.Endpoints = append(sp.Endpoints, rnet.Endpoint{IP: a.IP, Port: int(a.Port)})
			}
			s.Ports = append(s.Ports, sp)
		}
		nc.Services = append(nc.Services, s)
	}
	return nc
}

// stateFiles are the files every node holds: the endpoints file, the
// allocation record and the revision converged to.
func stateFiles(d *Desired, states []ServiceState, alloc Allocations) []rnet.File {
	c := d.Cluster
	a, err := json.MarshalIndent(alloc, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("marshal allocations: %v", err))
	}
	return []rnet.File{
		{Path: c.Spec.EndpointsFile, Content: endpointsJSON(states), Mode: 0o644},
		{Path: AllocationsFile, Content: append(a, '\n'), Mode: 0o644},
		{Path: RevisionFile, Content: []byte(revision(d) + "\n"), Mode: 0o644},
	}
}

// serviceEnv gives a new pod the discovery variables Kubernetes gives: for
// every Service of its namespace that exists when the pod is created,
// NAME_SERVICE_HOST, NAME_SERVICE_PORT and NAME_SERVICE_PORT_<PORTNAME>.
func serviceEnv(states []ServiceState, namespace string) []string {
	var env []string
	for _, st := range states {
		s := st.Service
		if s.Namespace != namespace || st.ClusterIP == "" || len(s.Spec.Ports) == 0 {
			continue
		}
		prefix := envName(s.Name)
		env = append(env,
			fmt.Sprintf("%s_SERVICE_HOST=%s", prefix, st.ClusterIP),
			fmt.Sprintf("%s_SERVICE_PORT=%d", prefix, s.Spec.Ports[0].Port))
		for _, p := range s.Spec.Ports {
			if p.Name != "" {
				env = append(env, fmt.Sprintf("%s_SERVICE_PORT_%s=%d", prefix, envName(p.Name), p.Port))
			}
			proto := strings.ToLower(protocolOf(p.Protocol))
			pp := fmt.Sprintf("%s_PORT_%d_%s", prefix, p.Port, strings.ToUpper(proto))
			env = append(env,
				fmt.Sprintf("%s=%s://%s:%d", pp, proto, st.ClusterIP, p.Port),
				fmt.Sprintf("%s_PROTO=%s", pp, proto),
				fmt.Sprintf("%s_PORT=%d", pp, p.Port),
				fmt.Sprintf("%s_ADDR=%s", pp, st.ClusterIP))
		}
		first := s.Spec.Ports[0]
		env = append(env, fmt.Sprintf("%s_PORT=%s://%s:%d", prefix, strings.ToLower(protocolOf(first.Protocol)), st.ClusterIP, first.Port))
	}
	sort.Strings(env)
	return env
}

func envName(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }
