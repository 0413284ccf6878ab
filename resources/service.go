package resources

// Service is a v1 Service.
type Service struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       ServiceSpec `json:"spec"`
	Source     Source      `json:"-"`
}

const (
	ServiceTypeClusterIP = "ClusterIP"
	ServiceTypeNodePort  = "NodePort"
	// ServiceTypeLoadBalancer is served, like k3s ServiceLB, on the
	// addresses of the Cluster's load-balancer hosts (LoadBalancerNodes).
	ServiceTypeLoadBalancer = "LoadBalancer"
	// ServiceTypeExternalName is a DNS alias: a CNAME to spec.externalName,
	// with no ClusterIP and no endpoints.
	ServiceTypeExternalName = "ExternalName"
	// ClusterIPNone makes a Service headless: its DNS name answers with the
	// ready pods' addresses, and no VIP is allocated.
	ClusterIPNone = "None"

	// External traffic policies (NodePort and LoadBalancer): Cluster sends
	// to every ready endpoint, masqueraded; Local only to this host's,
	// keeping the client's address.
	TrafficPolicyCluster = "Cluster"
	TrafficPolicyLocal   = "Local"
)

type ServiceSpec struct {
	Type                  string                 `json:"type,omitempty"` // defaulted to ClusterIP
	Ports                 []ServicePort          `json:"ports"`
	Selector              map[string]string      `json:"selector,omitempty"`
	ClusterIP             string                 `json:"clusterIP,omitempty"`       // explicit, None (headless), or allocated by reconcile
	ExternalName          string                 `json:"externalName,omitempty"`    // type ExternalName only
	SessionAffinity       string                 `json:"sessionAffinity,omitempty"` // None (default) or ClientIP
	SessionAffinityConfig *SessionAffinityConfig `json:"sessionAffinityConfig,omitempty"`
	// LoadBalancer only: the client networks (CIDRs) allowed to reach the
	// load-balancer addresses; empty allows all.
	LoadBalancerSourceRanges []string `json:"loadBalancerSourceRanges,omitempty"`
	// ExternalTrafficPolicy is Cluster (the default) or Local, for
	// NodePort and LoadBalancer Services.
	ExternalTrafficPolicy string `json:"externalTrafficPolicy,omitempty"`
	// AllocateLoadBalancerNodePorts false gives a LoadBalancer Service no
	// node ports (Kubernetes' default is true).
	AllocateLoadBalancerNodePorts *bool `json:"allocateLoadBalancerNodePorts,omitempty"`
}

type SessionAffinityConfig struct {
	ClientIP *ClientIPConfig `json:"clientIP,omitempty"`
}

type ClientIPConfig struct {
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty"` // defaulted to 10800
}

type ServicePort struct {
	Name       string      `json:"name,omitempty"`
	Port       int32       `json:"port"`
	Protocol   string      `json:"protocol,omitempty"`  // TCP (default) or UDP
	TargetPort IntOrString `json:"targetPort,omitzero"` // defaulted to Port
	NodePort   int32       `json:"nodePort,omitempty"`  // NodePort and LoadBalancer services only; 30000-32767
}

// HasNodePorts says whether s is served on node ports: NodePort Services,
// and LoadBalancer ones unless allocateLoadBalancerNodePorts is false.
func (s *Service) HasNodePorts() bool {
	switch s.Spec.Type {
	case ServiceTypeNodePort:
		return true
	case ServiceTypeLoadBalancer:
		return s.Spec.AllocateLoadBalancerNodePorts == nil || *s.Spec.AllocateLoadBalancerNodePorts
	}
	return false
}

// LocalTraffic says whether external traffic (node ports, load-balancer
// addresses) goes only to the receiving host's endpoints.
func (s *Service) LocalTraffic() bool {
	return s.Spec.ExternalTrafficPolicy == TrafficPolicyLocal && (s.Spec.Type == ServiceTypeNodePort || s.Spec.Type == ServiceTypeLoadBalancer)
}

// TrafficPolicy is the external traffic policy kubectl shows: Cluster
// unless Local, for NodePort and LoadBalancer Services; empty for others.
func (s *Service) TrafficPolicy() string {
	switch {
	case s.Spec.Type != ServiceTypeNodePort && s.Spec.Type != ServiceTypeLoadBalancer:
		return ""
	case s.LocalTraffic():
		return TrafficPolicyLocal
	}
	return TrafficPolicyCluster
}
