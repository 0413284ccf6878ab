package reconcile

import (
	"fmt"
	"testing"
)

// Revisions are numbered as kubectl numbers them: a new template gets the
// next number, going back to a template seen before moves it to the
// newest number, and only revisionHistoryLimit old ones are kept.
func TestTemplateHistory(t *testing.T) {
	limit := "  revisionHistoryLimit: 2\n"
	var h TemplateHistory
	step := func(image string) string {
		t.Helper()
		d := loadDesired(t, deployment("web", image, 1, limit))
		h = mergeHistories([][]byte{historyFile(h.withDesired(d))})
		var got string
		for _, r := range h.Revisions("default", "web") {
			got += fmt.Sprintf("%d:%s ", r.Revision, r.Template.Spec.Containers[0].Image)
		}
		return got
	}
	for _, c := range []struct{ image, want string }{
		{"nginx:1", "1:nginx:1 "},
		{"nginx:1", "1:nginx:1 "}, // the same template records nothing
		{"nginx:2", "1:nginx:1 2:nginx:2 "},
		{"nginx:1", "2:nginx:2 3:nginx:1 "}, // back to 1: it becomes 3
		{"nginx:4", "2:nginx:2 3:nginx:1 4:nginx:4 "},
		{"nginx:5", "3:nginx:1 4:nginx:4 5:nginx:5 "}, // 2 old ones kept
	} {
		if got := step(c.image); got != c.want {
			t.Fatalf("after %s: %q, want %q", c.image, got, c.want)
		}
	}
	d := loadDesired(t, deployment("web", "nginx:5", 1, limit))
	prev, ok := h.previous("default", "web", d.Deployments[0].TemplateHash())
	if !ok || prev.Revision != 4 || prev.Template.Spec.Containers[0].Image != "nginx:4" {
		t.Errorf("previous: %+v %v", prev, ok)
	}
	// A template read back from the file has the hash its pods carry.
	back := *d.Deployments[0]
	back.Spec.Template = h.Revisions("default", "web")[2].Template
	if back.TemplateHash() != d.Deployments[0].TemplateHash() {
		t.Errorf("template hash changed through the file")
	}
	// A Deployment the source no longer declares loses its history.
	other := loadDesired(t, deployment("api", "nginx:1", 1, ""))
	if got := h.withDesired(other); len(got.Deployments) != 1 || len(got.Deployments["default/api"]) != 1 {
		t.Errorf("after web left the manifests: %+v", got.Deployments)
	}
}

// Hosts that disagree (one was down during a run) give the most advanced
// history; unreadable or oversized files are skipped.
func TestMergeHistories(t *testing.T) {
	older := historyFile(TemplateHistory{Deployments: map[string][]TemplateRevision{"default/web": {{Revision: 1, Hash: "a"}}}})
	newer := historyFile(TemplateHistory{Deployments: map[string][]TemplateRevision{"default/web": {{Revision: 1, Hash: "a"}, {Revision: 2, Hash: "b"}}}})
	for _, files := range [][][]byte{{older, newer}, {newer, older}, {[]byte("{"), newer, nil}} {
		if got := mergeHistories(files).Revisions("default", "web"); len(got) != 2 {
			t.Errorf("merge: %+v", got)
		}
	}
	if got := mergeHistories([][]byte{make([]byte, maxHistoryFileSize+1)}); len(got.Deployments) != 0 {
		t.Errorf("oversized file read: %+v", got)
	}
}
