package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A tree with no Deployments (a wrong --path, a tree holding only the
// Cluster) must not delete every workload unless the user says so.
func TestApplyRefusesToPruneEverything(t *testing.T) {
	hosts, fs := fakeHosts()
	apply(t, loadDesired(t, deployment("my-nginx", "nginx", 2, ""), seedService), hosts)
	before := len(nodesOf(fs, "my-nginx"))

	empty := loadDesired(t) // only the Cluster
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Apply(ctx, empty, hosts, map[string]error{}, ApplyOptions{Prune: true, PollInterval: time.Millisecond})
	var ee *EmptyPruneError
	if !errors.As(err, &ee) {
		t.Fatalf("apply of an empty tree: err = %v; want an EmptyPruneError", err)
	}
	for _, want := range []string{"--allow-empty", "default/my-nginx-", "service default/my-nginx", "2 pods"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if got := len(nodesOf(fs, "my-nginx")); got != before {
		t.Errorf("refused apply left %d pods, want %d", got, before)
	}

	// diff shows the whole plan and says that apply would refuse.
	p := plan(t, empty, hosts)
	if !p.HasChanges() || !strings.Contains(p.Refused, "--allow-empty") {
		t.Errorf("plan: changes=%v refused=%q; want the deletions and the refusal", p.HasChanges(), p.Refused)
	}

	// Without prune nothing would be deleted, so there is nothing to refuse.
	if _, err := Apply(ctx, empty, hosts, map[string]error{}, ApplyOptions{Prune: false, PollInterval: time.Millisecond}); err != nil {
		t.Errorf("apply --prune=false of an empty tree: %v", err)
	}
	res, err := Apply(ctx, empty, hosts, map[string]error{}, ApplyOptions{Prune: true, AllowEmpty: true, PollInterval: time.Millisecond})
	if err != nil || res.Err() != nil {
		t.Fatalf("apply --allow-empty: %v %v", err, res.Err())
	}
	if got := len(nodesOf(fs, "my-nginx")); got != 0 {
		t.Errorf("apply --allow-empty left %d pods", got)
	}
	// Once empty, an empty tree is simply in sync.
	if _, err := Apply(ctx, empty, hosts, map[string]error{}, ApplyOptions{Prune: true, PollInterval: time.Millisecond}); err != nil {
		t.Errorf("apply of an empty tree to empty hosts: %v", err)
	}
}
