package reconcile

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/reconcile-dev/reconcile/resources"
)

const testCluster = `apiVersion: reconcile.dev/v1alpha1
kind: Cluster
metadata: {name: test}
spec:
  podCIDR: 198.18.0.0/16
  serviceCIDR: 198.19.0.0/16
  nodes:
  - {name: node-1, ssh: root@198.51.100.11, address: 198.51.100.11}
  - {name: node-2, ssh: root@198.51.100.12, address: 198.51.100.12}
  - {name: node-3, ssh: root@198.51.100.13, address: 198.51.100.13}
`

// deployment returns a Deployment manifest; extra is spliced into spec.
func deployment(name, image string, replicas int, extra string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ` + name + `}
spec:
  replicas: ` + itoa(replicas) + `
  selector: {matchLabels: {run: ` + name + `}}
` + extra + `  template:
    metadata: {labels: {run: ` + name + `}}
    spec:
      containers:
      - name: ` + name + `
        image: ` + image + `
        ports: [{containerPort: 80}]
`
}

const seedService = `apiVersion: v1
kind: Service
metadata:
  name: my-nginx
  labels: {run: my-nginx}
spec:
  ports: [{port: 80, protocol: TCP}]
  selector: {run: my-nginx}
`

// loadDesired writes the documents into a fresh tree and loads it.
func loadDesired(t *testing.T, docs ...string) *Desired {
	t.Helper()
	dir := t.TempDir()
	for i, d := range append([]string{testCluster}, docs...) {
		if err := os.WriteFile(filepath.Join(dir, "m"+itoa(i)+".yaml"), []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := resources.Load(dir)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return &Desired{Set: set, Dir: dir}
}

func itoa(i int) string { return strconv.Itoa(i) }

// fakeHosts returns three fake hosts keyed by name.
func fakeHosts() (map[string]Host, []*fakeHost) {
	fs := []*fakeHost{newFakeHost("node-1", 1), newFakeHost("node-2", 2), newFakeHost("node-3", 3)}
	m := map[string]Host{}
	for _, f := range fs {
		m[f.name] = f
	}
	return m, fs
}
