package reconcile

import (
	"time"

	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// A pod is available, as the Deployment controller counts it, once it has
// been ready for the Deployment's minReadySeconds; rollouts wait on
// available pods, and maxUnavailable counts them.
//
// When it became ready is not something Docker records, so it comes from
// the observations: a run that sees a pod turn ready notes the time
// (readyTracker); a pod already ready at the run's first look is taken to
// have been ready since its container started (Pod.UpFor), which is what
// lets a settled Deployment stay complete without waiting again.

// readyTracker notes, across one run's observations, when each pod was
// first seen ready.
type readyTracker struct {
	since map[string]time.Time // pod ID
	seen  bool                 // a first observation was noted
}

// note records obs's ready pods and hands the times to obs.
func (t *readyTracker) note(obs *Observed, now time.Time) {
	if t.since == nil {
		t.since = map[string]time.Time{}
	}
	for _, ps := range obs.Pods {
		for _, p := range ps {
			if !p.Ready {
				delete(t.since, p.ID)
				continue
			}
			if _, ok := t.since[p.ID]; ok {
				continue
			}
			if t.seen {
				t.since[p.ID] = now
			} else {
				t.since[p.ID] = now.Add(-p.UpFor)
			}
		}
	}
	t.seen = true
	obs.Now, obs.ReadySince = now, t.since
}

// available says whether p counts as available for d.
func available(p runtime.Pod, d *resources.Deployment, obs *Observed) bool {
	if !p.Ready {
		return false
	}
	minReady := time.Duration(d.Spec.MinReadySeconds) * time.Second
	if minReady <= 0 {
		return true
	}
	now := obs.Now
	if now.IsZero() {
		now = time.Now()
	}
	since, ok := obs.ReadySince[p.ID]
	if !ok {
		since = now.Add(-p.UpFor)
	}
	return now.Sub(since) >= minReady
}

func countAvailable(ps []runtime.Pod, d *resources.Deployment, obs *Observed) int {
	n := 0
	for _, p := range ps {
		if available(p, d, obs) {
			n++
		}
	}
	return n
}
