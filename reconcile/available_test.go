package reconcile

import (
	"testing"
	"time"

	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// minReadySeconds: a pod seen turning ready in this run is available only
// after that long; one ready at the first look counts its uptime.
func TestAvailableAfterMinReadySeconds(t *testing.T) {
	d := &resources.Deployment{}
	d.Spec.MinReadySeconds = 10
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	settled := runtime.Pod{ID: "old", Ready: true, UpFor: time.Hour}
	fresh := runtime.Pod{ID: "new", Ready: false}
	obs := &Observed{Pods: map[string][]runtime.Pod{"n": {settled, fresh}}}
	var tr readyTracker
	tr.note(obs, t0)
	if !available(settled, d, obs) || available(fresh, d, obs) {
		t.Fatalf("first look: settled %v fresh %v; want true false", available(settled, d, obs), available(fresh, d, obs))
	}
	fresh.Ready = true
	obs.Pods["n"] = []runtime.Pod{settled, fresh}
	tr.note(obs, t0.Add(time.Second))
	tr.note(obs, t0.Add(10*time.Second))
	if available(fresh, d, obs) {
		t.Errorf("ready for 9s counted available")
	}
	tr.note(obs, t0.Add(11*time.Second))
	if !available(fresh, d, obs) {
		t.Errorf("ready for 10s not available")
	}
	d.Spec.MinReadySeconds = 0
	if !available(fresh, d, &Observed{}) {
		t.Errorf("minReadySeconds 0: a ready pod is available")
	}
}
