package runtime

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// restartFake records a restart's calls.
type restartFake struct {
	calls   []string
	created *container.Config
	net     *network.NetworkingConfig
}

func (f *restartFake) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	f.calls = append(f.calls, "inspect "+id)
	return container.InspectResponse{}, notFound(id)
}
func (f *restartFake) ContainerCreate(_ context.Context, cfg *container.Config, _ *container.HostConfig, nc *network.NetworkingConfig, _ *ocispec.Platform, name string) (container.CreateResponse, error) {
	f.calls = append(f.calls, "create "+name)
	f.created, f.net = cfg, nc
	return container.CreateResponse{ID: "new"}, nil
}
func (f *restartFake) ContainerStart(_ context.Context, id string, _ container.StartOptions) error {
	f.calls = append(f.calls, "start "+id)
	return nil
}
func (f *restartFake) ContainerRemove(_ context.Context, id string, _ container.RemoveOptions) error {
	f.calls = append(f.calls, "remove "+id)
	return nil
}
func (f *restartFake) ContainerRename(_ context.Context, id, name string) error {
	f.calls = append(f.calls, "rename "+id+" "+name)
	return nil
}

func ended(labels map[string]string, exit int, ran time.Duration) container.InspectResponse {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{ID: "old", Name: "/web-abc-x", Created: start.Format(time.RFC3339Nano),
			State:      &container.State{Status: "exited", ExitCode: exit, StartedAt: start.Format(time.RFC3339Nano), FinishedAt: start.Add(ran).Format(time.RFC3339Nano)},
			HostConfig: &container.HostConfig{NetworkMode: PodNetwork, RestartPolicy: container.RestartPolicy{Name: "no"}}},
		Config: &container.Config{Labels: labels},
	}
}

// The first restart is at once; the next waits out the back-off in a
// created container whose labels say so; the pod IP and creation time stay.
func TestRestart(t *testing.T) {
	labels := map[string]string{LabelManagedBy: ManagedBy, LabelPod: "web-abc-x", LabelPodIP: "198.18.1.7", LabelRestartPolicy: RestartAlways}
	f := &restartFake{}
	r, err := Restart(context.Background(), f, ended(labels, 3, time.Second), 10*time.Second, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"inspect web-abc-x_PREV", "rename old web-abc-x_PREV", "create web-abc-x", "start new"}
	if js(f.calls) != js(want) || r.Count != 1 || r.Wait != 0 {
		t.Fatalf("first restart: %v %+v; want %v, count 1, no wait", f.calls, r, want)
	}
	l := f.created.Labels
	if l[LabelRestartCount] != "1" || l[LabelBackoff] != "10" || l[LabelStartAfter] != "" || l[LabelPodCreated] != "2026-01-01T00:00:00Z" {
		t.Errorf("labels %v", l)
	}
	if ip := f.net.EndpointsConfig[PodNetwork].IPAMConfig.IPv4Address; ip != "198.18.1.7" {
		t.Errorf("pod IP %s", ip)
	}
	var ls LastState
	json.Unmarshal([]byte(l[LabelLastState]), &ls)
	if ls.ExitCode != 3 || ls.Reason != ReasonError || ls.Container != "web-abc-x_PREV" {
		t.Errorf("last state %+v", ls)
	}

	f2 := &restartFake{}
	r, err = Restart(context.Background(), f2, ended(f.created.Labels, 0, time.Second), 10*time.Second, "Liveness probe failed: HTTP 500")
	if err != nil {
		t.Fatal(err)
	}
	if r.Count != 2 || r.Wait != 10*time.Second || f2.calls[len(f2.calls)-1] != "create web-abc-x" {
		t.Fatalf("second restart: %v %+v; want created, not started, after 10s", f2.calls, r)
	}
	l = f2.created.Labels
	if l[LabelBackoff] != "20" || l[LabelStartAfter] != "2026-01-01T00:00:11Z" {
		t.Errorf("labels %v", l)
	}
	json.Unmarshal([]byte(l[LabelLastState]), &ls)
	if ls.Reason != ReasonCompleted || ls.Message != "Liveness probe failed: HTTP 500" {
		t.Errorf("last state %+v", ls)
	}
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }
