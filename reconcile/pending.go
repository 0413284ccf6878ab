package reconcile

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/runtime"
)

// PendingFile records, on every host, the pods the last run could not
// create (dockerd refused them: ErrImagePull and the like). Such a pod has
// no container, so without this record `get pods` could not show it, as
// kubectl shows a pod stuck in ImagePullBackOff.
const PendingFile = "/var/lib/reconcile/state/pending.json"

// PendingPod is one pod that could not be created.
type PendingPod struct {
	Namespace    string    `json:"namespace"`
	Deployment   string    `json:"deployment"`
	TemplateHash string    `json:"templateHash"`
	Pod          string    `json:"pod"`
	Node         string    `json:"node"`
	Reason       string    `json:"reason"` // ErrImagePull, ImagePullBackOff, CreateContainerError, ...
	Message      string    `json:"message"`
	Since        time.Time `json:"since"`
}

func pendingJSON(ps []PendingPod) []byte {
	if ps == nil {
		ps = []PendingPod{}
	}
	b, err := json.MarshalIndent(ps, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("marshal pending pods: %v", err))
	}
	return append(b, '\n')
}

// pending lists the Deployments whose last create was refused, as kubelet
// would report them: ErrImagePull on the first failure, ImagePullBackOff
// once retried.
func (r *runner) pending() []PendingPod {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []PendingPod
	for _, d := range r.d.Deployments {
		rc := r.refused[key(d.Namespace, d.Name)]
		if rc == nil {
			continue
		}
		reason := rc.last.Reason
		if reason == runtime.ReasonErrImagePull && rc.attempts > 1 {
			reason = runtime.ReasonImagePullBackOff
		}
		out = append(out, PendingPod{Namespace: d.Namespace, Deployment: d.Name, TemplateHash: d.TemplateHash(),
			Pod: rc.last.Pod, Node: rc.node, Reason: reason, Message: rc.last.Err.Error(), Since: rc.since})
	}
	out = append(out, r.unschedulablePods()...)
	return out
}

// withPending returns cfg with the pending file holding ps.
func withPending(cfg rnet.NodeConfig, ps []PendingPod) rnet.NodeConfig {
	files := make([]rnet.File, len(cfg.Files))
	copy(files, cfg.Files)
	for i := range files {
		if files[i].Path == PendingFile {
			// A new content needs its own digest (see stateFiles).
			files[i] = rnet.File{Path: PendingFile, Content: pendingJSON(ps), Mode: files[i].Mode}.WithDigest()
		}
	}
	cfg.Files = files
	return cfg
}

// pendingPods are the recorded pods that could not be created, as pods
// with a Reason and no container, for `get pods`; only those of declared
// Deployments at their current template count.
func pendingPods(d *Desired, obs *Observed) []runtime.Pod {
	var recorded []PendingPod
	for _, n := range obs.Reachable() {
		if b := obs.Files[n][PendingFile]; len(b) > 0 {
			if json.Unmarshal(b, &recorded) == nil {
				break
			}
		}
	}
	var out []runtime.Pod
	for _, pp := range recorded {
		for _, dep := range d.Deployments {
			if dep.Namespace != pp.Namespace || dep.Name != pp.Deployment || dep.TemplateHash() != pp.TemplateHash {
				continue
			}
			c := dep.Spec.Template.Spec.Containers[0]
			out = append(out, runtime.Pod{Name: pp.Pod, Namespace: pp.Namespace, Deployment: pp.Deployment,
				TemplateHash: pp.TemplateHash, Node: pp.Node, Image: c.Image, Labels: dep.Spec.Template.Labels,
				State: "created", Reason: pp.Reason, Created: pp.Since})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
