package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/resources"
)

// newTestSyncer syncs d onto fake hosts.
func newTestSyncer(t *testing.T, d *Desired, fs []*fakeHost) *Syncer {
	t.Helper()
	s := NewSyncer(SyncOptions{
		Source: SourceOptions{Dir: d.Dir},
		Connect: func(_ context.Context, c *resources.Cluster) (map[string]Host, map[string]error) {
			m := map[string]Host{}
			for _, n := range c.Spec.Nodes {
				for _, f := range fs {
					if f.name == n.Name {
						m[f.name] = f
					}
				}
			}
			return m, nil
		},
		Apply: ApplyOptions{Prune: true, PollInterval: time.Millisecond},
	})
	t.Cleanup(s.Close)
	return s
}

func TestSyncPasses(t *testing.T) {
	d := loadDesired(t, deployment("my-nginx", "nginx", 2, ""), seedService)
	_, fs := fakeHosts()
	s := newTestSyncer(t, d, fs)
	ctx := context.Background()

	first := s.Pass(ctx)
	if first.Outcome != OutcomeApplied || first.Err != nil {
		t.Fatalf("first pass: %s %v", first.Outcome, first.Err)
	}
	idle := s.Pass(ctx)
	if idle.Outcome != OutcomeInSync || idle.Calls != 3 || idle.Writes != 0 {
		t.Fatalf("idle pass: outcome %s, %d calls, %d writes; want in-sync, 3, 0", idle.Outcome, idle.Calls, idle.Writes)
	}

	// A pod removed by hand is drift at the same revision, and comes back.
	for _, f := range fs {
		for id := range f.pods {
			delete(f.pods, id)
			break
		}
	}
	fs[2].drift = []rnet.Change{{Kind: "rules", Action: "update", Target: "nat/RECONCILE-SERVICES"}}
	repair := s.Pass(ctx)
	if repair.Outcome != OutcomeApplied {
		t.Fatalf("repair pass: %s %v", repair.Outcome, repair.Err)
	}
	var kinds []string
	for _, c := range repair.Drift {
		kinds = append(kinds, c.Node+":"+c.Kind)
	}
	if got := strings.Join(kinds, ","); !strings.Contains(got, ":pod") || !strings.Contains(got, "node-3:rules") {
		t.Errorf("drift reported %q, want the missing pod and node-3's rules", got)
	}
	fs[2].drift = nil
	if n := len(fs[0].podsOf("my-nginx")) + len(fs[1].podsOf("my-nginx")) + len(fs[2].podsOf("my-nginx")); n != 2 {
		t.Errorf("%d pods after the repair, want 2", n)
	}
	if again := s.Pass(ctx); again.Outcome != OutcomeInSync {
		t.Errorf("pass after the repair: %s", again.Outcome)
	}
}

func TestFastRemoveDropsDeadPodEverywhere(t *testing.T) {
	d := loadDesired(t, deployment("my-nginx", "nginx", 2, ""), seedService)
	_, fs := fakeHosts()
	s := newTestSyncer(t, d, fs)
	ctx := context.Background()
	s.Pass(ctx)
	s.Pass(ctx) // the idle pass leaves the observation the fast path uses
	var victim string
	for id, p := range fs[0].pods {
		victim = id
		p.State, p.Ready = "exited", false
	}
	s.fastRemove(ctx, PodEvent{Node: "node-1", ID: victim, Action: "die"})
	for _, f := range fs {
		c := f.configs[len(f.configs)-1]
		if eps := c.Services[0].Ports[0].Endpoints; len(eps) != 1 || eps[0].IP == fs[0].pods[victim].IP {
			t.Errorf("%s: endpoints %v still hold the dead pod", f.name, eps)
		}
	}
}

// A node that cannot be reached is dialed again only after its backoff,
// so a host that is down costs the passes nothing in between.
func TestSyncReconnectsWithBackoff(t *testing.T) {
	d := loadDesired(t, deployment("my-nginx", "nginx", 2, ""))
	_, fs := fakeHosts()
	dials := map[string]int{}
	down := true
	s := NewSyncer(SyncOptions{
		Source: SourceOptions{Dir: d.Dir},
		Connect: func(_ context.Context, c *resources.Cluster) (map[string]Host, map[string]error) {
			hosts, errs := map[string]Host{}, map[string]error{}
			for _, n := range c.Spec.Nodes {
				dials[n.Name]++
				for _, f := range fs {
					if f.name == n.Name && (n.Name != "node-3" || !down) {
						hosts[n.Name] = f
					}
				}
				if _, ok := hosts[n.Name]; !ok {
					errs[n.Name] = errors.New("connection refused")
				}
			}
			return hosts, errs
		},
		Apply: ApplyOptions{Prune: true, PollInterval: time.Millisecond},
	})
	defer s.Close()
	ctx := context.Background()
	if p := s.Pass(ctx); p.Result == nil || len(p.Result.Unreachable) != 1 {
		t.Fatalf("first pass: %+v", p)
	}
	s.Pass(ctx)
	if dials["node-3"] != 1 || dials["node-1"] != 1 {
		t.Errorf("dials %v: node-3 redialed before its backoff, or a connected node redialed", dials)
	}
	down = false
	time.Sleep(1100 * time.Millisecond)
	if p := s.Pass(ctx); p.Outcome != OutcomeApplied && p.Outcome != OutcomeInSync {
		t.Errorf("pass after node-3 came back: %s %v", p.Outcome, p.Err)
	}
	if dials["node-3"] != 2 {
		t.Errorf("node-3 dialed %d times, want 2 (once more after the backoff)", dials["node-3"])
	}
}
