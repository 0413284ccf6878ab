package reconcile

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/reconcile-dev/reconcile/internal/jsonindent"
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
		Files: files, ClusterDNS: clusterDNSConfig(c),
		// Every host runs the pod supervisor (probes, restarts).
		Kubelet: &rnet.Kubelet{RestartBackoffBaseSeconds: int(c.Spec.RestartBackoffBase().Seconds())},
	}
	for _, other := range c.Spec.Nodes {
		if other.Name != node.Name {
			nc.Routes = append(nc.Routes, rnet.Route{Node: other.Name, Dst: other.PodCIDR, Via: other.Address})
		}
	}
	lbHost := false
	for _, n := range c.Spec.LoadBalancerNodes() {
		lbHost = lbHost || n.Name == node.Name
	}
	for _, st := range states {
		// Headless and ExternalName Services have no VIP; each host answers
		// the cluster DNS address itself (NodeConfig.ClusterDNS), so it is
		// not load-balanced across hosts.
		if st.ClusterIP == "" || !hasClusterIP(st.Service) || isClusterDNS(st.Service) {
			continue
		}
		s := rnet.Service{Namespace: st.Service.Namespace, Name: st.Service.Name, ClusterIP: st.ClusterIP}
		if st.Service.Spec.SessionAffinity == "ClientIP" {
			s.ClientIPAffinity = true
			s.AffinityTimeoutSeconds = int(st.Service.AffinityTimeoutSeconds())
		}
		if st.Service.Spec.Type == resources.ServiceTypeLoadBalancer && lbHost {
			// Each load-balancer host serves the Service on its own
			// address; traffic to another's never reaches it.
			s.LoadBalancerIPs = []string{node.Address}
			s.SourceRanges = st.Service.Spec.LoadBalancerSourceRanges
		}
		s.LocalTraffic = st.Service.LocalTraffic()
		for _, pe := range st.Ports {
			sp := rnet.ServicePort{Name: pe.Port.Name, Protocol: protocolOf(pe.Port.Protocol), Port: int(pe.Port.Port), NodePort: int(pe.NodePort)}
			for _, a := range pe.Ready {
				// Local marks this host's pods only where it matters, so
				// other Services' configs are what they were.
				sp.Endpoints = append(sp.Endpoints, rnet.Endpoint{IP: a.IP, Port: int(a.Port), Local: s.LocalTraffic && a.Node == node.Name})
			}
			s.Ports = append(s.Ports, sp)
		}
		nc.Services = append(nc.Services, s)
	}
	return nc
}

// desiredNet is what every node must hold for a given set of pods: its
// network config, and the endpoints file content they all share.
type desiredNet struct {
	configs   map[string]rnet.NodeConfig // by node name
	endpoints []byte
}

// desiredNetwork resolves the Services against the pods once and builds
// every node's config from that, for apply, diff, sync and the daemon
// alike. Pods in skip are left out (they are about to be deleted).
func desiredNetwork(d *Desired, alloc Allocations, obs *Observed, skip map[string]bool) desiredNet {
	return desiredNetworkFor(d, alloc, obs, skip, nil)
}

// desiredNetworkFor is desiredNetwork with the pods about to be created
// (creates): their hosts get their volumes (volumes.go) before them.
func desiredNetworkFor(d *Desired, alloc Allocations, obs *Observed, skip map[string]bool, creates []Action) desiredNet {
	states := serviceStates(d.Set, alloc, obs, skip)
	dn := desiredNet{configs: make(map[string]rnet.NodeConfig, len(d.Cluster.Spec.Nodes))}
	// The endpoints file and the DNS records are two encodings of the same
	// states, each a few megabytes at thousands of Services, and only read
	// states: one on each core, on the path of every pass.
	var dnsFiles []rnet.File
	var wg sync.WaitGroup
	wg.Go(func() {
		dnsFiles = clusterDNSFiles(d, states)
		// Digested once here, as stateFiles does: every node's hash and
		// send would digest the records (megabytes) again.
		for i := range dnsFiles {
			dnsFiles[i] = dnsFiles[i].WithDigest()
		}
	})
	dn.endpoints = endpointsJSON(d.Cluster, states)
	wg.Wait()
	files := append(stateFiles(d, dn.endpoints, alloc), dnsFiles...)
	for _, n := range d.Cluster.Spec.Nodes {
		dn.configs[n.Name] = nodeConfig(d.Cluster, n, states, files)
	}
	withVolumes(d, dn.configs, obs, skip, creates)
	return dn
}

// stateFiles are the files every node holds: the endpoints file, the
// allocation record and the revision converged to.
func stateFiles(d *Desired, endpoints []byte, alloc Allocations) []rnet.File {
	c := d.Cluster
	a, err := jsonindent.Marshal(alloc, "  ")
	if err != nil {
		panic(fmt.Sprintf("marshal allocations: %v", err))
	}
	files := []rnet.File{
		{Path: c.Spec.EndpointsFile, Content: endpoints, Mode: 0o644},
		{Path: AllocationsFile, Content: append(a, '\n'), Mode: 0o644},
		{Path: RevisionFile, Content: []byte(revision(d) + "\n"), Mode: 0o644},
		{Path: PendingFile, Content: pendingJSON(nil), Mode: 0o644},
	}
	if d.history != nil {
		files = append(files, rnet.File{Path: TemplateHistoryFile, Content: historyFile(*d.history), Mode: 0o644})
	}
	// Digested once here, not once per node by every hash and send.
	for i := range files {
		files[i] = files[i].WithDigest()
	}
	return files
}

// serviceEnv gives a new pod the discovery variables Kubernetes gives: for
// every Service of its namespace that exists when the pod is created,
// NAME_SERVICE_HOST, NAME_SERVICE_PORT and NAME_SERVICE_PORT_<PORTNAME>.
func serviceEnv(svcs []*resources.Service, alloc Allocations, namespace string) []string {
	var env []string
	for _, s := range svcs {
		clusterIP := alloc.Services[key(s.Namespace, s.Name)].ClusterIP
		if s.Namespace != namespace || clusterIP == "" || len(s.Spec.Ports) == 0 {
			continue
		}
		prefix := envName(s.Name)
		env = append(env,
			fmt.Sprintf("%s_SERVICE_HOST=%s", prefix, clusterIP),
			fmt.Sprintf("%s_SERVICE_PORT=%d", prefix, s.Spec.Ports[0].Port))
		for _, p := range s.Spec.Ports {
			if p.Name != "" {
				env = append(env, fmt.Sprintf("%s_SERVICE_PORT_%s=%d", prefix, envName(p.Name), p.Port))
			}
			proto := strings.ToLower(protocolOf(p.Protocol))
			pp := fmt.Sprintf("%s_PORT_%d_%s", prefix, p.Port, strings.ToUpper(proto))
			env = append(env,
				fmt.Sprintf("%s=%s://%s:%d", pp, proto, clusterIP, p.Port),
				fmt.Sprintf("%s_PROTO=%s", pp, proto),
				fmt.Sprintf("%s_PORT=%d", pp, p.Port),
				fmt.Sprintf("%s_ADDR=%s", pp, clusterIP))
		}
		first := s.Spec.Ports[0]
		env = append(env, fmt.Sprintf("%s_PORT=%s://%s:%d", prefix, strings.ToLower(protocolOf(first.Protocol)), clusterIP, first.Port))
	}
	sort.Strings(env)
	return env
}

func envName(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }
