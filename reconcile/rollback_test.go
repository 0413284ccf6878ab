package reconcile

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fastClock is a Now that moves a second on every call, so a progress
// deadline of seconds passes in a few polls.
func fastClock() func() time.Time {
	var mu sync.Mutex
	t := time.Unix(1_700_000_000, 0)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

// A rollout that misses its progress deadline with RollbackOnFailure is
// rolled back to the previous template the hosts recorded: the run fails
// with the rollout error naming what failed and the rollback, and leaves
// only the old template's pods, all ready. Without it the rollout halts
// with the new template's pods left.
func TestApplyRollbackOnFailure(t *testing.T) {
	for _, rollback := range []bool{true, false} {
		t.Run(map[bool]string{true: "rollback", false: "halt"}[rollback], func(t *testing.T) {
			hosts, fs := fakeHosts()
			for _, f := range fs {
				f.neverReady["nginx:broken"] = true
			}
			spec := "  progressDeadlineSeconds: 5\n"
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			o := ApplyOptions{Prune: true, PollInterval: time.Millisecond, Now: fastClock(), RollbackOnFailure: rollback}
			good := loadDesired(t, deployment("web", "nginx:1", 3, spec))
			if _, err := Apply(ctx, good, hosts, nil, o); err != nil {
				t.Fatalf("first apply: %v", err)
			}
			oldHash := good.Deployments[0].TemplateHash()

			bad := loadDesired(t, deployment("web", "nginx:broken", 3, spec))
			res, err := Apply(ctx, bad, hosts, nil, o)
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			err = res.Err()
			var re *RolloutError
			if !errors.As(err, &re) {
				t.Fatalf("want a RolloutError, got %v", err)
			}
			if !strings.Contains(err.Error(), "progress deadline exceeded") {
				t.Errorf("error does not say what failed:\n%v", err)
			}
			var old, other, ready int
			for _, f := range fs {
				for _, p := range f.podsOf("web") {
					if p.TemplateHash == oldHash {
						old++
					} else {
						other++
					}
					if p.Ready {
						ready++
					}
				}
			}
			if !rollback {
				if len(res.Rollbacks) != 0 || other == 0 {
					t.Errorf("without rollback: rollbacks %+v, %d new-template pods", res.Rollbacks, other)
				}
				return
			}
			if len(res.Rollbacks) != 1 || !res.Rollbacks[0].Ready || res.Rollbacks[0].Revision != 1 || res.Rollbacks[0].Hash != oldHash {
				t.Fatalf("rollbacks: %+v\n%v\n%+v", res.Rollbacks, err, res.Deployments)
			}
			want := "deployment default/web: rolled back to revision 1 (pod-template-hash " + oldHash + "); its pods are ready"
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not say it rolled back:\n%v", err)
			}
			if old != 3 || other != 0 || ready != 3 {
				t.Errorf("after the rollback: %d old-template pods, %d others, %d ready; want 3, 0, 3", old, other, ready)
			}
			if len(res.Deployments) != 1 || !res.Deployments[0].Complete {
				t.Errorf("statuses: %+v", res.Deployments)
			}
			// The history still names the failed template as the newest
			// revision: the repository declares it, and the next apply
			// tries it again.
			revs := recordedHistory(observe(ctx, hosts, []string{TemplateHistoryFile})).Revisions("default", "web")
			if len(revs) != 2 || revs[0].Hash != oldHash || revs[1].Hash != bad.Deployments[0].TemplateHash() {
				t.Errorf("history after the rollback: %+v", revs)
			}
		})
	}
}

// The first rollout has nothing to roll back to: it halts and says so.
func TestApplyRollbackWithoutPrevious(t *testing.T) {
	hosts, fs := fakeHosts()
	for _, f := range fs {
		f.neverReady["nginx:broken"] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d := loadDesired(t, deployment("web", "nginx:broken", 2, "  progressDeadlineSeconds: 5\n"))
	res, err := Apply(ctx, d, hosts, nil, ApplyOptions{Prune: true, PollInterval: time.Millisecond, Now: fastClock(), RollbackOnFailure: true})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if err := res.Err(); err == nil || !strings.Contains(err.Error(), "not rolled back: the hosts record no previous revision") {
		t.Fatalf("want a failure saying there is nothing to roll back to, got %v", err)
	}
	if len(res.Rollbacks) != 0 {
		t.Errorf("rollbacks: %+v", res.Rollbacks)
	}
}
