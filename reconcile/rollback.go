package reconcile

import (
	"fmt"
	"slices"

	"github.com/reconcile-dev/reconcile/resources"
)

// Rollback says that a Deployment whose rollout failed was rolled back to
// the previous template the hosts recorded (apply --rollback-on-failure),
// as Swarm's failure_action: rollback and Nomad's auto_revert do.
type Rollback struct {
	Namespace  string `json:"namespace"`
	Deployment string `json:"deployment"`
	Revision   int    `json:"revision"` // the revision restored
	Hash       string `json:"hash"`     // its pod-template-hash
	Failed     string `json:"failed"`   // the template hash that failed
	Ready      bool   `json:"ready"`    // the restored pods all became ready
}

func (rb Rollback) String() string {
	if rb.Ready {
		return fmt.Sprintf("deployment %s/%s: rolled back to revision %d (pod-template-hash %s); its pods are ready", rb.Namespace, rb.Deployment, rb.Revision, rb.Hash)
	}
	return fmt.Sprintf("deployment %s/%s: rolling back to revision %d (pod-template-hash %s) did not finish either", rb.Namespace, rb.Deployment, rb.Revision, rb.Hash)
}

// rollBack turns the failed rollout of the i-th Deployment into a rollout
// of the previous template recorded on the hosts, when the run was asked
// to and there is one. The failure stays recorded: the run still ends
// with the rollout's code. It reports whether the rollout goes on (rolled
// back) or halts.
//
// The rollback is a rolling update like any other (Step, maxSurge and
// maxUnavailable), so the old pods that still run keep serving and a pod
// leaves every VIP before it is deleted.
func (r *runner) rollBack(i int) bool {
	d := r.d.Deployments[i]
	k := key(d.Namespace, d.Name)
	if !r.o.RollbackOnFailure || r.d.history == nil || d.DaemonSet != nil || r.rolledBack[k] {
		return false
	}
	failed := d.TemplateHash()
	prev, ok := r.d.history.previous(d.Namespace, d.Name, failed)
	if !ok {
		r.res.Failures = append(r.res.Failures, RolloutFailure{Namespace: d.Namespace, Deployment: d.Name,
			Reason: "not rolled back: the hosts record no previous revision of its template"})
		return false
	}
	back := *d
	back.Spec.Template = prev.Template
	back.Claims = r.d.ClaimsOf(&back)
	if back.TemplateHash() == failed {
		// The revisions differ only in the ConfigMap and Secret data the
		// pods consume (part of the hash): the hosts keep no old data
		// (Secrets among it), so there is nothing to go back to.
		r.res.Failures = append(r.res.Failures, RolloutFailure{Namespace: d.Namespace, Deployment: d.Name,
			Reason: fmt.Sprintf("not rolled back: revision %d has the same pod template; only ConfigMap or Secret data changed, and the hosts keep no old data", prev.Revision)})
		return false
	}
	r.d = r.d.withDeployment(i, &back)
	r.rolledBack[k] = true
	delete(r.progress, k)
	delete(r.refused, k)
	r.res.Rollbacks = append(r.res.Rollbacks, Rollback{Namespace: d.Namespace, Deployment: d.Name,
		Revision: prev.Revision, Hash: back.TemplateHash(), Failed: failed})
	r.event(Event{Object: "deployment.apps/" + d.Name, Action: "rollback",
		Detail: fmt.Sprintf("to revision %d, pod-template-hash %s", prev.Revision, back.TemplateHash())})
	return true
}

// rollbacksDone marks the rollbacks whose Deployments became available.
func (r *runner) rollbacksDone(statuses []DeploymentStatus) {
	for i := range r.res.Rollbacks {
		rb := &r.res.Rollbacks[i]
		for _, st := range statuses {
			if st.Namespace == rb.Namespace && st.Name == rb.Deployment && st.Complete {
				rb.Ready = true
			}
		}
	}
}

// withDeployment is d with its i-th Deployment replaced, for a run that
// rolls one back: the caller's Desired (which the daemon reuses pass after
// pass) is left as it was. The copy keeps d's revision, so the hosts still
// record the desired state the run was given.
func (d *Desired) withDeployment(i int, dep *resources.Deployment) *Desired {
	set := *d.Set
	set.Deployments = slices.Clone(d.Set.Deployments)
	set.Deployments[i] = dep
	nd := &Desired{Set: &set, Dir: d.Dir, Root: d.Root, Repo: d.Repo, Commit: d.Commit, Source: d.Source, history: d.history}
	rev := revision(d)
	nd.revOnce.Do(func() { nd.rev = rev })
	// The set already holds the cluster DNS Service (withClusterDNS ran).
	dnsErr := d.withClusterDNS()
	nd.dnsOnce.Do(func() { nd.dnsErr = dnsErr })
	return nd
}
