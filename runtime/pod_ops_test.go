package runtime

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/reconcile-dev/reconcile/resources"
)

func fakeWithNetwork(t *testing.T) (*fakeDocker, *Pods) {
	t.Helper()
	f := newFakeDocker()
	f.images["nginx"] = true
	p := NewPods("node-1", f)
	if _, err := p.EnsureNetwork(context.Background(), "lab", "198.18.1.0/24"); err != nil {
		t.Fatal(err)
	}
	return f, p
}

func TestCreateAllocatesDistinctIPs(t *testing.T) {
	f, p := fakeWithNetwork(t)
	ctx := context.Background()
	// A stopped container keeps its fixed address without being attached to
	// the network; a new pod must not take it.
	stopped := basePodSpec()
	stopped.Name = "my-nginx-5d4f8b9c7-stopd"
	f.containers["old"] = &fakeContainer{
		name:  stopped.Name,
		cfg:   &container.Config{Labels: map[string]string{}},
		net:   &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{PodNetwork: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: "198.18.1.3"}}}},
		state: "exited", status: "Exited (1) 1 minute ago",
	}
	f.order = append(f.order, "old")

	var wg sync.WaitGroup
	ips := make([]string, 4)
	errs := make([]error, 4)
	for i := range ips {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := basePodSpec()
			s.Name = fmt.Sprintf("my-nginx-5d4f8b9c7-pod%d", i)
			s.Container.ImagePullPolicy = PullIfNotPresent
			pod, err := p.Create(ctx, s)
			ips[i], errs[i] = pod.IP, err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	sort.Strings(ips)
	want := []string{"198.18.1.2", "198.18.1.4", "198.18.1.5", "198.18.1.6"}
	if !reflect.DeepEqual(ips, want) {
		t.Errorf("pod IPs %v; want %v", ips, want)
	}
}

func TestCreateAndList(t *testing.T) {
	f, p := fakeWithNetwork(t)
	ctx := context.Background()
	s := basePodSpec()
	s.Container.ImagePullPolicy = PullIfNotPresent
	pod, err := p.Create(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	wantPod := Pod{
		ID: "c1", Name: "my-nginx-5d4f8b9c7-x2b7q", Namespace: "default", Deployment: "my-nginx", TemplateHash: "5d4f8b9c7",
		Node: "node-1", IP: "198.18.1.2", Image: "nginx",
		Labels:     map[string]string{"run": "my-nginx"},
		State:      "running",
		Ready:      true,
		Created:    time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Started:    time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
		Supervised: true,
	}
	assertEqualJSON(t, "created pod", pod, wantPod)
	if got := f.calls("ImagePull"); len(got) != 0 {
		t.Errorf("IfNotPresent pulled a present image: %v", got)
	}

	// A container of ours that is not a pod, one of another cluster, and
	// one that is not ours at all must not show up.
	f.containers["other"] = &fakeContainer{name: "x", cfg: &container.Config{Labels: map[string]string{LabelManagedBy: "reconcile", LabelCluster: "prod", LabelPod: "p"}},
		net: &network.NetworkingConfig{}, state: "running", status: "Up 1 hour"}
	f.containers["foreign"] = &fakeContainer{name: "y", cfg: &container.Config{Labels: map[string]string{"run": "my-nginx"}},
		net: &network.NetworkingConfig{}, state: "running", status: "Up 1 hour"}
	f.order = append(f.order, "other", "foreign")

	pods, err := p.List(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	wantList := []Pod{{
		ID: "c1", Name: "my-nginx-5d4f8b9c7-x2b7q", Namespace: "default", Deployment: "my-nginx", TemplateHash: "5d4f8b9c7",
		Node: "node-1", IP: "198.18.1.2", Image: "nginx",
		Labels:     map[string]string{"run": "my-nginx"},
		State:      "running",
		Ready:      true,
		Created:    time.Unix(1767322800, 0).UTC(),
		UpFor:      time.Second,
		Supervised: true,
	}}
	assertEqualJSON(t, "listed pods", pods, wantList)
	lists := f.calls("ContainerList")
	if last := lists[len(lists)-1]; last != "ContainerList all=true filters=[reconcile.dev/cluster=lab reconcile.dev/managed-by=reconcile]" {
		t.Errorf("list call %q", last)
	}
}

func TestCreateWithProbeIsNotReadyUntilHealthy(t *testing.T) {
	_, p := fakeWithNetwork(t)
	s := basePodSpec()
	s.Container.ImagePullPolicy = PullNever
	s.Container.ReadinessProbe = &resources.Probe{ProbeHandler: resources.ProbeHandler{TCPSocket: &resources.TCPSocketAction{Port: resources.FromInt(80)}}}
	pod, err := p.Create(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if pod.Health != HealthStarting || pod.Ready {
		t.Errorf("health %q ready %v; want starting, not ready", pod.Health, pod.Ready)
	}
	pods, _ := p.List(context.Background(), "lab")
	if len(pods) != 1 || pods[0].Health != HealthStarting || pods[0].Ready {
		t.Errorf("listed %+v; want one starting, not ready pod", pods)
	}
}

func TestCreateStartFailureRemovesContainer(t *testing.T) {
	f, p := fakeWithNetwork(t)
	f.startErr = errors.New("Address already in use")
	s := basePodSpec()
	s.Container.ImagePullPolicy = PullIfNotPresent
	_, err := p.Create(context.Background(), s)
	want := "node-1: start pod my-nginx-5d4f8b9c7-x2b7q (IP 198.18.1.2): Address already in use"
	if errString(err) != want {
		t.Errorf("err = %v; want %s", err, want)
	}
	if len(f.containers) != 0 {
		t.Errorf("containers left behind: %v", f.containers)
	}
}

func TestEnsureImage(t *testing.T) {
	tests := []struct {
		name      string
		image     string
		policy    string
		present   bool
		pullErr   string
		wantCalls []string
		wantWarn  []string
		wantErr   string
	}{
		{name: "default for untagged is Always", image: "nginx", present: true,
			wantCalls: []string{"ImagePull nginx"}},
		{name: "default for a version tag is IfNotPresent", image: "nginx:1.27", present: true,
			wantCalls: []string{"ImageInspect nginx:1.27"}},
		{name: "IfNotPresent pulls a missing image", image: "nginx:1.27", policy: "IfNotPresent",
			wantCalls: []string{"ImageInspect nginx:1.27", "ImagePull nginx:1.27"}},
		{name: "Always with a failed pull of a present image warns", image: "nginx", policy: "Always", present: true, pullErr: "dial tcp: lookup registry-1.docker.io: no such host",
			wantCalls: []string{"ImagePull nginx", "ImageInspect nginx"},
			wantWarn:  []string{"node-1: could not pull image nginx, using the copy already on the host: dial tcp: lookup registry-1.docker.io: no such host"}},
		{name: "Always with a failed pull of a missing image fails", image: "nginx", policy: "Always", pullErr: "no such host",
			wantCalls: []string{"ImagePull nginx", "ImageInspect nginx"},
			wantErr:   "node-1: pull image nginx: no such host"},
		{name: "Never with a missing image fails", image: "nginx", policy: "Never",
			wantCalls: []string{"ImageInspect nginx"},
			wantErr:   "node-1: image nginx is not on the host and imagePullPolicy is Never: load it there (docker load) or change the policy"},
		{name: "Never with the image present", image: "nginx", policy: "Never", present: true,
			wantCalls: []string{"ImageInspect nginx"}},
		{name: "unknown policy", image: "nginx", policy: "Sometimes",
			wantErr: `imagePullPolicy "Sometimes": want Always, IfNotPresent or Never`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDocker()
			f.images[tt.image] = tt.present
			f.pullErr = tt.pullErr
			p := NewPods("node-1", f)
			warn, err := p.ensureImage(context.Background(), resources.Container{Image: tt.image, ImagePullPolicy: tt.policy}, nil)
			if errString(err) != tt.wantErr {
				t.Errorf("err = %v; want %q", err, tt.wantErr)
			}
			if !reflect.DeepEqual(warn, tt.wantWarn) {
				t.Errorf("warnings %q; want %q", warn, tt.wantWarn)
			}
			if !reflect.DeepEqual(f.log, tt.wantCalls) {
				t.Errorf("calls %q; want %q", f.log, tt.wantCalls)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	f, p := fakeWithNetwork(t)
	ctx := context.Background()
	s := basePodSpec()
	s.Container.ImagePullPolicy = PullNever
	pod, err := p.Create(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	f.containers["foreign"] = &fakeContainer{name: "someone-else", cfg: &container.Config{Labels: map[string]string{}},
		net: &network.NetworkingConfig{}, state: "running"}
	f.order = append(f.order, "foreign")
	f.log = nil

	if err := p.Delete(ctx, pod.ID, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	want := []string{"ContainerInspect c1", "ContainerUpdate c1 restart=unless-stopped", "ContainerStop c1 timeout=2", "ContainerRemove c1 force=true", "ContainerRemove my-nginx-5d4f8b9c7-x2b7q_PREV force=true"}
	if !reflect.DeepEqual(f.log, want) {
		t.Errorf("calls %q; want %q", f.log, want)
	}
	if err := p.Delete(ctx, pod.ID, time.Second); err != nil {
		t.Errorf("deleting a gone pod: %v", err)
	}
	err = p.Delete(ctx, "foreign", time.Second)
	if errString(err) != "node-1: delete foreign: container /someone-else was not created by reconcile; leaving it alone" {
		t.Errorf("err = %v", err)
	}
	if _, ok := f.containers["foreign"]; !ok {
		t.Error("a foreign container was removed")
	}
}

func TestUsedPodIPsIgnoresOtherNetworks(t *testing.T) {
	f, p := fakeWithNetwork(t)
	f.containers["x"] = &fakeContainer{name: "x", cfg: &container.Config{},
		net:   &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{"bridge": {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: "198.18.1.2"}}}},
		state: "exited"}
	f.order = append(f.order, "x")
	_, _, used, err := p.usedPodIPs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(used) != 0 {
		t.Errorf("used %v; want none", used)
	}
}

// Between the supervisor's rename of an ended container to <name>_PREV
// and its create of the new <name>, the pod is still there: listed from
// its previous instance (ended, not ready), not missing, or a reconcile
// pass in that moment would create a second pod. Once the new container
// exists, the previous one is not part of the pod.
func TestListDuringRestart(t *testing.T) {
	f, p := fakeWithNetwork(t)
	ctx := context.Background()
	s := basePodSpec()
	s.Container.ImagePullPolicy = PullIfNotPresent
	pod, err := p.Create(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	c := f.containers[pod.ID]
	c.name, c.state, c.status = pod.Name+PrevSuffix, "exited", "Exited (3) 1 second ago"

	pods, err := p.List(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 1 || pods[0].Name != pod.Name || pods[0].Ready || pods[0].State != "exited" {
		t.Fatalf("mid-restart: listed %+v; want pod %s, exited, not ready", pods, pod.Name)
	}

	again, err := p.Create(ctx, s) // the new instance, same pod name and labels
	if err != nil {
		t.Fatal(err)
	}
	pods, err = p.List(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 1 || pods[0].ID != again.ID || !pods[0].Ready {
		t.Fatalf("after restart: listed %+v; want only the new container %s, ready", pods, again.ID)
	}
}
