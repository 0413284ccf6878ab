package reconcile

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/reconcile-dev/reconcile/resources"
)

// ReasonPending is the STATUS `get pods` shows for a pod no node can take,
// as kubectl shows an unschedulable pod.
const ReasonPending = "Pending"

// UnschedulablePrefix starts a rollout failure whose pods fit no node.
const UnschedulablePrefix = "Unschedulable"

// noteUnschedulable keeps, from one Step, the Deployments with pods that
// fit no node.
func (r *runner) noteUnschedulable(statuses []DeploymentStatus) {
	var out []DeploymentStatus
	for _, st := range statuses {
		if st.Unschedulable > 0 {
			out = append(out, st)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unschedulable = out
	if r.unschedSince == nil {
		r.unschedSince = map[string]time.Time{}
	}
	for _, st := range out {
		if k := key(st.Namespace, st.Name); r.unschedSince[k].IsZero() {
			r.unschedSince[k] = r.o.Now().UTC().Truncate(time.Second)
		}
	}
}

// haltUnschedulable ends a rollout that can make no more progress because
// its remaining pods fit no node: nothing else of it is left to do (no old
// pods to replace, every placed pod ready), and waiting for the progress
// deadline would only delay the same answer. It reports whether it halted.
func (r *runner) haltUnschedulable(st DeploymentStatus) bool {
	if st.Unschedulable == 0 || st.Old > 0 || st.Ready < st.Updated {
		return false
	}
	r.halted[key(st.Namespace, st.Name)] = true
	r.res.Failures = append(r.res.Failures, RolloutFailure{Namespace: st.Namespace, Deployment: st.Name,
		Reason: fmt.Sprintf("%s: %d pod(s) Pending: %s", UnschedulablePrefix, st.Unschedulable, st.Reason)})
	r.event(Event{Object: "deployment/" + st.Name, Action: "halted", Detail: st.Reason})
	return true
}

// unschedulablePods are the pending records of pods that fit no node. Their
// names are stable across passes (so the pending file changes only when
// they do): NAME-HASH- and a suffix derived from the pod's index. The
// caller holds r.mu (pending does).
func (r *runner) unschedulablePods() []PendingPod {
	var out []PendingPod
	for _, st := range r.unschedulable {
		d := r.d.find(st.Namespace, st.Name)
		if d == nil {
			continue
		}
		hash := d.TemplateHash()
		for i := range st.Unschedulable {
			out = append(out, PendingPod{Namespace: st.Namespace, Deployment: st.Name, TemplateHash: hash,
				Pod: pendingName(st.Name, hash, i), Reason: ReasonPending, Message: st.Reason,
				Since: r.unschedSince[key(st.Namespace, st.Name)]})
		}
	}
	return out
}

func pendingName(deployment, hash string, i int) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%s/%d", deployment, hash, i)
	const alphabet = "bcdfghjklmnpqrstvwxz2456789" // kube's, as runtime.PodName uses
	sum := h.Sum32()
	b := make([]byte, 5)
	for j := range b {
		b[j] = alphabet[sum%uint32(len(alphabet))]
		sum /= uint32(len(alphabet))
	}
	return deployment + "-" + hash + "-" + string(b)
}

// find is the declared Deployment ns/name, or nil.
func (d *Desired) find(ns, name string) *resources.Deployment {
	for _, x := range d.Deployments {
		if x.Namespace == ns && x.Name == name {
			return x
		}
	}
	return nil
}
