// Package net is the node agent: it converges one Docker host's networking
// (pod routes, ip_forward, service VIP rules, state files) to a NodeConfig,
// touching only what reconcile owns.
package net

// NodeConfig is the desired networking of one host. It travels from the
// planner to the agent over SSH as JSON.
type NodeConfig struct {
	Cluster        string    `json:"cluster"`
	Node           string    `json:"node"`
	PodCIDR        string    `json:"podCIDR"`
	ClusterPodCIDR string    `json:"clusterPodCIDR"`
	ServiceCIDR    string    `json:"serviceCIDR"`
	Bridge         string    `json:"bridge"`
	Routes         []Route   `json:"routes,omitempty"`
	Services       []Service `json:"services,omitempty"`
	Files          []File    `json:"files,omitempty"`
	// StateFile records a hash of the last applied config so a later pass
	// can tell drift (host changed) from an update (config changed).
	// Empty means DefaultStateFile.
	StateFile string `json:"stateFile,omitempty"`
	// ClusterDNS is this host's cluster DNS server, when the cluster has one.
	ClusterDNS *ClusterDNS `json:"clusterDNS,omitempty"`
	// Volumes are the ConfigMap and Secret volumes of the Deployments
	// with pods on this host (volumes.go); the content never reaches the
	// host's disk, not even the state file's record.
	Volumes []Volume `json:"volumes,omitempty"`
	// HostPaths are the hostPath volumes of those pods, checked (and
	// made, for the *OrCreate types) against HostPathAllowList on the
	// host (hostpath.go).
	HostPaths         []HostPath `json:"hostPaths,omitempty"`
	HostPathAllowList []string   `json:"hostPathAllowList,omitempty"`
	// Kubelet is this host's pod supervisor (probes, restarts), which the
	// agent's apply verb runs.
	Kubelet *Kubelet `json:"kubelet,omitempty"`
}

// Kubelet is the supervisor's setting, from the Cluster's spec.kubelet.
type Kubelet struct {
	RestartBackoffBaseSeconds int `json:"restartBackoffBaseSeconds"`
}

// ClusterDNS is what a host needs to answer the cluster DNS locally: the
// address (the kube-dns ClusterIP) the host holds itself, and what its DNS
// server answers from. The agent's apply verb runs the server.
type ClusterDNS struct {
	IP          string `json:"ip"`
	Domain      string `json:"domain"`
	RecordsFile string `json:"recordsFile"`
}

// DefaultStateFile is where the agent keeps the hash of the last applied config.
const DefaultStateFile = "/var/lib/reconcile/state/node-applied.json"

// Route is a route to another node's pod subnet.
type Route struct {
	Node string `json:"node"`
	Dst  string `json:"dst"` // CIDR
	Via  string `json:"via"` // next-hop IP (that node's address)
}

type Service struct {
	Namespace              string        `json:"namespace"`
	Name                   string        `json:"name"`
	ClusterIP              string        `json:"clusterIP"`
	Ports                  []ServicePort `json:"ports"`
	ClientIPAffinity       bool          `json:"clientIPAffinity,omitempty"`
	AffinityTimeoutSeconds int           `json:"affinityTimeoutSeconds,omitempty"` // 0 means 10800
	// LoadBalancerIPs are this host's own addresses that serve the
	// Service's ports (type LoadBalancer, when the host is one of the
	// Cluster's load-balancer hosts).
	LoadBalancerIPs []string `json:"loadBalancerIPs,omitempty"`
	// SourceRanges, when set, are the only client networks the
	// load-balancer addresses answer (loadBalancerSourceRanges).
	SourceRanges []string `json:"sourceRanges,omitempty"`
	// LocalTraffic is externalTrafficPolicy Local: node ports and
	// load-balancer addresses go only to this host's ready endpoints,
	// unmasqueraded, and are dropped on a host without one.
	LocalTraffic bool `json:"localTraffic,omitempty"`
}

type ServicePort struct {
	Name      string     `json:"name,omitempty"`
	Protocol  string     `json:"protocol,omitempty"` // TCP (default) or UDP
	Port      int        `json:"port"`
	NodePort  int        `json:"nodePort,omitempty"`
	Endpoints []Endpoint `json:"endpoints,omitempty"` // ready endpoints only
}

// Endpoint is a ready pod address; Port is the resolved target port.
type Endpoint struct {
	IP   string `json:"ip"`
	Port int    `json:"port"`
	// Local is true for a pod on this host (for LocalTraffic).
	Local bool `json:"local,omitempty"`
}

type File struct {
	Path    string `json:"path"`
	Content []byte `json:"content,omitempty"`
	Mode    uint32 `json:"mode,omitempty"` // 0 means 0644
	// SHA256 (hex) and Size describe Content. A sender may leave Content
	// out and give only these when the host likely holds that content
	// already (the endpoints file of 2,000 Services is 2 MB, sent on every
	// pass): a dry run compares digests, and a write that needs the
	// content changes nothing and names the file in Result.NeedContent.
	// Without SHA256, Content is the file's content, empty or not.
	SHA256 string `json:"sha256,omitempty"`
	Size   int    `json:"size,omitempty"`
	// HostSearchAt, when not 0, makes the file a pod resolv.conf that takes
	// the host's own search domains after its first HostSearchAt entries
	// (the cluster's), as the kubelet does for ClusterFirst pods: the host
	// writes Content with them merged in (withHostSearches). Such a file
	// always travels with its content.
	HostSearchAt int `json:"hostSearchAt,omitempty"`
	// Chunks, when set, are the content (SHA256 and Size describe it) in
	// pieces, those the host likely holds by id only (chunks.go).
	Chunks []Chunk `json:"chunks,omitempty"`
}

// WithDigest returns f with SHA256 and Size set from its Content.
func (f File) WithDigest() File {
	if f.SHA256 == "" {
		f.SHA256, f.Size = contentDigest(f.Content), len(f.Content)
	}
	return f
}

// Withheld returns f described by its digest only, without its Content.
func (f File) Withheld() File {
	f = f.WithDigest()
	f.Content, f.Chunks = nil, nil
	return f
}

// withheld says whether f names its content by digest only.
func (f File) withheld() bool { return f.Content == nil && f.SHA256 != "" }

// Change kinds and actions.
const (
	KindRoute   = "route"
	KindSysctl  = "sysctl"
	KindChain   = "chain"
	KindRules   = "rules"
	KindHook    = "hook"
	KindFile    = "file"
	KindHairpin = "hairpin"
	KindDNSAddr = "dns-address"

	ActionAdd    = "add"
	ActionDelete = "delete"
	ActionUpdate = "update"
)

// Change is one thing that differed from the desired state (and was, unless
// dry run, changed).
type Change struct {
	Kind   string `json:"kind"`
	Action string `json:"action"`
	Target string `json:"target"`
	Detail string `json:"detail,omitempty"`
	// Volume counts a volume's change (KindVolume), for the planner's
	// per-object lines; Detail words the same for a person.
	Volume *VolumeDelta `json:"volume,omitempty"`
}

// VolumeDelta is a volume change counted: how many files the volume has,
// and the paths of those that are added, differ, or go. Paths only (a
// ConfigMap's or Secret's key names), never content.
type VolumeDelta struct {
	Files   int      `json:"files"`
	Changed []string `json:"changed,omitempty"`
}

// Result of one Apply. Drift is true when the host differed from a config
// identical to the one applied last time (someone changed the host).
type Result struct {
	Node    string   `json:"node"`
	Changes []Change `json:"changes"`
	Drift   bool     `json:"drift"`
	// NeedContent lists the files a write must change but whose content
	// the request withheld (see File.SHA256); nothing at all was changed,
	// and the sender sends again with their content.
	NeedContent []string `json:"needContent,omitempty"`
	// HeldChunks are the chunk ids of the files in NeedContent as the
	// host holds them now, so the sender sends only the chunks it lacks.
	HeldChunks map[string][]string `json:"heldChunks,omitempty"`
	// Warnings are things done that a person should know, like search
	// domains a pod's resolv.conf had to omit.
	Warnings []string `json:"warnings,omitempty"`
	// HostPathProblems are the hostPaths refused or not made (hostpath.go):
	// their pods' problem, not an error of the apply.
	HostPathProblems []HostPathProblem `json:"hostPathProblems,omitempty"`
}
