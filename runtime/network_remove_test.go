package runtime

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

// RemoveNetwork removes only the pod network of this cluster, and the
// cluster's infrastructure containers before it; foreign networks and
// containers stay.
func TestRemoveNetwork(t *testing.T) {
	ours := map[string]string{LabelManagedBy: ManagedBy, LabelCluster: "prod"}
	tests := []struct {
		name        string
		labels      map[string]string // of the network named PodNetwork; nil: none
		attached    string            // a running foreign container on it
		wantRemoved bool
		wantErr     string
		wantGone    []string // containers that must be removed
		wantKept    []string
	}{
		{name: "ours", labels: ours, wantRemoved: true, wantGone: []string{"dns"}, wantKept: []string{"app", "other-dns"}},
		{name: "absent", wantKept: []string{"app", "other-dns"}, wantGone: []string{"dns"}},
		{name: "not ours", labels: map[string]string{"owner": "admin"}, wantKept: []string{"app", "other-dns"}, wantGone: []string{"dns"}},
		{name: "another cluster's", labels: map[string]string{LabelManagedBy: ManagedBy, LabelCluster: "staging"}, wantKept: []string{"app", "other-dns"}, wantGone: []string{"dns"}},
		{name: "a foreign container attached", labels: ours, attached: "intruder",
			wantErr: "node-1: remove network reconcile-pods: containers reconcile did not create are attached to it (intruder); it is left in place"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDocker()
			if tt.labels != nil {
				f.networks[PodNetwork] = network.Inspect{ID: "net-" + PodNetwork, Name: PodNetwork, Labels: tt.labels}
			}
			add := func(name string, labels map[string]string, state string, attached bool) {
				nc := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{}}
				if attached {
					nc.EndpointsConfig[PodNetwork] = &network.EndpointSettings{IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: "198.18.1.9"}}
				}
				f.containers[name] = &fakeContainer{name: name, cfg: &container.Config{Labels: labels}, net: nc, state: state}
				f.order = append(f.order, name)
			}
			add("dns", map[string]string{LabelManagedBy: ManagedBy, LabelInfraCluster: "prod", LabelInfra: "dns"}, "running", true)
			add("other-dns", map[string]string{LabelManagedBy: ManagedBy, LabelInfraCluster: "staging", LabelInfra: "dns"}, "running", false)
			add("app", map[string]string{"owner": "admin"}, "running", false)
			if tt.attached != "" {
				add(tt.attached, map[string]string{}, "running", true)
			}
			p := NewPods("node-1", f)

			// A dry run only looks.
			got, err := p.RemoveNetwork(context.Background(), "prod", true)
			if got != (tt.labels != nil && tt.labels[LabelCluster] == "prod") || err != nil || len(f.calls("NetworkRemove")) > 0 || len(f.calls("ContainerRemove")) > 0 {
				t.Fatalf("dry run: %v %v, calls %v", got, err, f.log)
			}
			got, err = p.RemoveNetwork(context.Background(), "prod", false)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %s", err, tt.wantErr)
				}
				if _, ok := f.networks[PodNetwork]; !ok {
					t.Error("network removed although a foreign container is attached")
				}
				return
			}
			if err != nil || got != tt.wantRemoved {
				t.Fatalf("RemoveNetwork = %v, %v; want %v", got, err, tt.wantRemoved)
			}
			if _, still := f.networks[PodNetwork]; still == tt.wantRemoved && tt.labels != nil {
				t.Errorf("network still there: %v, want removed %v", still, tt.wantRemoved)
			}
			for _, c := range tt.wantGone {
				if f.containers[c] != nil {
					t.Errorf("container %s kept", c)
				}
			}
			for _, c := range tt.wantKept {
				if f.containers[c] == nil {
					t.Errorf("container %s removed", c)
				}
			}
		})
	}
}
