package reconcile

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/reconcile-dev/reconcile/runtime"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestEndpointsFile(t *testing.T) {
	d := loadDesired(t, deployment("my-nginx", "nginx", 3, ""), seedService)
	obs := &Observed{Pods: map[string][]runtime.Pod{
		"node-1": {{ID: "a", Name: "my-nginx-abc-aaaaa", Namespace: "default", Deployment: "my-nginx", Node: "node-1",
			IP: "198.18.1.2", State: "running", Ready: true, Labels: map[string]string{"run": "my-nginx"}}},
		"node-2": {{ID: "b", Name: "my-nginx-abc-bbbbb", Namespace: "default", Deployment: "my-nginx", Node: "node-2",
			IP: "198.18.2.2", State: "running", Ready: false, Labels: map[string]string{"run": "my-nginx"}},
			{ID: "c", Name: "my-nginx-abc-ccccc", Namespace: "default", Deployment: "my-nginx", Node: "node-2",
				IP: "198.18.2.3", State: "exited", Labels: map[string]string{"run": "my-nginx"}},
			{ID: "d", Name: "my-nginx-abc-ddddd", Namespace: "default", Deployment: "my-nginx", Node: "node-2",
				IP: "198.18.2.4", State: "running", Ready: true, Labels: map[string]string{"run": "my-nginx"}}},
	}}
	alloc := Allocations{Services: map[string]Allocation{"default/my-nginx": {ClusterIP: "198.19.0.10"}}}
	// Pod d is about to be deleted: it must already be out of the endpoints.
	states := serviceStates(d.Set, alloc, obs, map[string]bool{"d": true})
	golden(t, "endpoints.json.golden", endpointsJSON(d.Cluster, states))
}
