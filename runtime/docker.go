package runtime

import (
	"context"
	"io"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Labels on every Docker object reconcile creates. The live state is read
// back from them; there is no local state file, and objects without
// LabelManagedBy are never changed.
const (
	LabelManagedBy    = "reconcile.dev/managed-by"
	LabelCluster      = "reconcile.dev/cluster"
	LabelNamespace    = "reconcile.dev/namespace"
	LabelDeployment   = "reconcile.dev/deployment"
	LabelTemplateHash = "reconcile.dev/pod-template-hash"
	LabelPod          = "reconcile.dev/pod"
	LabelPodIP        = "reconcile.dev/pod-ip"
	LabelPodLabels    = "reconcile.dev/pod-labels"      // JSON of the template's labels
	LabelAnnotations  = "reconcile.dev/pod-annotations" // JSON of the template's annotations
	LabelContainer    = "reconcile.dev/container"       // the manifest's container name
	LabelImage        = "reconcile.dev/image"           // the manifest's image, as written
	// LabelSource names the source (repository and path) that manages the
	// pod, so that two sources applying to one cluster prune only their own.
	LabelSource = "reconcile.dev/source"
	// LabelInfra marks a container of reconcile's own node infrastructure
	// (not a pod: a per-host service such as a cluster DNS server), with
	// its role as value. Tearing a host down removes every such container
	// of the cluster before the pod network (RemoveNetwork).
	LabelInfra = "reconcile.dev/infra"
	// LabelInfraCluster is an infrastructure container's cluster. It is
	// not LabelCluster, so pod listings, events and prune never see such
	// containers.
	LabelInfraCluster = "reconcile.dev/infra-cluster"

	// LabelSpecHash is the pod template's hash without the ConfigMap and
	// Secret data it takes at start; LabelConfigHashes is that data's
	// digests ("Kind/name=hash,..."), so a plan says which one rolled it.
	LabelSpecHash     = "reconcile.dev/spec-hash"
	LabelConfigHashes = "reconcile.dev/config-hashes"
	// LabelImmutable records the immutable ConfigMaps and Secrets the pod
	// uses, each with a digest of its data: what the hosts hold, against
	// which a later run refuses a change (resources.ImmutableRecord).
	LabelImmutable = "reconcile.dev/immutable"

	// ManagedBy is the value of LabelManagedBy.
	ManagedBy = "reconcile"
)

const (
	PodNetwork = "reconcile-pods" // the Docker network every pod on a host joins
	PodBridge  = "rcn0"           // its Linux bridge device
)

// DockerAPI is the part of the Docker client Pods uses; *client.Client
// satisfies it. It exists so unit tests can run without a daemon.
type DockerAPI interface {
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerInspect(ctx context.Context, containerID string) (container.InspectResponse, error)
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, containerID string, options container.StartOptions) error
	ContainerStop(ctx context.Context, containerID string, options container.StopOptions) error
	ContainerUpdate(ctx context.Context, containerID string, updateConfig container.UpdateConfig) (container.UpdateResponse, error)
	ContainerRemove(ctx context.Context, containerID string, options container.RemoveOptions) error
	ContainerLogs(ctx context.Context, containerID string, options container.LogsOptions) (io.ReadCloser, error)
	ContainerWait(ctx context.Context, containerID string, condition container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ImageImport(ctx context.Context, source image.ImportSource, ref string, options image.ImportOptions) (io.ReadCloser, error)
	ImageInspect(ctx context.Context, imageID string, inspectOpts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImagePull(ctx context.Context, refStr string, options image.PullOptions) (io.ReadCloser, error)
	NetworkInspect(ctx context.Context, networkID string, options network.InspectOptions) (network.Inspect, error)
	NetworkCreate(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error)
	NetworkRemove(ctx context.Context, networkID string) error
}

var (
	_ DockerAPI    = (*client.Client)(nil)
	_ VolumeLister = (*client.Client)(nil)
)

// Pods manages the pods and the pod network of one Docker host.
// It is safe for concurrent use; make one per host so that parallel creates
// share the lock that keeps them from choosing the same pod IP.
type Pods struct {
	node string // host name, for Pod.Node and error messages
	api  DockerAPI

	ipMu  sync.Mutex // held from choosing a pod IP until the container holding it exists
	pulls pullMemo   // one pull per image at a time, its result shared (pullmemo.go)
}

// NewPods returns the pod manager for the host called name.
func NewPods(name string, api DockerAPI) *Pods {
	return &Pods{node: name, api: api}
}

// Node is the host name given to NewPods.
func (p *Pods) Node() string { return p.node }
