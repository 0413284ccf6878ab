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
	// ServiceTypeExternalName is a DNS alias: a CNAME to spec.externalName,
	// with no ClusterIP and no endpoints.
	ServiceTypeExternalName = "ExternalName"
	// ClusterIPNone makes a Service headless: its DNS name answers with the
	// ready pods' addresses, and no VIP is allocated.
	ClusterIPNone = "None"
)

type ServiceSpec struct {
	Type                  string                 `json:"type,omitempty"` // defaulted to ClusterIP
	Ports                 []ServicePort          `json:"ports"`
	Selector              map[string]string      `json:"selector,omitempty"`
	ClusterIP             string                 `json:"clusterIP,omitempty"`       // explicit, None (headless), or allocated by reconcile
	ExternalName          string                 `json:"externalName,omitempty"`    // type ExternalName only
	SessionAffinity       string                 `json:"sessionAffinity,omitempty"` // None (default) or ClientIP
	SessionAffinityConfig *SessionAffinityConfig `json:"sessionAffinityConfig,omitempty"`
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
	NodePort   int32       `json:"nodePort,omitempty"`  // NodePort services only; 30000-32767
}
