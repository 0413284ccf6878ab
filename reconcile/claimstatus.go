package reconcile

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// Claim phases as `get pvc` shows them: Kubernetes' Bound and Pending, and
// Released for a volume whose claim the manifests no longer declare (a
// PersistentVolume's phase once its claim is gone: the data is kept).
const (
	ClaimBound    = "Bound"
	ClaimPending  = "Pending"
	ClaimReleased = "Released"
)

// ClaimView is one row of `get pvc`: a declared claim with where its
// volume is, or a kept volume of a claim no longer declared.
type ClaimView struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Phase     string `json:"phase"`
	Volume    string `json:"volume,omitempty"`
	// Request is the claim's requested storage; Capacity is the same once
	// bound (kubectl's column): a local volume is not limited to it, the
	// node's disk is.
	Request      string   `json:"request,omitempty"`
	Capacity     string   `json:"capacity,omitempty"`
	AccessModes  []string `json:"accessModes,omitempty"`
	StorageClass string   `json:"storageClass,omitempty"`
	VolumeMode   string   `json:"volumeMode,omitempty"`
	Node         string   `json:"node,omitempty"` // nodes, comma-separated, if more than one holds it
	// Used is the bytes the volume's files take, when measured; Partial:
	// the measure stopped at its bound (a lower bound).
	Used    *int64            `json:"used,omitempty"`
	Partial bool              `json:"usedPartial,omitempty"`
	Created time.Time         `json:"created,omitzero"` // the volume's
	Labels  map[string]string `json:"labels,omitempty"`
}

// StatusOptions say what ReadStatusWith reads beyond the pods.
type StatusOptions struct {
	// ClaimUsage has each host's agent measure its claim volumes (get
	// pvc): one more round trip per host, bounded in time.
	ClaimUsage bool
}

// withClaimUsage replaces obs's claim listings by the agents', which
// carry the bytes used. A host whose agent fails keeps its listing.
func withClaimUsage(ctx context.Context, hosts map[string]Host, obs *Observed) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for n := range obs.Claims {
		h, ok := hosts[n]
		if !ok || len(obs.Claims[n]) == 0 {
			continue
		}
		wg.Go(func() {
			cs, err := h.ListClaims(ctx, true)
			if err != nil {
				return
			}
			for i := range cs {
				cs[i].Node = n
			}
			mu.Lock()
			obs.Claims[n] = cs
			mu.Unlock()
		})
	}
	wg.Wait()
}

// claimViews are the declared claims, then the kept volumes of claims no
// longer declared, sorted by namespace and name.
func claimViews(d *Desired, obs *Observed) []ClaimView {
	held := map[string][]runtime.Claim{}
	for _, n := range slices.Sorted(maps.Keys(obs.Claims)) {
		for _, c := range obs.Claims[n] {
			c.Node = n
			held[c.String()] = append(held[c.String()], c)
		}
	}
	var out []ClaimView
	for _, c := range d.PersistentVolumeClaims {
		v := ClaimView{Namespace: c.Namespace, Name: c.Name, Phase: ClaimPending, AccessModes: c.Spec.AccessModes,
			VolumeMode: "Filesystem", Labels: c.Labels, Request: c.Spec.Resources.Requests["storage"].Raw}
		if c.Spec.StorageClassName != nil {
			v.StorageClass = *c.Spec.StorageClassName
		}
		if c.Spec.VolumeMode != nil {
			v.VolumeMode = *c.Spec.VolumeMode
		}
		if hs := held[key(c.Namespace, c.Name)]; len(hs) > 0 {
			v.Phase, v.Capacity = ClaimBound, v.Request
			fillHeld(&v, hs)
		}
		delete(held, key(c.Namespace, c.Name))
		out = append(out, v)
	}
	for _, hs := range held {
		v := ClaimView{Namespace: hs[0].Namespace, Name: hs[0].Name, Phase: ClaimReleased, VolumeMode: "Filesystem"}
		fillHeld(&v, hs)
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b ClaimView) int {
		return strings.Compare(key(a.Namespace, a.Name), key(b.Namespace, b.Name))
	})
	return out
}

func fillHeld(v *ClaimView, hs []runtime.Claim) {
	var nodes []string
	for _, h := range hs {
		nodes = append(nodes, h.Node)
	}
	v.Node, v.Volume, v.Created = strings.Join(nodes, ","), hs[0].Volume, hs[0].Created
	v.Used, v.Partial = hs[0].Used, hs[0].UsedPartial
}

// claimAccessModes are kubectl's abbreviations, in its column order.
var claimAccessModes = map[string]string{
	resources.ReadWriteOnce: "RWO", resources.ReadOnlyMany: "ROX", resources.ReadWriteMany: "RWX", resources.ReadWriteOncePod: "RWOP",
}

// AccessModesColumn is kubectl's ACCESS MODES: RWO,ROX.
func (v ClaimView) AccessModesColumn() string {
	var out []string
	for _, m := range v.AccessModes {
		out = append(out, claimAccessModes[m])
	}
	return strings.Join(out, ",")
}
