package reconcile

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"
)

func fromSource(d *Desired, src string) *Desired { d.Source = src; return d }

func podIDs(fs []*fakeHost) string {
	var ids []string
	for _, f := range fs {
		for id := range f.pods {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return strings.Join(ids, ",")
}

// Two sources on one cluster prune only their own pods, see the other's
// as foreign, and refuse to take over each other's Deployments or VIPs.
func TestSourcesPruneOnlyTheirOwn(t *testing.T) {
	hosts, fs := fakeHosts()
	apply(t, fromSource(loadDesired(t, deployment("app-a", "nginx", 2, "")), "repo-a//prod"), hosts)
	apply(t, fromSource(loadDesired(t, deployment("app-b", "nginx", 2, "")), "repo-b//prod"), hosts)
	if got := len(nodesOf(fs, "app-a")); got != 2 {
		t.Fatalf("source b pruned source a's pods: %d of 2 left", got)
	}
	for _, f := range fs {
		for _, p := range f.pods {
			if want := "repo-" + strings.TrimPrefix(p.Deployment, "app-") + "//prod"; p.Source != want {
				t.Errorf("pod %s recorded source %q, want %q", p.Name, p.Source, want)
			}
		}
	}
	p := plan(t, fromSource(loadDesired(t, deployment("app-b", "nginx", 2, "")), "repo-b//prod"), hosts)
	if p.HasChanges() || len(p.Foreign) != 2 || p.Foreign[0].Source != "repo-a//prod" {
		t.Errorf("plan of b: changes=%v foreign=%+v; want no changes and a's 2 pods as foreign", p.HasChanges(), p.Foreign)
	}

	// b declaring a's Deployment is refused, and changes nothing.
	before := podIDs(fs)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Apply(ctx, fromSource(loadDesired(t, deployment("app-a", "nginx", 3, "")), "repo-b//prod"), hosts, map[string]error{}, ApplyOptions{Prune: true, PollInterval: time.Millisecond})
	var ce *SourceConflictError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "Deployment default/app-a: its pods are managed by source repo-a//prod") {
		t.Errorf("b declaring app-a: err = %v; want a SourceConflictError naming app-a and repo-a", err)
	}
	if after := podIDs(fs); after != before {
		t.Errorf("the refused apply changed pods: before %s, after %s", before, after)
	}
	// a's Services make the nodes' VIP state a's: b may not overwrite it.
	apply(t, fromSource(loadDesired(t, deployment("app-a", "nginx", 2, ""), seedService), "repo-a//prod"), hosts)
	before = podIDs(fs)
	_, err = Apply(ctx, fromSource(loadDesired(t, deployment("app-b", "nginx", 2, "")), "repo-b//prod"), hosts, map[string]error{}, ApplyOptions{Prune: true, PollInterval: time.Millisecond})
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "Service default/my-nginx: managed by source repo-a//prod") {
		t.Errorf("b over a's Service: err = %v; want a SourceConflictError naming the Service", err)
	}
	if after := podIDs(fs); after != before {
		t.Errorf("a refused run changed pods:\n%s\n%s", before, after)
	}
}

// Pods made before sources were recorded carry no source label: the one
// source that applies adopts them (no pod is replaced, none orphaned).
func TestSourceAdoptsUnlabeledPods(t *testing.T) {
	hosts, fs := fakeHosts()
	apply(t, loadDesired(t, deployment("my-nginx", "nginx", 2, ""), deployment("gone", "nginx", 1, ""), seedService), hosts) // no source: as before
	var kept []string
	for _, f := range fs {
		for id, p := range f.pods {
			if p.Deployment == "my-nginx" {
				kept = append(kept, id)
			}
		}
	}
	sort.Strings(kept)
	res := apply(t, fromSource(loadDesired(t, deployment("my-nginx", "nginx", 2, ""), seedService), "repo//app"), hosts)
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if got := podIDs(fs); got != strings.Join(kept, ",") {
		t.Errorf("pods after adoption %s; want the old my-nginx pods %v kept and gone pruned", got, kept)
	}
	if p := plan(t, fromSource(loadDesired(t, deployment("my-nginx", "nginx", 2, ""), seedService), "repo//app"), hosts); p.HasChanges() || len(p.Foreign) > 0 {
		t.Errorf("plan after adoption: %+v", p)
	}
}
