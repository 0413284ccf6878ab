package resources

// ClusterAPIVersion and ClusterKind identify reconcile's own inventory kind.
const (
	ClusterAPIVersion = "reconcile.dev/v1alpha1"
	ClusterKind       = "Cluster"

	DefaultEndpointsFile = StateDir + "/endpoints.json"
	DefaultDockerHost    = "unix:///var/run/docker.sock"
)

// Cluster is the host inventory: which Docker hosts exist, how to reach them,
// and which address ranges pods and services use.
type Cluster struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       ClusterSpec `json:"spec"`
	Source     Source      `json:"-"`
}

type ClusterSpec struct {
	PodCIDR       string `json:"podCIDR"`
	ServiceCIDR   string `json:"serviceCIDR"`
	EndpointsFile string `json:"endpointsFile,omitempty"` // defaulted to DefaultEndpointsFile
	ClusterDomain string `json:"clusterDomain,omitempty"` // empty means DefaultClusterDomain; see Domain
	Nodes         []Node `json:"nodes"`
	// HostPathAllowList are the host directories (and files) pods may
	// mount with a hostPath volume, each with what lies below it; empty:
	// none. reconcile runs as root on the hosts, so a repository must
	// not be able to mount / into a pod.
	HostPathAllowList []string `json:"hostPathAllowList,omitempty"`
	// Kubelet tunes each host's supervisor (probes, restarts); see kubelet.go.
	Kubelet *KubeletSpec `json:"kubelet,omitempty"`
	// LoadBalancer picks the hosts that serve LoadBalancer Services; see
	// loadbalancer.go.
	LoadBalancer *LoadBalancerSpec `json:"loadBalancer,omitempty"`
}

type Node struct {
	Name    string `json:"name"`
	SSH     string `json:"ssh"`               // user@host[:port], or a ~/.ssh/config Host alias
	Address string `json:"address"`           // next hop for this node's pod subnet
	PodCIDR string `json:"podCIDR,omitempty"` // defaulted to the i-th /24 of spec.podCIDR not named by another node
	Docker  string `json:"docker,omitempty"`  // defaulted to DefaultDockerHost
	// Labels are node labels for placement (nodeSelector, node affinity,
	// DaemonSets); see placement.go for the built-in ones.
	Labels map[string]string `json:"labels,omitempty"`
}
