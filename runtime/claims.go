package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
)

// A PersistentVolumeClaim's data is a named Docker volume on the node where
// its first pod landed. The volume's labels are the binding: which claim it
// holds, of which cluster; there is no other record, so every runner reads
// the same binding from the hosts. Only a volume carrying all three labels
// is ever mounted as a claim or removed; any other volume, whatever its
// name, is left alone.

// LabelClaim is a claim volume's namespace/name.
const LabelClaim = "reconcile.dev/claim"

// ClaimRef names a claim.
type ClaimRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (r ClaimRef) String() string { return r.Namespace + "/" + r.Name }

// Check refuses a claim that is not a namespace (a DNS label) and a name
// (a DNS subdomain), as the manifest checks made them: the host checks
// again what it is told before it names a volume after it.
func (r ClaimRef) Check() error {
	ok := func(s string, max int, dots bool) bool {
		if s == "" || len(s) > max || s[0] == '-' || s[0] == '.' || s[len(s)-1] == '-' || s[len(s)-1] == '.' {
			return false
		}
		for _, c := range s {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || dots && c == '.') {
				return false
			}
		}
		return true
	}
	if !ok(r.Namespace, 63, false) || !ok(r.Name, 253, true) {
		return fmt.Errorf("claim %q: not a namespace/name", r.String())
	}
	return nil
}

// ClaimVolume is the Docker volume name of a claim. Namespaces have no
// dots, so "." keeps namespace and name apart.
func ClaimVolume(cluster string, r ClaimRef) string {
	return "reconcile-" + cluster + "-pvc-" + r.Namespace + "." + r.Name
}

// Claim is a claim's volume as a host holds it.
type Claim struct {
	ClaimRef
	Volume  string    `json:"volume"`
	Source  string    `json:"source,omitempty"` // LabelSource: the source that made it; may be empty
	Node    string    `json:"node,omitempty"`
	Created time.Time `json:"created,omitzero"`
	// Used is the bytes its files take, when measured (ClaimUsage);
	// UsedPartial says the measure stopped at its bound, so Used is a
	// lower bound.
	Used        *int64 `json:"used,omitempty"`
	UsedPartial bool   `json:"usedPartial,omitempty"`

	mountpoint string
}

// ClaimAPI is the part of the Docker client that manages claim volumes;
// *client.Client satisfies it.
type ClaimAPI interface {
	VolumeList(ctx context.Context, options volume.ListOptions) (volume.ListResponse, error)
	VolumeInspect(ctx context.Context, volumeID string) (volume.Volume, error)
	VolumeCreate(ctx context.Context, options volume.CreateOptions) (volume.Volume, error)
	VolumeRemove(ctx context.Context, volumeID string, force bool) error
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
}

func (p *Pods) claimAPI() (ClaimAPI, error) {
	a, ok := p.api.(ClaimAPI)
	if !ok {
		return nil, fmt.Errorf("%s: this Docker client cannot manage volumes", p.node)
	}
	return a, nil
}

func claimLabels(cluster string, r ClaimRef) map[string]string {
	return map[string]string{LabelManagedBy: ManagedBy, LabelCluster: cluster, LabelClaim: r.String()}
}

// isClaimVolume says whether v is the volume of claim r of cluster: its
// name and every label match.
func isClaimVolume(v volume.Volume, cluster string, r ClaimRef) bool {
	if v.Name != ClaimVolume(cluster, r) {
		return false
	}
	for k, want := range claimLabels(cluster, r) {
		if v.Labels[k] != want {
			return false
		}
	}
	return true
}

// claimState is what a host holds under a claim's volume name.
type claimState int

const (
	claimAbsent  claimState = iota
	claimOurs               // the claim's volume: its name and every label
	claimForeign            // a volume of that name that is not the claim's, never touched
)

// inspectClaim looks up the volume of claim r on this host. err is only a
// failure to ask dockerd; each caller says what absent and foreign mean
// for it.
func inspectClaim(ctx context.Context, api ClaimAPI, cluster string, r ClaimRef) (name string, st claimState, err error) {
	name = ClaimVolume(cluster, r)
	v, err := api.VolumeInspect(ctx, name)
	switch {
	case cerrdefs.IsNotFound(err):
		return name, claimAbsent, nil
	case err != nil:
		return name, claimAbsent, err
	case isClaimVolume(v, cluster, r):
		return name, claimOurs, nil
	}
	return name, claimForeign, nil
}

// ListClaims returns the claim volumes of a cluster on this host, with one
// API call. A volume whose labels do not match its name is not one.
func (p *Pods) ListClaims(ctx context.Context, cluster string) ([]Claim, error) {
	api, err := p.claimAPI()
	if err != nil {
		return nil, err
	}
	resp, err := api.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", LabelManagedBy+"="+ManagedBy),
		filters.Arg("label", LabelCluster+"="+cluster),
		filters.Arg("label", LabelClaim))})
	if err != nil {
		return nil, fmt.Errorf("%s: list claim volumes: %w", p.node, err)
	}
	var out []Claim
	for _, v := range resp.Volumes {
		if v == nil {
			continue
		}
		ns, name, ok := strings.Cut(v.Labels[LabelClaim], "/")
		r := ClaimRef{Namespace: ns, Name: name}
		if !ok || !isClaimVolume(*v, cluster, r) {
			continue
		}
		c := Claim{ClaimRef: r, Volume: v.Name, Source: v.Labels[LabelSource], Node: p.node, mountpoint: v.Mountpoint}
		c.Created, _ = time.Parse(time.RFC3339, v.CreatedAt)
		out = append(out, c)
	}
	return out, nil
}

// ErrNotClaimVolume refuses a volume that has a claim's name but not all
// of its labels: someone else's, never mounted or removed.
var ErrNotClaimVolume = errors.New("a volume of that name exists without reconcile's claim labels; it is not reconcile's and is left alone")

// EnsureClaim creates the volume of claim r unless the host has it, with
// source (may be empty) as its LabelSource; with dryRun it only says
// whether it would. A volume of that name without the claim's labels is
// refused.
func (p *Pods) EnsureClaim(ctx context.Context, cluster string, r ClaimRef, source string, dryRun bool) (created bool, err error) {
	if err := r.Check(); err != nil {
		return false, fmt.Errorf("%s: %w", p.node, err)
	}
	api, err := p.claimAPI()
	if err != nil {
		return false, err
	}
	name, st, err := inspectClaim(ctx, api, cluster, r)
	switch {
	case err != nil:
		return false, fmt.Errorf("%s: claim %s: inspect volume %s: %w", p.node, r, name, err)
	case st == claimOurs:
		return false, nil
	case st == claimForeign:
		return false, fmt.Errorf("%s: claim %s: volume %s: %w", p.node, r, name, ErrNotClaimVolume)
	case dryRun:
		return true, nil
	}
	labels := claimLabels(cluster, r)
	if source != "" {
		labels[LabelSource] = source
	}
	if _, err := api.VolumeCreate(ctx, volume.CreateOptions{Name: name, Driver: "local", Labels: labels}); err != nil {
		return false, fmt.Errorf("%s: claim %s: create volume %s: %w", p.node, r, name, err)
	}
	return true, nil
}

// ErrClaimInUse refuses to remove a claim volume a container mounts.
var ErrClaimInUse = errors.New("in use")

// RemoveClaim removes the volume of claim r, only when it is the claim's
// (name and labels) and no container, running or not, mounts it. A volume
// that is already gone is not an error; with dryRun nothing is removed.
func (p *Pods) RemoveClaim(ctx context.Context, cluster string, r ClaimRef, dryRun bool) (removed bool, err error) {
	if err := r.Check(); err != nil {
		return false, fmt.Errorf("%s: %w", p.node, err)
	}
	api, err := p.claimAPI()
	if err != nil {
		return false, err
	}
	name, st, err := inspectClaim(ctx, api, cluster, r)
	switch {
	case err != nil:
		return false, fmt.Errorf("%s: claim %s: inspect volume %s: %w", p.node, r, name, err)
	case st == claimAbsent:
		return false, nil
	case st == claimForeign:
		return false, fmt.Errorf("%s: claim %s: volume %s: %w", p.node, r, name, ErrNotClaimVolume)
	}
	users, err := api.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("volume", name))})
	if err != nil {
		return false, fmt.Errorf("%s: claim %s: list containers of volume %s: %w", p.node, r, name, err)
	}
	if len(users) > 0 {
		var names []string
		for _, c := range users {
			names = append(names, strings.TrimPrefix(firstName(c.Names), "/"))
		}
		return false, fmt.Errorf("%s: claim %s: volume %s: %w by %s", p.node, r, name, ErrClaimInUse, strings.Join(names, ", "))
	}
	if dryRun {
		return true, nil
	}
	// Not forced: dockerd refuses too if a container took it since.
	if err := api.VolumeRemove(ctx, name, false); err != nil && !cerrdefs.IsNotFound(err) {
		return false, fmt.Errorf("%s: claim %s: remove volume %s: %w", p.node, r, name, err)
	}
	return true, nil
}

func firstName(names []string) string {
	if len(names) == 0 {
		return "?"
	}
	return names[0]
}

// checkClaimVolumes refuses a pod whose claim volume is missing or not
// reconcile's: Docker would make a missing named volume without labels,
// a second copy of the data that no listing sees.
func (p *Pods) checkClaimVolumes(ctx context.Context, s PodSpec) error {
	for _, v := range s.Volumes {
		if v.Claim == nil {
			continue
		}
		api, err := p.claimAPI()
		if err != nil {
			return err
		}
		name, st, err := inspectClaim(ctx, api, s.Cluster, *v.Claim)
		switch {
		case err != nil:
			return fmt.Errorf("%s: create pod %s: inspect volume %s: %w", p.node, s.Name, name, err)
		case st == claimAbsent:
			return &PodError{Node: p.node, Pod: s.Name, Reason: ReasonCreateContainerConfig,
				Err: fmt.Errorf("%s: create pod %s: volume %q: claim %s has no volume %s on this node", p.node, s.Name, v.Name, v.Claim, name)}
		case st == claimForeign:
			return &PodError{Node: p.node, Pod: s.Name, Reason: ReasonCreateContainerConfig,
				Err: fmt.Errorf("%s: create pod %s: volume %q: volume %s: %w", p.node, s.Name, v.Name, name, ErrNotClaimVolume)}
		}
	}
	return nil
}

// Bounds of one usage measure: get pvc must answer even for a volume of
// millions of files.
const (
	usageTimeout = 2 * time.Second
	usageEntries = 1_000_000
)

// ClaimUsage measures the bytes the files of each claim take, walking its
// volume's directory without following symlinks, within usageTimeout for
// all of them and usageEntries each; a claim cut short has UsedPartial.
func ClaimUsage(ctx context.Context, claims []Claim) {
	deadline := time.Now().Add(usageTimeout)
	for i := range claims {
		c := &claims[i]
		if c.mountpoint == "" || time.Now().After(deadline) {
			continue // not measured: Used stays nil
		}
		var used int64
		entries, partial := 0, false
		errStop := errors.New("stop")
		_ = filepath.WalkDir(c.mountpoint, func(_ string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // unreadable: counted as nothing
			}
			entries++
			if entries > usageEntries || ctx.Err() != nil || (entries%1024 == 0 && time.Now().After(deadline)) {
				partial = true
				return errStop
			}
			if d.Type().IsRegular() {
				if info, err := d.Info(); err == nil {
					used += info.Size()
				}
			}
			return nil
		})
		c.Used, c.UsedPartial = &used, partial
	}
}
