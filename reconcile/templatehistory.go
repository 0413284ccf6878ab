package reconcile

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/reconcile-dev/reconcile/resources"
)

// TemplateHistoryFile records on every host the pod templates each
// Deployment rolled out, newest last, as Kubernetes keeps old ReplicaSets:
// up to revisionHistoryLimit besides the current one. `rollout history`
// lists them and `apply --rollback-on-failure` restores the previous one.
const TemplateHistoryFile = "/var/lib/reconcile/state/templates.json"

// maxHistoryFileSize bounds what a host's history file may make a run read
// and keep in memory.
const maxHistoryFileSize = 8 << 20

// TemplateRevision is one recorded template of a Deployment.
type TemplateRevision struct {
	Revision int    `json:"revision"` // 1, 2, ... per Deployment, as kubectl numbers them
	Hash     string `json:"hash"`     // the pod-template-hash of its pods
	// Source and Commit say what declared it: the source identity and the
	// desired state's revision (the git commit, or tree-<hash> for -f).
	Source      string                    `json:"source,omitempty"`
	Commit      string                    `json:"commit,omitempty"`
	ChangeCause string                    `json:"changeCause,omitempty"` // the kubernetes.io/change-cause annotation
	Template    resources.PodTemplateSpec `json:"template"`
}

// TemplateHistory is the history file: each Deployment's revisions by
// namespace/name, oldest first.
type TemplateHistory struct {
	Deployments map[string][]TemplateRevision `json:"deployments"`
}

// changeCauseAnnotation is kubectl's record of why a revision was made.
const changeCauseAnnotation = "kubernetes.io/change-cause"

// mergeHistories picks, of what the hosts recorded, the most advanced
// history (the highest revisions): hosts disagree only when one was
// unreachable while another run recorded a revision. Unreadable files are
// skipped; a history of none is empty.
func mergeHistories(files [][]byte) TemplateHistory {
	best, bestScore := TemplateHistory{Deployments: map[string][]TemplateRevision{}}, -1
	for _, f := range files {
		if len(f) == 0 || len(f) > maxHistoryFileSize {
			continue
		}
		var h TemplateHistory
		if err := json.Unmarshal(f, &h); err != nil || h.Deployments == nil {
			continue
		}
		score := 0
		for _, revs := range h.Deployments {
			for _, r := range revs {
				score += r.Revision
			}
		}
		if score > bestScore {
			best, bestScore = h, score
		}
	}
	return best
}

// withDesired is h with d's Deployments' current templates recorded: a
// template seen before moves to the newest revision (kubectl reuses its
// ReplicaSet), a new one is appended; each keeps its newest
// revisionHistoryLimit old revisions. The Deployments d's source no longer
// declares lose their history; other sources' are kept as they are.
func (h TemplateHistory) withDesired(d *Desired) TemplateHistory {
	out := TemplateHistory{Deployments: map[string][]TemplateRevision{}}
	declared := map[string]bool{}
	for _, dep := range historyDeployments(d) {
		declared[key(dep.Namespace, dep.Name)] = true
	}
	for k, revs := range h.Deployments {
		if len(revs) > 0 && revs[len(revs)-1].Source == d.Source && !declared[k] {
			continue
		}
		out.Deployments[k] = revs
	}
	for _, dep := range historyDeployments(d) {
		k := key(dep.Namespace, dep.Name)
		out.Deployments[k] = recordRevision(out.Deployments[k], dep, d.Source, revision(d))
	}
	return out
}

// historyDeployments are the workloads that keep a history: Deployments,
// not DaemonSets' workloads.
func historyDeployments(d *Desired) []*resources.Deployment {
	var deps []*resources.Deployment
	for _, dep := range d.Deployments {
		if dep.DaemonSet == nil {
			deps = append(deps, dep)
		}
	}
	return deps
}

func recordRevision(revs []TemplateRevision, dep *resources.Deployment, source, commit string) []TemplateRevision {
	hash := dep.TemplateHash()
	if n := len(revs); n > 0 && revs[n-1].Hash == hash {
		return revs // already the newest: nothing to record
	}
	next := 1
	var kept []TemplateRevision
	for _, r := range revs {
		next = max(next, r.Revision+1)
		if r.Hash != hash {
			kept = append(kept, r)
		}
	}
	cur := TemplateRevision{Revision: next, Hash: hash, Source: source, Commit: commit,
		ChangeCause: dep.Annotations[changeCauseAnnotation], Template: dep.Spec.Template}
	limit := 10 // resources defaults revisionHistoryLimit; this is only for a Deployment built by hand
	if l := dep.Spec.RevisionHistoryLimit; l != nil {
		limit = int(*l)
	}
	if len(kept) > limit {
		kept = kept[len(kept)-limit:]
	}
	return append(kept, cur)
}

// Revisions are the recorded revisions of Deployment namespace/name,
// oldest first.
func (h TemplateHistory) Revisions(namespace, name string) []TemplateRevision {
	revs := append([]TemplateRevision(nil), h.Deployments[key(namespace, name)]...)
	sort.Slice(revs, func(i, j int) bool { return revs[i].Revision < revs[j].Revision })
	return revs
}

// previous is the revision before the one with template hash cur: what a
// failed rollout to cur goes back to.
func (h TemplateHistory) previous(namespace, name, cur string) (TemplateRevision, bool) {
	revs := h.Revisions(namespace, name)
	for i := len(revs) - 1; i >= 0; i-- {
		if revs[i].Hash != cur {
			return revs[i], true
		}
	}
	return TemplateRevision{}, false
}

// recordHistory sets the history every node config of d carries: what
// the hosts in obs recorded (obs must have read TemplateHistoryFile) with
// d's templates added. Every path that builds node configs (apply, diff,
// sync, the daemon) reads it first, so they all send the same file and a
// host's recorded config stays comparable.
func (d *Desired) recordHistory(obs *Observed) {
	h := recordedHistory(obs).withDesired(d)
	d.history = &h
}

// historyFile is h as the file every host holds.
func historyFile(h TemplateHistory) []byte {
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("marshal template history: %v", err))
	}
	return append(b, '\n')
}

// recordedHistory is the history the hosts in obs recorded (obs must have
// read TemplateHistoryFile).
func recordedHistory(obs *Observed) TemplateHistory {
	var files [][]byte
	for _, n := range obs.Reachable() {
		files = append(files, obs.Files[n][TemplateHistoryFile])
	}
	return mergeHistories(files)
}
