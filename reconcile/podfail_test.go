package reconcile

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/reconcile-dev/reconcile/runtime"
)

// badImageHost is a fake host whose dockerd cannot pull some images: it
// answers, and refuses those pods, as a real one does.
type badImageHost struct {
	*fakeHost
	bad map[string]bool
}

func (b badImageHost) CreatePod(ctx context.Context, s runtime.PodSpec) (runtime.Pod, error) {
	if b.bad[s.Container.Image] {
		return runtime.Pod{}, &runtime.PodError{Node: b.name, Pod: s.Name, Reason: runtime.ReasonErrImagePull,
			Err: fmt.Errorf("create pod %s: %s: pull image %s: pull access denied, repository does not exist", s.Name, b.name, s.Container.Image)}
	}
	return b.fakeHost.CreatePod(ctx, s)
}

// One bad image is that Deployment's problem: every host stays usable, the
// other Deployments roll out spread as usual, and the failure names the
// pod, the host and the pull error.
func TestApplyBadImageIsThePodsProblem(t *testing.T) {
	hosts, fs := fakeHosts()
	for _, f := range fs {
		hosts[f.name] = badImageHost{f, map[string]bool{"nosuch/image:1": true}}
	}
	d := loadDesired(t, deployment("web", "nginx", 3, ""), deployment("api", "nginx", 3, ""),
		deployment("broken", "nosuch/image:1", 2, ""), seedService)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Apply(ctx, d, hosts, map[string]error{}, ApplyOptions{Prune: true, PollInterval: time.Millisecond, CreateBackoff: time.Millisecond})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if len(res.Unreachable) > 0 {
		t.Errorf("hosts marked unreachable for a pod's image: %+v", res.Unreachable)
	}
	for _, dep := range []string{"web", "api"} {
		if got := strings.Join(nodesOf(fs, dep), ","); got != "node-1,node-2,node-3" {
			t.Errorf("%s: pods on %s, want one per node", dep, got)
		}
	}
	for _, st := range res.Deployments {
		if st.Complete != (st.Name != "broken") {
			t.Errorf("deployment %s complete=%v", st.Name, st.Complete)
		}
	}
	if len(res.Failures) == 0 {
		t.Fatal("no failure reported for the bad image")
	}
	for _, f := range res.Failures {
		if f.Deployment != "broken" || f.Node == "" || !strings.HasPrefix(f.Pod, "broken-") ||
			!strings.Contains(f.Reason, "ErrImagePull") || !strings.Contains(f.Reason, "pull access denied") {
			t.Errorf("failure %+v: want the broken pod, its node, ErrImagePull and the pull error", f)
		}
	}
	if err := res.Err(); err == nil || !strings.Contains(err.Error(), "nosuch/image:1") {
		t.Errorf("Err() = %v; want it to name the image", err)
	}

	// get pods shows the pod that could not be created, like kubectl.
	st, err := ReadStatus(ctx, d, hosts, map[string]error{})
	if err != nil {
		t.Fatal(err)
	}
	var shown []string
	for _, p := range st.Pods {
		if p.Deployment == "broken" {
			shown = append(shown, p.Node+" "+p.Reason)
		}
	}
	if len(shown) != 1 || !strings.HasSuffix(shown[0], " ImagePullBackOff") {
		t.Errorf("get pods shows the broken Deployment as %q; want one pod in ImagePullBackOff", shown)
	}
}
