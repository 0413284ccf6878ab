package reconcile

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/reconcile-dev/reconcile/runtime"
)

func endpointIPs(f *fakeHost) string {
	c := f.configs[len(f.configs)-1]
	var ips []string
	for _, s := range c.Services {
		for _, p := range s.Ports {
			for _, e := range p.Endpoints {
				ips = append(ips, e.IP)
			}
		}
	}
	sort.Strings(ips)
	return strings.Join(ips, ",")
}

// A daemon that last saw an older commit gets the death event of a pod
// that a newer apply (CI) replaced. Its fast path must not push its old
// desired state over the hosts' newer one: the VIP keeps routing to the
// new pods only.
func TestFastRemoveNeverWritesOlderState(t *testing.T) {
	old := loadDesired(t, deployment("my-nginx", "nginx:1", 2, ""), seedService)
	_, fs := fakeHosts()
	s := newTestSyncer(t, old, fs)
	ctx := context.Background()
	s.Pass(ctx)
	s.Pass(ctx) // the daemon's observation of the old commit
	var victim string
	for id := range fs[0].pods {
		victim = id
	}
	if victim == "" {
		t.Fatal("no pod on node-1")
	}

	// CI applies a newer commit: the old pods are replaced.
	hosts := map[string]Host{}
	for _, f := range fs {
		hosts[f.name] = f
	}
	apply(t, loadDesired(t, deployment("my-nginx", "nginx:2", 2, ""), seedService), hosts)
	want := map[string]string{}
	for _, f := range fs {
		want[f.name] = endpointIPs(f)
	}
	if want["node-1"] == "" {
		t.Fatal("no endpoints after the newer apply")
	}

	s.fastRemove(ctx, PodEvent{Node: "node-1", ID: victim, Action: "destroy"})
	for _, f := range fs {
		if got := endpointIPs(f); got != want[f.name] {
			t.Errorf("%s: endpoints %s after the daemon's fast path; the newer apply left %s", f.name, got, want[f.name])
		}
		if rev := string(f.configs[len(f.configs)-1].Files[2].Content); !strings.HasPrefix(rev, "tree-") || rev == revision(old)+"\n" {
			t.Errorf("%s: revision record %q went back to the daemon's older one", f.name, rev)
		}
	}
}

// A pass that waited for the lock while another run (CI) applied a newer
// commit must not then apply the commit it fetched before waiting.
func TestPassDoesNotApplyOverANewerRunAfterWaiting(t *testing.T) {
	old := loadDesired(t, deployment("my-nginx", "nginx:1", 2, ""), seedService)
	hosts, fs := fakeHosts()
	apply(t, old, hosts)
	older := loadDesired(t, deployment("my-nginx", "nginx:0", 2, ""), seedService)
	s := newTestSyncer(t, older, fs)
	newer := loadDesired(t, deployment("my-nginx", "nginx:2", 2, ""), seedService)
	s.o.Lock = func(ctx context.Context, _ map[string]Host, _ int, wait bool) (context.Context, func(), error) {
		if wait {
			apply(t, newer, hosts) // CI held the lock meanwhile
		}
		return ctx, func() {}, nil
	}
	rep := s.Pass(context.Background())
	if rep.Outcome == OutcomeApplied {
		t.Errorf("pass applied its older commit over the newer run's")
	}
	for _, f := range fs {
		for _, p := range f.pods {
			if p.Image != "nginx:2" {
				t.Errorf("%s: pod %s runs %s; the newer run left nginx:2", f.name, p.Name, p.Image)
			}
		}
	}
}

// The daemon fetched an older commit, then found the hosts already moving
// to a newer one (an apply that was killed), and waited for the lock while
// CI converged them: once it holds the lock it fetches again, and does not
// roll the hosts back to what it fetched before the wait.
func TestPassRefetchesAfterWaitingForTheLock(t *testing.T) {
	hosts, fs := fakeHosts()
	newerDocs := []string{deployment("my-nginx", "nginx:2", 2, ""), seedService}
	apply(t, loadDesired(t, newerDocs...), hosts) // the killed CI run got this far
	src := loadDesired(t, deployment("my-nginx", "nginx:1", 2, ""), seedService)
	s := newTestSyncer(t, src, fs)
	s.o.Lock = func(ctx context.Context, _ map[string]Host, _ int, wait bool) (context.Context, func(), error) {
		if wait {
			// Meanwhile the commit reached the branch and CI converged.
			newer := loadDesired(t, newerDocs...)
			copyTree(t, newer.Dir, src.Dir)
			apply(t, newer, hosts)
		}
		return ctx, func() {}, nil
	}
	rep := s.Pass(context.Background())
	if rep.Outcome == OutcomeApplied {
		t.Errorf("pass applied the commit it fetched before waiting")
	}
	for _, f := range fs {
		for _, p := range f.pods {
			if p.Image != "nginx:2" {
				t.Errorf("%s: pod %s runs %s; CI left nginx:2", f.name, p.Name, p.Image)
			}
		}
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The fast path writes only over hosts as a full read found them: a node
// it did not read (no connection while its event stream reconnects) makes
// its endpoints incomplete, so it leaves the pod to the next pass.
func TestStaleForUnreadNode(t *testing.T) {
	d := loadDesired(t, deployment("my-nginx", "nginx:1", 2, ""), seedService)
	rev := []byte(revision(d) + "\n")
	read := func(nodes ...string) *Observed {
		o := &Observed{Pods: map[string][]runtime.Pod{}, Files: map[string]map[string][]byte{}, Unreachable: map[string]error{}}
		for _, n := range nodes {
			o.Pods[n] = []runtime.Pod{}
			o.Files[n] = map[string][]byte{RevisionFile: rev}
		}
		return o
	}
	var all []string
	for _, n := range d.Cluster.Spec.Nodes {
		all = append(all, n.Name)
	}
	if why := staleFor(d, read(all...)); why != "" {
		t.Errorf("every node read: %q, want none", why)
	}
	if why := staleFor(d, read(all[1:]...)); why != all[0]+" was not read" {
		t.Errorf("%s unread: %q", all[0], why)
	}
}
