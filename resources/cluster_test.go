package resources

import (
	"os"
	"path/filepath"
	"testing"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const labCluster = `apiVersion: reconcile.dev/v1alpha1
kind: Cluster
metadata:
  name: lab
spec:
  podCIDR: 198.18.0.0/16
  serviceCIDR: %s
  nodes:
  - {name: node-1, ssh: root@198.51.100.11, address: 198.51.100.11}
`

func TestLoadCluster(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		wantErr string
	}{
		{"ok", sprintfCluster("198.19.0.0/16"), ""},
		{"invalid", sprintfCluster("198.19.0.1/16"), "FILE:7: Cluster/lab: spec.serviceCIDR: 198.19.0.1/16 has host bits set: did you mean 198.19.0.0/16?"},
		{"not a cluster", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selector: {a: b}, ports: [{port: 80}]}\n",
			"FILE:2: Service/x: kind: a --cluster file may only declare a reconcile.dev/v1alpha1 Cluster"},
		{"empty", "# nothing\n", "FILE: declares no reconcile.dev/v1alpha1 Cluster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, dir, tt.name+".yaml", tt.content)
			c, err := LoadCluster(file)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Source.File != file || c.Spec.Nodes[0].PodCIDR != "198.18.1.0/24" || c.Spec.EndpointsFile != DefaultEndpointsFile {
					t.Errorf("got %+v", c)
				}
				return
			}
			want := replaceFile(tt.wantErr, file)
			if err == nil || err.Error() != want {
				t.Errorf("got %v\nwant %s", err, want)
			}
		})
	}
}

func TestWithCluster(t *testing.T) {
	s, err := Load("testdata/docs")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The tree's redis-leader has clusterIP 198.19.0.20; a cluster whose
	// service range excludes it must be refused.
	other, err := LoadCluster(writeFile(t, dir, "other.yaml", sprintfCluster("198.20.0.0/16")))
	if err != nil {
		t.Fatal(err)
	}
	err = s.WithCluster(other)
	want := "apps/backend-svc.yml:5: Service/redis-leader: spec.clusterIP: 198.19.0.20 is outside the cluster's serviceCIDR 198.20.0.0/16"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if s.Cluster != other {
		t.Error("the --cluster file must replace the tree's Cluster")
	}
	good, err := LoadCluster(writeFile(t, dir, "good.yaml", sprintfCluster("198.19.0.0/16")))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WithCluster(good); err != nil {
		t.Errorf("WithCluster(good) = %v", err)
	}
}

func sprintfCluster(serviceCIDR string) string {
	return replaceAll(labCluster, "%s", serviceCIDR)
}
