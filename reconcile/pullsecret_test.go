package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reconcile-dev/reconcile/runtime"
)

// authHost is a fake host whose registry takes one password: a pod whose
// pull secrets do not hold it is refused with ErrImagePull, as dockerd
// refuses a pull the registry answered 401.
type authHost struct {
	*fakeHost
	password string
	mu       *sync.Mutex
	seen     *[][][]byte // each create's PullSecrets
}

func (a authHost) CreatePod(ctx context.Context, s runtime.PodSpec) (runtime.Pod, error) {
	a.mu.Lock()
	*a.seen = append(*a.seen, s.PullSecrets)
	a.mu.Unlock()
	for _, ps := range s.PullSecrets {
		if strings.Contains(string(ps), a.password) {
			return a.fakeHost.CreatePod(ctx, s)
		}
	}
	return runtime.Pod{}, &runtime.PodError{Node: a.name, Pod: s.Name, Reason: runtime.ReasonErrImagePull,
		Err: fmt.Errorf("create pod %s: %s: pull image %s: unauthorized: authentication required", s.Name, a.name, s.Container.Image)}
}

func pullSecret(password string) string {
	return `apiVersion: v1
kind: Secret
metadata: {name: regcred}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{"auths": {"registry.lab:5000": {"username": "puller", "password": "` + password + `"}}}'
`
}

// The pod's pull secret goes with each create; a create refused with the
// wrong password is retried with the fixed Secret on the next run; a
// changed Secret alone plans nothing (Kubernetes restarts no pod for it);
// no result or plan holds a password.
func TestPullSecretReachesCreates(t *testing.T) {
	hosts, fs := fakeHosts()
	var mu sync.Mutex
	var seen [][][]byte
	for _, f := range fs {
		hosts[f.name] = authHost{f, "right-password", &mu, &seen}
	}
	app := strings.Replace(deployment("app", "registry.lab:5000/app:v1", 2, ""),
		"    spec:\n      containers:", "    spec:\n      imagePullSecrets: [{name: regcred}]\n      containers:", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := ApplyOptions{Prune: true, PollInterval: time.Millisecond, CreateBackoff: time.Millisecond}
	noPassword := func(what string, v any) {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, pw := range []string{"wrong-password", "right-password", "new-password"} {
			if strings.Contains(string(b), pw) {
				t.Errorf("%s holds %s: %s", what, pw, b)
			}
		}
	}

	wrong := loadDesired(t, pullSecret("wrong-password"), app)
	res, err := Apply(ctx, wrong, hosts, map[string]error{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) == 0 || !strings.Contains(res.Failures[0].Reason, "ErrImagePull") {
		t.Fatalf("failures %+v; want the app's ErrImagePull", res.Failures)
	}
	noPassword("the result", res)
	noPassword("its error", res.Err().Error())
	if len(seen) == 0 || len(seen[0]) != 1 || !strings.Contains(string(seen[0][0]), "wrong-password") {
		t.Fatalf("creates got pull secrets %q; want the Secret's .dockerconfigjson", seen)
	}

	right := loadDesired(t, pullSecret("right-password"), app)
	if right.Deployments[0].TemplateHash() != wrong.Deployments[0].TemplateHash() {
		t.Errorf("the pull secret's data changed the template hash")
	}
	res, err = Apply(ctx, right, hosts, map[string]error{}, opts)
	if err != nil || res.Err() != nil {
		t.Fatalf("apply with the fixed secret: %v %v", err, res.Err())
	}
	if n := len(podsOfAll(fs, "app")); n != 2 {
		t.Fatalf("%d app pods after the fixed secret, want 2", n)
	}
	noPassword("the result", res)

	changed := loadDesired(t, pullSecret("new-password"), app)
	plan, err := ComputePlan(ctx, changed, hosts, map[string]error{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if plan.HasChanges() {
		b, _ := json.Marshal(plan)
		t.Errorf("a changed pull secret plans changes: %s", b)
	}
	noPassword("the plan", plan)
}

func podsOfAll(fs []*fakeHost, dep string) []runtime.Pod {
	var out []runtime.Pod
	for _, f := range fs {
		out = append(out, f.podsOf(dep)...)
	}
	return out
}
