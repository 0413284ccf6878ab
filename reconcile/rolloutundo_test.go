package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestUndoTarget(t *testing.T) {
	revs := []TemplateRevision{{Revision: 2, Hash: "b"}, {Revision: 3, Hash: "c"}, {Revision: 5, Hash: "e"}}
	for _, c := range []struct {
		revs []TemplateRevision
		to   int
		want int
		err  string
	}{
		{revs, 0, 3, ""},
		{revs, 2, 2, ""},
		{revs, 5, 5, ""},
		{revs, 4, 0, "unable to find revision 4"},
		{revs, -1, 0, "must be 0"},
		{revs[:1], 0, 0, "no previous revision"},
	} {
		got, err := UndoTarget(c.revs, "default", "web", c.to)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("to %d: want error %q, got %v", c.to, c.err, err)
			}
			continue
		}
		if err != nil || got.Revision != c.want {
			t.Errorf("to %d: got %d %v, want %d", c.to, got.Revision, err, c.want)
		}
	}
}

// Undo rolls the previous template out (a rolling update like apply's)
// and gives it the next revision number, as kubectl does.
func TestUndo(t *testing.T) {
	hosts, fs := fakeHosts()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	o := ApplyOptions{PollInterval: time.Millisecond}
	for _, image := range []string{"nginx:1", "nginx:2"} {
		if res, err := Apply(ctx, loadDesired(t, deployment("web", image, 3, "")), hosts, nil, o); err != nil || res.Err() != nil {
			t.Fatalf("apply %s: %v %v", image, err, res.Err())
		}
	}
	revs, err := RolloutHistory(ctx, hosts, "default", "web")
	if err != nil || len(revs) != 2 {
		t.Fatalf("history: %+v %v", revs, err)
	}
	to, err := UndoTarget(revs, "default", "web", 0)
	if err != nil {
		t.Fatal(err)
	}
	d := loadDesired(t, deployment("web", "nginx:2", 3, ""))
	res, err := Undo(ctx, d, hosts, nil, "default", "web", to, o)
	if err != nil || res.Err() != nil {
		t.Fatalf("undo: %v %v", err, res.Err())
	}
	for _, f := range fs {
		for _, p := range f.podsOf("web") {
			if p.Image != "nginx:1" || !p.Ready {
				t.Errorf("after undo: pod %s runs %s, ready %v", p.Name, p.Image, p.Ready)
			}
		}
	}
	revs, _ = RolloutHistory(ctx, hosts, "default", "web")
	if len(revs) != 2 || revs[1].Revision != 3 || revs[1].Template.Spec.Containers[0].Image != "nginx:1" {
		t.Errorf("history after undo: %+v", revs)
	}
	if d.Deployments[0].Spec.Template.Spec.Containers[0].Image != "nginx:2" {
		t.Errorf("undo changed the caller's manifests")
	}
	if _, err := Undo(ctx, d, hosts, nil, "default", "nope", to, o); err == nil {
		t.Errorf("undo of an undeclared Deployment: no error")
	}
}
