package resources

// Deployment is an apps/v1 Deployment.
type Deployment struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       DeploymentSpec `json:"spec"`
	Source     Source         `json:"-"`

	// consumed is the ConfigMap and Secret data the pods fix at start,
	// part of TemplateHash (consume.go).
	consumed []Consumed
	// DaemonSet is set when this is a DaemonSet's workload (see
	// DaemonSet.Workload): its pods go one per matching host.
	DaemonSet *DaemonSet `json:"-"`
	// Claims are the PersistentVolumeClaims the pod template mounts, in
	// volume order, resolved by Load (checkClaimRefs): they pin its pods
	// to the node holding their volume.
	Claims []*PersistentVolumeClaim `json:"-"`
}

// Recreates says whether the Deployment rolls with Recreate semantics:
// its strategy says so, or it mounts a ReadWriteOnce(Pod) claim, whose
// one node cannot run the old and the new pod on the volume at once.
func (d *Deployment) Recreates() bool {
	if d.Spec.Strategy.Type == RecreateStrategy {
		return true
	}
	for _, c := range d.Claims {
		if c.readWriteOnce() {
			return true
		}
	}
	return false
}

type DeploymentSpec struct {
	Replicas                *int32             `json:"replicas,omitempty"` // defaulted to 1
	Selector                *LabelSelector     `json:"selector"`
	Strategy                DeploymentStrategy `json:"strategy,omitzero"`
	Template                PodTemplateSpec    `json:"template"`
	MinReadySeconds         int32              `json:"minReadySeconds,omitempty"`
	ProgressDeadlineSeconds *int32             `json:"progressDeadlineSeconds,omitempty"` // defaulted to 600
	RevisionHistoryLimit    *int32             `json:"revisionHistoryLimit,omitempty"`    // accepted, unused
}

type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

type LabelSelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"` // In, NotIn, Exists, DoesNotExist
	Values   []string `json:"values,omitempty"`
}

const (
	RecreateStrategy      = "Recreate"
	RollingUpdateStrategy = "RollingUpdate"
)

type DeploymentStrategy struct {
	Type          string                       `json:"type,omitempty"` // defaulted to RollingUpdate
	RollingUpdate *RollingUpdateStrategyParams `json:"rollingUpdate,omitempty"`
}

type RollingUpdateStrategyParams struct {
	MaxUnavailable *IntOrString `json:"maxUnavailable,omitempty"` // defaulted to 25%
	MaxSurge       *IntOrString `json:"maxSurge,omitempty"`       // defaulted to 25%
}

type PodTemplateSpec struct {
	ObjectMeta `json:"metadata,omitzero"`
	Spec       PodSpec `json:"spec"`
}

type PodSpec struct {
	Containers                    []Container         `json:"containers"`
	InitContainers                []Container         `json:"initContainers,omitempty"`                // run in order to completion before containers; restartPolicy Always: a sidecar
	RestartPolicy                 string              `json:"restartPolicy,omitempty"`                 // only Always (the default) for Deployments
	TerminationGracePeriodSeconds *int64              `json:"terminationGracePeriodSeconds,omitempty"` // defaulted to 30
	DNSPolicy                     string              `json:"dnsPolicy,omitempty"`                     // ClusterFirst (default), ClusterFirstWithHostNet (the same here), Default, None
	DNSConfig                     *PodDNSConfig       `json:"dnsConfig,omitempty"`
	Placement                     `json:",inline"`    // nodeSelector, affinity, topologySpreadConstraints
	SecurityContext               *PodSecurityContext `json:"securityContext,omitempty"`
	PodTolerated                  `json:",inline"`    // accepted with a warning: serviceAccountName, priorityClassName, tolerations
	Volumes                       []Volume            `json:"volumes,omitempty"`
	// ImagePullSecrets name kubernetes.io/dockerconfigjson Secrets the
	// pulls of the pod's images authenticate with (pullsecrets.go).
	ImagePullSecrets []LocalObjectReference `json:"imagePullSecrets,omitempty"`
}

type Container struct {
	Name            string               `json:"name"`
	Image           string               `json:"image"`
	Command         []string             `json:"command,omitempty"`
	Args            []string             `json:"args,omitempty"`
	WorkingDir      string               `json:"workingDir,omitempty"`
	Env             []EnvVar             `json:"env,omitempty"`
	EnvFrom         []EnvFromSource      `json:"envFrom,omitempty"`
	Ports           []ContainerPort      `json:"ports,omitempty"`
	Resources       ResourceRequirements `json:"resources,omitzero"`
	ReadinessProbe  *Probe               `json:"readinessProbe,omitempty"`
	LivenessProbe   *Probe               `json:"livenessProbe,omitempty"`
	StartupProbe    *Probe               `json:"startupProbe,omitempty"`
	ImagePullPolicy string               `json:"imagePullPolicy,omitempty"` // Always, IfNotPresent, Never; defaulted like Kubernetes (Always for :latest or no tag)
	RestartPolicy   string               `json:"restartPolicy,omitempty"`   // initContainers only: Always makes a sidecar
	VolumeMounts    []VolumeMount        `json:"volumeMounts,omitempty"`
	SecurityContext *SecurityContext     `json:"securityContext,omitempty"`
}

type EnvVar struct {
	Name      string        `json:"name"`
	Value     string        `json:"value,omitempty"`
	ValueFrom *EnvVarSource `json:"valueFrom,omitempty"`
}

type ContainerPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"` // TCP (default) or UDP
}

// ResourceRequirements holds quantities as parsed numbers: CPU in millicores,
// memory in bytes. The manifest form ("500m", "128Mi") is kept in the Raw maps
// so render prints what the user wrote.
type ResourceRequirements struct {
	Limits   ResourceList `json:"limits,omitempty"`
	Requests ResourceList `json:"requests,omitempty"`
}

// ResourceList maps "cpu" and "memory" to Quantities.
type ResourceList map[string]Quantity

type Probe struct {
	ProbeHandler        `json:",inline"`
	InitialDelaySeconds int32 `json:"initialDelaySeconds,omitempty"`
	TimeoutSeconds      int32 `json:"timeoutSeconds,omitempty"`   // defaulted to 1
	PeriodSeconds       int32 `json:"periodSeconds,omitempty"`    // defaulted to 10
	SuccessThreshold    int32 `json:"successThreshold,omitempty"` // defaulted to 1
	FailureThreshold    int32 `json:"failureThreshold,omitempty"` // defaulted to 3
}

// ProbeHandler: exactly one of the three is set.
type ProbeHandler struct {
	Exec      *ExecAction      `json:"exec,omitempty"`
	HTTPGet   *HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket *TCPSocketAction `json:"tcpSocket,omitempty"`
}

type ExecAction struct {
	Command []string `json:"command,omitempty"`
}

type HTTPGetAction struct {
	Path        string       `json:"path,omitempty"` // defaulted to "/"
	Port        IntOrString  `json:"port"`           // number or a container port's name
	Host        string       `json:"host,omitempty"`
	Scheme      string       `json:"scheme,omitempty"` // HTTP (default) or HTTPS
	HTTPHeaders []HTTPHeader `json:"httpHeaders,omitempty"`
}

type HTTPHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type TCPSocketAction struct {
	Port IntOrString `json:"port"`
	Host string      `json:"host,omitempty"`
}
