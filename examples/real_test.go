package examples_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reconcile-dev/reconcile/resources"
)

// realCluster is the Cluster the real manifests are validated against:
// the lab's three nodes, with the host directories the website's log
// shippers mount allowed (reconcile allows no hostPath by default).
const realCluster = `apiVersion: reconcile.dev/v1alpha1
kind: Cluster
metadata:
  name: lab
spec:
  podCIDR: 198.18.0.0/16
  serviceCIDR: 198.19.0.0/16
  hostPathAllowList: [/var/log, /var/lib/docker/containers, /etc/machine-id]
  nodes:
  - {name: node-1, ssh: "root@198.51.100.11:22", address: 198.51.100.11}
  - {name: node-2, ssh: "root@198.51.100.12:22", address: 198.51.100.12}
  - {name: node-3, ssh: "root@198.51.100.13:22", address: 198.51.100.13}
`

// realManifests are the directories under real/, each one manifest file
// copied unchanged from kubernetes/website or kubernetes/examples (see
// real/SOURCES.md), with the objects each must load as.
var realManifests = []struct {
	dir                                    string
	deployments, daemonSets, services, cms int
	secrets, namespaces, pvcs              int
}{
	{dir: "basic-daemonset", daemonSets: 1},
	{dir: "basicauth-secret", secrets: 1},
	{dir: "configmaps", cms: 2},
	{dir: "daemonset", daemonSets: 1},
	{dir: "deployment-sidecar", deployments: 1},
	{dir: "fluentd-daemonset", daemonSets: 1},
	{dir: "frontend-service", services: 1},
	{dir: "guestbook-all-in-one", deployments: 3, services: 3},
	{dir: "guestbook-frontend", deployments: 1},
	{dir: "guestbook-go-redis-master", deployments: 1},
	{dir: "guestbook-go-service", services: 1},
	{dir: "immutable-configmap", cms: 1},
	{dir: "minio-standalone-pvc", pvcs: 1},
	{dir: "minio-standalone-service", services: 1},
	{dir: "mongo-deployment", deployments: 1},
	{dir: "mysql-configmap", cms: 1},
	{dir: "namespace-dev", namespaces: 1},
	{dir: "nginx-app", deployments: 1, services: 1},
	{dir: "nginx-deployment", deployments: 1},
	{dir: "php-apache", deployments: 1, services: 1},
}

// TestRealManifests loads each real manifest, unchanged, next to the test
// Cluster and requires no problem, and the objects it declares.
func TestRealManifests(t *testing.T) {
	dirs, err := os.ReadDir("real")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, d := range dirs {
		if d.IsDir() {
			found = append(found, d.Name())
		}
	}
	var listed []string
	for _, m := range realManifests {
		listed = append(listed, m.dir)
	}
	if !slices.Equal(found, listed) {
		t.Errorf("real/ holds %q, realManifests lists %q: keep them equal (sorted)", found, listed)
	}
	sources := readFile(t, "real/SOURCES.md")
	for _, m := range realManifests {
		t.Run(m.dir, func(t *testing.T) {
			if !strings.Contains(sources, "| "+m.dir+" |") {
				t.Errorf("real/SOURCES.md has no row for %s", m.dir)
			}
			tmp := t.TempDir()
			files, err := filepath.Glob(filepath.Join("real", m.dir, "*.yaml"))
			if err != nil || len(files) != 1 {
				t.Fatalf("real/%s: want one .yaml file, got %q (%v)", m.dir, files, err)
			}
			data, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(tmp, filepath.Base(files[0])), string(data))
			write(t, filepath.Join(tmp, "cluster.yaml"), realCluster)
			s, err := resources.Load(tmp)
			if err != nil {
				t.Fatalf("real/%s does not validate:\n%v", m.dir, err)
			}
			got := []int{len(s.Deployments) - len(s.DaemonSets), len(s.DaemonSets), len(s.Services), len(s.ConfigMaps), len(s.Secrets), len(s.Namespaces), len(s.PersistentVolumeClaims)}
			want := []int{m.deployments, m.daemonSets, m.services, m.cms, m.secrets, m.namespaces, m.pvcs}
			if !slices.Equal(got, want) {
				t.Errorf("real/%s loads as Deployments, DaemonSets, Services, ConfigMaps, Secrets, Namespaces, PersistentVolumeClaims %v, want %v", m.dir, got, want)
			}
		})
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
