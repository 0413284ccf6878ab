package reconcile

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/reconcile-dev/reconcile/runtime"
	"github.com/reconcile-dev/reconcile/runtime/agent"
)

const dataClaim = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`

// claimDeployment is a Deployment of replicas pods mounting claim data,
// with env X=x so a test can roll it.
func claimDeployment(replicas int, x string) string {
	return deployment("db", "postgres", replicas, "") + `        env: [{name: X, value: "` + x + `"}]
        volumeMounts: [{name: data, mountPath: /data}]
      volumes:
      - name: data
        persistentVolumeClaim: {claimName: data}
`
}

var dataRef = runtime.ClaimRef{Namespace: "default", Name: "data"}

func boundOn(fs []*fakeHost, c runtime.ClaimRef) []string {
	var out []string
	for _, f := range fs {
		if _, ok := f.claims[c.String()]; ok {
			out = append(out, f.name)
		}
	}
	return out
}

// observed is obs with the claim volumes on the named nodes, every node
// of the test cluster read unless listed in unread.
func observedClaims(bound map[string][]string, unread ...string) *Observed {
	obs := &Observed{Pods: map[string][]runtime.Pod{}, Claims: map[string][]runtime.Claim{}, Unreachable: map[string]error{}}
	for _, n := range []string{"node-1", "node-2", "node-3"} {
		if !strings.Contains(strings.Join(unread, ","), n) {
			obs.Pods[n] = nil
		}
	}
	for claim, nodes := range bound {
		ns, name, _ := strings.Cut(claim, "/")
		for _, n := range nodes {
			obs.Claims[n] = append(obs.Claims[n], runtime.Claim{ClaimRef: runtime.ClaimRef{Namespace: ns, Name: name}, Node: n})
		}
	}
	return obs
}

func TestClaimPinsPlacement(t *testing.T) {
	d := loadDesired(t, dataClaim, claimDeployment(2, "1"))
	for _, tc := range []struct {
		name      string
		obs       *Observed
		wantNodes []string // of the creates
		wantWhy   string   // the Pending reason, if any
	}{
		// Unbound: the first pod binds it, the second follows.
		{"unbound", observedClaims(nil), []string{"node-1", "node-1"}, ""},
		{"bound on node-2", observedClaims(map[string][]string{"default/data": {"node-2"}}), []string{"node-2", "node-2"}, ""},
		// The volume may be on node-3, which could not be read: no second one.
		{"unbound, a node unread", observedClaims(nil, "node-3"), nil,
			"PersistentVolumeClaim default/data is bound on no reachable node, and node-3 could not be read: its volume may be there, so no second one is made"},
		{"bound on an unreachable node", observedClaims(nil, "node-2"), nil,
			"PersistentVolumeClaim default/data is bound on no reachable node, and node-2 could not be read: its volume may be there, so no second one is made"},
		{"two volumes", observedClaims(map[string][]string{"default/data": {"node-1", "node-3"}}), nil,
			"PersistentVolumeClaim default/data has a volume on each of node-1, node-3: reconcile does not choose between them; remove the wrong one by hand"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			actions, st := Step(d.Deployments, d.Cluster, tc.obs, true, false)
			var nodes []string
			for _, a := range actions {
				if a.Kind == ActionCreate {
					nodes = append(nodes, a.Node)
				}
			}
			if !reflect.DeepEqual(nodes, tc.wantNodes) {
				t.Errorf("creates on %v, want %v", nodes, tc.wantNodes)
			}
			if st[0].Reason != tc.wantWhy || (tc.wantWhy != "") != (st[0].Unschedulable == 2) {
				t.Errorf("unschedulable %d, reason %q, want %q", st[0].Unschedulable, st[0].Reason, tc.wantWhy)
			}
		})
	}
}

// A pinned node that the pod's nodeSelector refuses leaves it Pending with
// kube-scheduler's reasons, volume conflict included.
func TestClaimPinConflictsWithSelector(t *testing.T) {
	d := loadDesired(t, dataClaim, strings.Replace(claimDeployment(1, "1"), "      containers:", "      nodeSelector: {kubernetes.io/hostname: node-1}\n      containers:", 1))
	_, st := Step(d.Deployments, d.Cluster, observedClaims(map[string][]string{"default/data": {"node-2"}}), true, false)
	want := "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) had volume node affinity conflict."
	if st[0].Unschedulable != 1 || st[0].Reason != want {
		t.Errorf("unschedulable %d, reason %q, want %q", st[0].Unschedulable, st[0].Reason, want)
	}
}

// A RollingUpdate Deployment with a ReadWriteOnce claim rolls like
// Recreate: the old pod goes first, the new one starts once it is gone.
func TestClaimRollsWithRecreate(t *testing.T) {
	old := loadDesired(t, dataClaim, claimDeployment(1, "1"))
	d := loadDesired(t, dataClaim, claimDeployment(1, "2"))
	if !d.Deployments[0].Recreates() || d.Deployments[0].Spec.Strategy.Type != "RollingUpdate" {
		t.Fatalf("strategy %q, Recreates %v", d.Deployments[0].Spec.Strategy.Type, d.Deployments[0].Recreates())
	}
	obs := observedClaims(map[string][]string{"default/data": {"node-2"}})
	obs.Pods["node-2"] = []runtime.Pod{{ID: "c1", Name: "db-old-x", Namespace: "default", Deployment: "db", Node: "node-2",
		TemplateHash: old.Deployments[0].TemplateHash(), State: "running", Ready: true}}
	actions, _ := Step(d.Deployments, d.Cluster, obs, true, false)
	if len(actions) != 1 || actions[0].Kind != ActionDelete || actions[0].Pod.ID != "c1" {
		t.Fatalf("actions %+v, want only the old pod deleted", actions)
	}
	obs.Pods["node-2"] = nil
	actions, _ = Step(d.Deployments, d.Cluster, obs, true, false)
	if len(actions) != 1 || actions[0].Kind != ActionCreate || actions[0].Node != "node-2" {
		t.Fatalf("actions %+v, want one create on node-2", actions)
	}
}

// Apply binds the claim where its first pod lands, keeps the pod there
// when it is deleted by hand or rolled, reports the volume when the claim
// leaves git, and deletes it only with PruneVolumes.
func TestApplyClaimLifecycle(t *testing.T) {
	hosts, fs := fakeHosts()
	fs[0].pods["other"] = &runtime.Pod{ID: "other", Name: "busy", Namespace: "default", Deployment: "busy", State: "running", Ready: true}
	applyOpts := func(d *Desired, o ApplyOptions) *Result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		o.PollInterval = time.Millisecond
		res, err := Apply(ctx, d, hosts, map[string]error{}, o)
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		return res
	}
	d := loadDesired(t, dataClaim, claimDeployment(1, "1"))
	p := plan(t, d, hosts)
	if len(p.Claims) != 1 || p.Claims[0].Action != ClaimCreate || p.Claims[0].Node != "node-2" {
		t.Fatalf("plan claims %+v, want a create on node-2 (node-1 is busier)", p.Claims)
	}
	applyOpts(d, ApplyOptions{})
	if got := boundOn(fs, dataRef); !reflect.DeepEqual(got, []string{"node-2"}) {
		t.Fatalf("claim bound on %v, want node-2", got)
	}
	// Deleted by hand; node-2 now busier than node-3, still the pod goes back.
	fs[1].pods["x"] = &runtime.Pod{ID: "x", Name: "other", Namespace: "default", Deployment: "busy", State: "running", Ready: true}
	for id, pod := range fs[1].pods {
		if pod.Deployment == "db" {
			delete(fs[1].pods, id)
		}
	}
	applyOpts(d, ApplyOptions{})
	if got := nodesOf(fs, "db"); !reflect.DeepEqual(got, []string{"node-2"}) {
		t.Errorf("after the pod was deleted: pods on %v, want node-2", got)
	}
	// A rollout: the new pod on node-2 too.
	applyOpts(loadDesired(t, dataClaim, claimDeployment(1, "2")), ApplyOptions{})
	if got := nodesOf(fs, "db"); !reflect.DeepEqual(got, []string{"node-2"}) {
		t.Errorf("after a rollout: pods on %v, want node-2", got)
	}
	if got := boundOn(fs, dataRef); !reflect.DeepEqual(got, []string{"node-2"}) {
		t.Errorf("claim bound on %v, want only node-2", got)
	}

	// Removed from git: kept and reported, by plan and apply.
	gone := loadDesired(t, deployment("web", "nginx", 1, ""))
	want := "PersistentVolumeClaim default/data: removed from git, volume kept on node-2 (delete with --prune-volumes)"
	if p := plan(t, gone, hosts); len(p.Claims) != 1 || p.Claims[0].String() != want || p.Claims[0].Action != ClaimKeep {
		t.Errorf("plan claims %+v, want %q", p.Claims, want)
	}
	res := applyOpts(gone, ApplyOptions{Prune: true})
	if len(res.Claims) != 1 || res.Claims[0].String() != want {
		t.Errorf("apply claims %+v, want %q", res.Claims, want)
	}
	if got := boundOn(fs, dataRef); !reflect.DeepEqual(got, []string{"node-2"}) {
		t.Fatalf("after prune the volume is on %v, want still node-2", got)
	}
	// PruneVolumes without Prune deletes nothing either.
	applyOpts(gone, ApplyOptions{PruneVolumes: true})
	if got := boundOn(fs, dataRef); len(got) != 1 {
		t.Fatalf("PruneVolumes without Prune: volume on %v", got)
	}
	p, err := ComputePlanWith(context.Background(), gone, hosts, map[string]error{}, PlanOptions{Prune: true, PruneVolumes: true})
	if err != nil || len(p.Claims) != 1 || p.Claims[0].Action != ClaimDelete || !p.HasChanges() {
		t.Fatalf("plan with PruneVolumes: %+v, %v", p.Claims, err)
	}
	res = applyOpts(gone, ApplyOptions{Prune: true, PruneVolumes: true})
	if len(res.Claims) != 1 || res.Claims[0].String() != "PersistentVolumeClaim default/data: removed from git, volume deleted on node-2" {
		t.Errorf("apply claims %+v", res.Claims)
	}
	if got := boundOn(fs, dataRef); len(got) != 0 {
		t.Errorf("volume still on %v", got)
	}
}

// A claim bound on a host that cannot be reached: its pod stays Pending
// with the reason, and no volume is made anywhere else.
func TestApplyClaimOnUnreachableHostStaysPending(t *testing.T) {
	hosts, fs := fakeHosts()
	d := loadDesired(t, dataClaim, claimDeployment(1, "1"))
	fs[2].claims = map[string]runtime.Claim{dataRef.String(): {ClaimRef: dataRef, Node: "node-3"}}
	fs[2].down = true
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Apply(ctx, d, hosts, map[string]error{}, ApplyOptions{PollInterval: time.Millisecond})
	var re *RolloutError
	if !errors.As(err, &re) && !errors.As(res.Err(), &re) {
		t.Fatalf("apply: %v (result %v), want the rollout halted", err, res.Err())
	}
	if n := len(nodesOf(fs, "db")); n != 0 {
		t.Errorf("%d pods created, want none", n)
	}
	if got := boundOn(fs, dataRef); !reflect.DeepEqual(got, []string{"node-3"}) {
		t.Errorf("claim volumes on %v, want only node-3's", got)
	}
	st := res.Deployments[0]
	if st.Unschedulable != 1 || !strings.Contains(st.Reason, "node-3 could not be read") {
		t.Errorf("status %+v, want 1 Pending pod naming node-3", st)
	}
	if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Reason, "1 pod(s) Pending: PersistentVolumeClaim default/data is bound on no reachable node") {
		t.Errorf("failures %+v", res.Failures)
	}
}

func TestClaimViews(t *testing.T) {
	d := loadDesired(t, dataClaim, strings.Replace(dataClaim, "name: data", "name: fresh", 1))
	used := int64(42)
	obs := observedClaims(nil)
	obs.Claims["node-2"] = []runtime.Claim{
		{ClaimRef: dataRef, Volume: "reconcile-test-pvc-default.data", Used: &used},
		{ClaimRef: runtime.ClaimRef{Namespace: "default", Name: "gone"}, Volume: "reconcile-test-pvc-default.gone"},
	}
	var got []string
	for _, v := range claimViews(d, obs) {
		u := "-"
		if v.Used != nil {
			u = itoa(int(*v.Used))
		}
		got = append(got, strings.Join([]string{v.Name, v.Phase, v.Node, v.Capacity, v.AccessModesColumn(), u}, " "))
	}
	// Pending: no node, no capacity (as kubectl shows); Released: kept on
	// its node after leaving git, its spec gone with it.
	want := []string{"data Bound node-2 1Gi RWO 42", "fresh Pending   RWO -", "gone Released node-2   -"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("views\n%q\nwant\n%q", got, want)
	}
}

// The agent's refusal to make a claim's volume (a volume of that name that
// is not reconcile's) fails the pod, as a failed mount does, not its host.
func TestApplyClaimRefusedFailsThePod(t *testing.T) {
	hosts, fs := fakeHosts()
	d := loadDesired(t, dataClaim, claimDeployment(1, "1"))
	for _, f := range fs {
		f.claimErr = &agent.Error{Node: f.name, Verb: "claims", Err: errors.New("exit status 1"),
			Stderr: f.name + ": claim default/data: volume reconcile-test-pvc-default.data: " + runtime.ErrNotClaimVolume.Error()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Apply(ctx, d, hosts, map[string]error{}, ApplyOptions{PollInterval: time.Millisecond, CreateBackoff: time.Millisecond})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if len(res.Unreachable) != 0 {
		t.Errorf("hosts marked unreachable: %+v", res.Unreachable)
	}
	if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Reason, "CreateContainerConfigError") || !strings.Contains(res.Failures[0].Reason, "without reconcile's claim labels") {
		t.Errorf("failures %+v, want the pod's CreateContainerConfigError naming the foreign volume", res.Failures)
	}
	if n := len(nodesOf(fs, "db")); n != 0 {
		t.Errorf("%d pods created", n)
	}
}
