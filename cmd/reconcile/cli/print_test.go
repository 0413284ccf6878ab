package cli

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/reconcile"
	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

var testNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

const testCommit = "0123456789abcdef0123456789abcdef01234567"

func fullPlan() *reconcile.Plan {
	return &reconcile.Plan{
		Cluster: "lab",
		Repo:    "ssh://git@example.com/ops/apps.git",
		Commit:  testCommit,
		Allocations: []reconcile.AllocationChange{
			{Action: "allocate", Service: "default/my-nginx", ClusterIP: "198.19.0.10"},
			{Action: "allocate", Service: "default/web", ClusterIP: "198.19.0.11", NodePorts: []int32{30080, 30053}},
		},
		Nodes: []reconcile.NodePlan{
			{
				Node:    "node-1",
				Network: "198.18.1.0/24",
				Pods: []reconcile.PodChange{
					{Action: reconcile.ActionCreate, Namespace: "default", Deployment: "my-nginx", Pod: "my-nginx-5d8f7c9b6-*", Image: "nginx", Reason: "replicas 0/2"},
					{Action: reconcile.ActionCreate, Namespace: "default", Deployment: "my-nginx", Pod: "my-nginx-5d8f7c9b6-*", Image: "nginx", Reason: "replicas 1/2"},
				},
				Net: []rnet.Change{
					{Kind: rnet.KindRoute, Action: rnet.ActionAdd, Target: "198.18.2.0/24", Detail: "via 198.51.100.12"},
					{Kind: rnet.KindChain, Action: rnet.ActionAdd, Target: "RECONCILE-SVC-4N57TFCL"},
					{Kind: rnet.KindFile, Action: rnet.ActionUpdate, Target: "/var/lib/reconcile/endpoints.json", Detail: "1 Service | 2 endpoints"},
				},
			},
			{
				Node: "node-2",
				Pods: []reconcile.PodChange{
					{Action: reconcile.ActionDelete, Namespace: "default", Deployment: "old", Pod: "old-7f9c4d8b5-x2k9q", Image: "busybox:1.36", Reason: "Deployment no longer declared"},
				},
				Net: []rnet.Change{
					{Kind: rnet.KindRoute, Action: rnet.ActionDelete, Target: "198.18.9.0/24", Detail: "via 198.51.100.19"},
				},
			},
		},
		Unreachable: []reconcile.NodeError{{Node: "node-3", Error: "ssh: dial tcp 198.51.100.13:22: connect: no route to host"}},
	}
}

func emptyPlan() *reconcile.Plan {
	return &reconcile.Plan{Cluster: "lab", Nodes: []reconcile.NodePlan{{Node: "node-1"}, {Node: "node-2"}, {Node: "node-3"}}}
}

// guardedPlan is an empty tree's plan: apply would refuse it, and another
// source's pods are left alone.
func guardedPlan() *reconcile.Plan {
	return &reconcile.Plan{Cluster: "lab", Repo: "ssh://git@example.com/ops/apps.git", Commit: testCommit,
		Nodes: []reconcile.NodePlan{{Node: "node-1", Pods: []reconcile.PodChange{
			{Action: reconcile.ActionDelete, Namespace: "default", Deployment: "web", Pod: "web-7f9c4d8b5-x2k9q", Image: "nginx", Reason: "no longer declared (pruned)"},
		}}},
		Foreign: []reconcile.ForeignPod{{Node: "node-2", Namespace: "default", Pod: "api-5d8f7c9b6-q8z2c", Source: "ssh://git@example.com/ops/api.git//prod"}},
		Refused: "refusing to prune every workload of cluster lab: ssh://git@example.com/ops/apps.git at 0123456789ab declares no Deployment, and apply would delete 1 pod (check --path; to delete them, pass --allow-empty):\n  pod node-1: default/web-7f9c4d8b5-x2k9q",
	}
}

// teardownPlan removes everything from a node: its pod, the agent's
// rules, routes and files, and the pod network.
func teardownPlan() *reconcile.Plan {
	return &reconcile.Plan{Cluster: "lab", Repo: "ssh://git@example.com/ops/apps.git", Commit: testCommit,
		Nodes: []reconcile.NodePlan{{Node: "node-1", RemoveNetwork: true,
			Pods: []reconcile.PodChange{{Action: reconcile.ActionDelete, Namespace: "default", Deployment: "web", Pod: "web-7f9c4d8b5-x2k9q", Image: "nginx", Reason: "no longer declared (pruned)"}},
			Net: []rnet.Change{
				{Kind: rnet.KindHook, Action: rnet.ActionDelete, Target: "nat/PREROUTING", Detail: `-m comment --comment "reconcile service portals" -j RECONCILE-SERVICES`},
				{Kind: rnet.KindChain, Action: rnet.ActionDelete, Target: "nat/RECONCILE-SERVICES"},
				{Kind: rnet.KindRoute, Action: rnet.ActionDelete, Target: "198.18.2.0/24", Detail: "via 198.51.100.12 dev eth0 proto 82"},
				{Kind: rnet.KindSysctl, Action: rnet.ActionUpdate, Target: "net.ipv4.conf.all.send_redirects", Detail: "0 -> 1 (as before reconcile)"},
				{Kind: rnet.KindFile, Action: rnet.ActionDelete, Target: "/var/lib/reconcile/endpoints.json"},
			}}},
	}
}

// configPlan changes a mounted Secret and ConfigMap: one masked line
// each (keys counted, changed ones named), beside the volumes' changes
// on the nodes.
func configPlan() *reconcile.Plan {
	vol := func(id string, files int, changed ...string) rnet.Change {
		return rnet.Change{Kind: rnet.KindVolume, Action: rnet.ActionUpdate, Target: "/run/reconcile/volumes/lab/" + id,
			Detail: fmt.Sprintf("%d files, %d changed", files, len(changed)), Volume: &rnet.VolumeDelta{Files: files, Changed: changed}}
	}
	return &reconcile.Plan{Cluster: "lab", Repo: "ssh://git@example.com/ops/apps.git", Commit: testCommit,
		Config: []reconcile.ConfigChange{
			{Object: "ConfigMap default/nginx-conf", Summary: "2 keys, 1 changed (nginx.conf)", Keys: 2, Changed: []string{"nginx.conf"}, Nodes: []string{"node-1"}},
			{Object: "Secret default/tls", Summary: "3 keys, 1 changed (tls.key)", Keys: 3, Changed: []string{"tls.key"}, Nodes: []string{"node-1", "node-2"}},
		},
		Nodes: []reconcile.NodePlan{
			{Node: "node-1", Net: []rnet.Change{vol("default.web.conf", 2, "nginx.conf"), vol("default.web.tls", 3, "tls.key")}},
			{Node: "node-2", Net: []rnet.Change{vol("default.web.tls", 3, "tls.key")}},
		}}
}

// keptPlan changes nothing but keeps the volume of a claim gone from git.
func keptPlan() *reconcile.Plan {
	return &reconcile.Plan{Cluster: "lab", Nodes: []reconcile.NodePlan{{Node: "node-1"}},
		Claims: []reconcile.ClaimChange{{Action: reconcile.ClaimKeep, Namespace: "default", Name: "old", Node: "node-1",
			Volume: "reconcile-lab-pvc-default.old", Detail: "removed from git, volume kept on node-1 (delete with --prune-volumes)"}}}
}

// claimsPlan binds a new claim with its first pod, keeps the volume of a
// claim removed from git and deletes another's (--prune-volumes).
func claimsPlan() *reconcile.Plan {
	return &reconcile.Plan{Cluster: "lab", Repo: "ssh://git@example.com/ops/apps.git", Commit: testCommit,
		Claims: []reconcile.ClaimChange{
			{Action: reconcile.ClaimCreate, Namespace: "default", Name: "data", Node: "node-2", Volume: "reconcile-lab-pvc-default.data", Detail: "volume made on node-2, where its first pod goes"},
			{Action: reconcile.ClaimKeep, Namespace: "default", Name: "old", Node: "node-1", Volume: "reconcile-lab-pvc-default.old", Detail: "removed from git, volume kept on node-1 (delete with --prune-volumes)"},
			{Action: reconcile.ClaimDelete, Namespace: "web", Name: "cache", Node: "node-3", Volume: "reconcile-lab-pvc-web.cache", Detail: "removed from git, volume deleted on node-3"},
		},
		Nodes: []reconcile.NodePlan{{Node: "node-2", Pods: []reconcile.PodChange{
			{Action: reconcile.ActionCreate, Namespace: "default", Deployment: "db", Pod: "db-5d8f7c9b6-*", Image: "postgres:16", Reason: "scale up"},
		}}},
	}
}

func TestPrintPlan(t *testing.T) {
	plans := map[string]func() *reconcile.Plan{"empty": emptyPlan, "full": fullPlan, "guarded": guardedPlan, "teardown": teardownPlan, "config": configPlan, "claims": claimsPlan, "kept": keptPlan}
	for _, p := range []string{"empty", "full", "guarded", "teardown", "config", "claims", "kept"} {
		for _, format := range []string{"text", "markdown", "json", "yaml"} {
			t.Run(p+"-"+format, func(t *testing.T) {
				var out bytes.Buffer
				if err := printPlan(&out, plans[p](), format); err != nil {
					t.Fatal(err)
				}
				golden(t, "plan/"+p+"."+format, out.String())
			})
		}
	}
	t.Run("default is text", func(t *testing.T) {
		var def, text bytes.Buffer
		if err := printPlan(&def, fullPlan(), ""); err != nil {
			t.Fatal(err)
		}
		printPlan(&text, fullPlan(), "text")
		if def.String() != text.String() {
			t.Errorf("-o \"\" differs from -o text:\n%s", def.String())
		}
	})
	t.Run("unknown format", func(t *testing.T) {
		var out bytes.Buffer
		err := printPlan(&out, fullPlan(), "html")
		want := `unknown output format "html": use text, json, yaml or markdown`
		if err == nil || err.Error() != want {
			t.Errorf("error %v, want %q", err, want)
		}
		if exitCode(err) != ExitError || out.Len() != 0 {
			t.Errorf("exit %d, output %q", exitCode(err), out.String())
		}
	})
}

func TestCountPlan(t *testing.T) {
	tests := []struct {
		name string
		plan *reconcile.Plan
		want string
	}{
		{"empty", emptyPlan(), "0 pods to create, 0 to delete, 0 network changes on 0 nodes"},
		{"full", fullPlan(), "2 pods to create, 1 to delete, 5 network changes on 2 nodes"},
		{"one of each", &reconcile.Plan{Nodes: []reconcile.NodePlan{{Node: "n", Network: "198.18.1.0/24",
			Pods: []reconcile.PodChange{{Action: reconcile.ActionCreate}}}}}, "1 pod to create, 0 to delete, 1 network change on 1 node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := countPlan(tt.plan).summary(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// testStatus is a small live state: my-nginx on two nodes behind a
// ClusterIP and a NodePort Service, redis beside it, and api in another
// namespace.
func testStatus() *reconcile.Status {
	nginx := map[string]string{"run": "my-nginx"}
	pods := []runtime.Pod{
		{ID: "a1b2c3", Name: "my-nginx-5d8f7c9b6-jr4a2", Namespace: "default", Deployment: "my-nginx", TemplateHash: "5d8f7c9b6",
			Node: "node-1", IP: "198.18.1.2", Image: "nginx", Labels: nginx, State: "running", Ready: true,
			Created: testNow.Add(-13 * time.Second), Started: testNow.Add(-12 * time.Second)},
		{ID: "d4e5f6", Name: "my-nginx-5d8f7c9b6-kna2y", Namespace: "default", Deployment: "my-nginx", TemplateHash: "5d8f7c9b6",
			Node: "node-2", IP: "198.18.2.2", Image: "nginx", Labels: nginx, State: "running", Ready: true, Restarts: 1,
			Created: testNow.Add(-(5*time.Hour + 30*time.Minute)), Started: testNow.Add(-time.Hour)},
		{ID: "789abc", Name: "redis-6b5d7f8c4-p9z2m", Namespace: "default", Deployment: "redis", TemplateHash: "6b5d7f8c4",
			Node: "node-1", IP: "198.18.1.3", Image: "redis:7", Labels: map[string]string{"app": "redis"}, State: "created",
			Created: testNow.Add(-90 * time.Second)},
		{ID: "def012", Name: "api-7c4b9d6f5-xk2fw", Namespace: "web", Deployment: "api", TemplateHash: "7c4b9d6f5",
			Node: "node-2", IP: "198.18.2.3", Image: "example/api:1.2", Labels: map[string]string{"app": "api"}, State: "restarting",
			Restarts: 7, Created: testNow.Add(-(3*24*time.Hour + 4*time.Hour))},
		{ID: "345cde", Name: "worker-8d9f6b7c5-q7w2x", Namespace: "web", Deployment: "worker", TemplateHash: "8d9f6b7c5",
			Node: "node-1", IP: "198.18.1.4", Image: "example/worker:2", Labels: map[string]string{"app": "worker"}, State: "created",
			Reason: runtime.ReasonCrashLoopBackOff, Supervised: true, Restarts: 4, Created: testNow.Add(-3 * time.Minute),
			LastState: &runtime.LastState{ExitCode: 1, Reason: runtime.ReasonError, StartedAt: testNow.Add(-45 * time.Second),
				FinishedAt: testNow.Add(-40 * time.Second), Container: "worker-8d9f6b7c5-q7w2x_PREV"}},
	}
	addr := func(p runtime.Pod, port int32) reconcile.EndpointAddr {
		return reconcile.EndpointAddr{IP: p.IP, Port: port, Node: p.Node, Pod: p.Name, Namespace: p.Namespace}
	}
	services := []reconcile.ServiceState{
		{
			Service: &resources.Service{
				TypeMeta:   resources.TypeMeta{APIVersion: "v1", Kind: "Service"},
				ObjectMeta: resources.ObjectMeta{Name: "my-nginx", Namespace: "default", Labels: nginx},
				Spec: resources.ServiceSpec{Type: resources.ServiceTypeClusterIP, Selector: nginx, SessionAffinity: "None",
					Ports: []resources.ServicePort{{Port: 80, Protocol: "TCP", TargetPort: resources.FromInt(80)}}},
			},
			ClusterIP: "198.19.0.10",
			Created:   testNow.Add(-21 * time.Second),
			Ports: []reconcile.PortEndpoints{{
				Port:  resources.ServicePort{Port: 80, Protocol: "TCP", TargetPort: resources.FromInt(80)},
				Ready: []reconcile.EndpointAddr{addr(pods[0], 80), addr(pods[1], 80)},
			}},
		},
		{
			Service: &resources.Service{
				TypeMeta:   resources.TypeMeta{APIVersion: "v1", Kind: "Service"},
				ObjectMeta: resources.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "web", "tier": "front"}},
				Spec: resources.ServiceSpec{Type: resources.ServiceTypeNodePort, Selector: nginx,
					Ports: []resources.ServicePort{
						{Name: "http", Port: 8080, Protocol: "TCP", TargetPort: resources.FromInt(80), NodePort: 30080},
						{Name: "dns", Port: 53, Protocol: "UDP", TargetPort: resources.FromString("dns"), NodePort: 30053},
					}},
			},
			ClusterIP: "198.19.0.11",
			NodePorts: map[string]int32{"8080/TCP": 30080, "53/UDP": 30053},
			Created:   testNow.Add(-(36 * time.Hour)),
			Ports: []reconcile.PortEndpoints{
				{Port: resources.ServicePort{Name: "http", Port: 8080, Protocol: "TCP", TargetPort: resources.FromInt(80)}, NodePort: 30080,
					Ready: []reconcile.EndpointAddr{addr(pods[0], 80), addr(pods[1], 80)}},
				{Port: resources.ServicePort{Name: "dns", Port: 53, Protocol: "UDP", TargetPort: resources.FromString("dns")}, NodePort: 30053},
			},
		},
		{
			Service: &resources.Service{
				TypeMeta:   resources.TypeMeta{APIVersion: "v1", Kind: "Service"},
				ObjectMeta: resources.ObjectMeta{Name: "api", Namespace: "web"},
				Spec: resources.ServiceSpec{Type: resources.ServiceTypeClusterIP, Selector: map[string]string{"app": "api"},
					Ports: []resources.ServicePort{{Port: 443, Protocol: "TCP", TargetPort: resources.FromInt(8443)}}},
			},
			Created: testNow.Add(-30 * 24 * time.Hour),
			Ports: []reconcile.PortEndpoints{{Port: resources.ServicePort{Port: 443, Protocol: "TCP", TargetPort: resources.FromInt(8443)},
				NotReady: []reconcile.EndpointAddr{addr(pods[3], 8443)}}},
		},
	}
	return &reconcile.Status{
		Pods: pods,
		Deployments: []reconcile.DeploymentView{
			{DeploymentStatus: reconcile.DeploymentStatus{Namespace: "default", Name: "my-nginx", Replicas: 2, Updated: 2, Ready: 2, Complete: true},
				Available: 2, Created: pods[1].Created},
			{DeploymentStatus: reconcile.DeploymentStatus{Namespace: "default", Name: "redis", Replicas: 1, Updated: 1},
				Created: pods[2].Created},
			{DeploymentStatus: reconcile.DeploymentStatus{Namespace: "web", Name: "api", Replicas: 1, Updated: 1},
				Created: pods[3].Created},
			{DeploymentStatus: reconcile.DeploymentStatus{Namespace: "default", Name: "node-agent", Kind: "DaemonSet", Replicas: 2, Updated: 1, Ready: 1, Old: 1},
				Available: 2, Created: pods[1].Created, NodeSelector: map[string]string{"disk": "ssd", "arch": "amd64"}},
			{DeploymentStatus: reconcile.DeploymentStatus{Namespace: "default", Name: "logs", Kind: "DaemonSet", Replicas: 3, Updated: 3, Ready: 3, Complete: true},
				Available: 3, Created: pods[1].Created},
		},
		Services:   services,
		Endpoints:  reconcile.BuildEndpoints(nil, services),
		ConfigMaps: testConfigMaps(),
		Secrets:    testSecrets(),
		Namespaces: []*resources.Namespace{
			{TypeMeta: resources.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: resources.ObjectMeta{Name: "web", Labels: map[string]string{"team": "web"}}},
			{TypeMeta: resources.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: resources.ObjectMeta{Name: "tools"}},
		},
		Claims: testClaims(),
	}
}

// testClaims: one bound and measured, one bound whose measure stopped at
// its bound, one pending, one kept after leaving git, one unmeasured.
func testClaims() []reconcile.ClaimView {
	used := func(n int64) *int64 { return &n }
	return []reconcile.ClaimView{
		{Namespace: "default", Name: "data", Phase: reconcile.ClaimBound, Volume: "reconcile-lab-pvc-default.data", Request: "1Gi", Capacity: "1Gi",
			AccessModes: []string{"ReadWriteOnce"}, VolumeMode: "Filesystem", Node: "node-1", Used: used(12 << 20), Created: testNow.Add(-3 * time.Hour),
			Labels: map[string]string{"app": "db"}},
		{Namespace: "default", Name: "logs", Phase: reconcile.ClaimBound, Volume: "reconcile-lab-pvc-default.logs", Request: "20Gi", Capacity: "20Gi",
			AccessModes: []string{"ReadWriteOncePod"}, StorageClass: "local", VolumeMode: "Filesystem", Node: "node-2", Used: used(3 << 30), Partial: true,
			Created: testNow.Add(-49 * time.Hour)},
		{Namespace: "default", Name: "old", Phase: reconcile.ClaimReleased, Volume: "reconcile-lab-pvc-default.old", VolumeMode: "Filesystem", Node: "node-3",
			Used: used(512), Created: testNow.Add(-90 * 24 * time.Hour)},
		{Namespace: "default", Name: "scratch", Phase: reconcile.ClaimPending, Request: "5Gi", AccessModes: []string{"ReadWriteOnce", "ReadOnlyMany"}, VolumeMode: "Filesystem"},
		{Namespace: "web", Name: "cache", Phase: reconcile.ClaimBound, Volume: "reconcile-lab-pvc-web.cache", Request: "500Mi", Capacity: "500Mi",
			AccessModes: []string{"ReadOnlyMany"}, VolumeMode: "Filesystem", Node: "node-1", Created: testNow.Add(-10 * time.Minute)},
	}
}

func testConfigMaps() []*resources.ConfigMap {
	tm := resources.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}
	return []*resources.ConfigMap{
		{TypeMeta: tm, ObjectMeta: resources.ObjectMeta{Name: "nginx-conf", Namespace: "default", Labels: map[string]string{"run": "my-nginx"}},
			Data: map[string]string{"nginx.conf": "server { listen 443 ssl; }", "mime.types": "types {}"}, BinaryData: map[string][]byte{"favicon.ico": {0, 1, 2}}},
		{TypeMeta: tm, ObjectMeta: resources.ObjectMeta{Name: "api-env", Namespace: "web"}, Data: map[string]string{"LOG_LEVEL": "debug"}},
	}
}

// testSecretValue is in every test Secret; no output may contain it.
const testSecretValue = "s3cr3t-plaintext-value"

func testSecrets() []*resources.Secret {
	tm := resources.TypeMeta{APIVersion: "v1", Kind: "Secret"}
	return []*resources.Secret{
		{TypeMeta: tm, ObjectMeta: resources.ObjectMeta{Name: "tls", Namespace: "default",
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"stringData":{"tls.key":"` + testSecretValue + `"}}`}},
			Type: resources.SecretTypeTLS, Data: map[string][]byte{"tls.crt": []byte("cert-" + testSecretValue), "tls.key": []byte(testSecretValue)}},
		{TypeMeta: tm, ObjectMeta: resources.ObjectMeta{Name: "db", Namespace: "web", Labels: map[string]string{"app": "api"}},
			Type: resources.SecretTypeOpaque, Data: map[string][]byte{"password": []byte(testSecretValue), "user": []byte("admin"), "url": []byte("postgres://" + testSecretValue)}},
	}
}

func TestGetPrinters(t *testing.T) {
	tests := []struct {
		name       string
		kind       string // pods, deployments, services, endpoints
		args       string // NAME
		flags      readFlags
		wantErr    string
		wantStderr string
	}{
		{name: "pods", kind: "pods"},
		{name: "pods-wide", kind: "pods", flags: readFlags{output: "wide"}},
		{name: "pods-json", kind: "pods", flags: readFlags{output: "json"}},
		{name: "pods-yaml-one", kind: "pods", args: "my-nginx-5d8f7c9b6-jr4a2", flags: readFlags{output: "yaml"}},
		{name: "pods-all-namespaces", kind: "pods", flags: readFlags{allNamespaces: true}},
		{name: "pods-all-namespaces-wide", kind: "pods", flags: readFlags{allNamespaces: true, output: "wide"}},
		{name: "pods-selector", kind: "pods", flags: readFlags{selector: "run=my-nginx", output: "wide"}},
		{name: "pods-other-namespace", kind: "pods", flags: readFlags{namespace: "web"}},
		{name: "pods-none", kind: "pods", flags: readFlags{namespace: "kube-system"},
			wantStderr: "No resources found in kube-system namespace.\n"},
		{name: "pods-none-selected", kind: "pods", flags: readFlags{selector: "run=nope", allNamespaces: true},
			wantStderr: "No resources found\n"},
		{name: "pods-none-json", kind: "pods", flags: readFlags{namespace: "kube-system", output: "json"}},
		{name: "pods-not-found", kind: "pods", args: "my-nginx", wantErr: `pod "my-nginx" not found in namespace "default"`},
		{name: "deployments", kind: "deployments"},
		{name: "deployments-all-namespaces", kind: "deployments", flags: readFlags{allNamespaces: true}},
		{name: "deployments-json", kind: "deployments", args: "my-nginx", flags: readFlags{output: "json"}},
		{name: "deployments-not-found", kind: "deployments", args: "api", wantErr: `deployment "api" not found in namespace "default"`},
		{name: "daemonsets", kind: "daemonsets"},
		{name: "daemonsets-json", kind: "daemonsets", args: "node-agent", flags: readFlags{output: "json"}},
		{name: "daemonsets-not-found", kind: "daemonsets", args: "my-nginx", wantErr: `daemonset "my-nginx" not found in namespace "default"`},
		{name: "services", kind: "services"},
		{name: "services-one", kind: "services", args: "my-nginx"},
		{name: "services-all-namespaces", kind: "services", flags: readFlags{allNamespaces: true}},
		{name: "services-json", kind: "services", args: "web", flags: readFlags{output: "json"}},
		{name: "services-selector", kind: "services", flags: readFlags{selector: "tier"}},
		{name: "services-not-found", kind: "services", args: "nope", wantErr: `service "nope" not found in namespace "default"`},
		{name: "endpoints", kind: "endpoints"},
		{name: "endpoints-one", kind: "endpoints", args: "my-nginx"},
		{name: "endpoints-all-namespaces", kind: "endpoints", flags: readFlags{allNamespaces: true}},
		{name: "endpoints-json", kind: "endpoints", args: "my-nginx", flags: readFlags{output: "json"}},
		{name: "endpoints-none", kind: "endpoints", flags: readFlags{namespace: "kube-system"},
			wantStderr: "No resources found in kube-system namespace.\n"},
		{name: "services-name", kind: "services", flags: readFlags{output: "name", allNamespaces: true}},
		{name: "deployments-name", kind: "deployments", flags: readFlags{output: "name"}},
		{name: "pods-name", kind: "pods", flags: readFlags{output: "name", namespace: "web"}},
		{name: "daemonsets-name", kind: "daemonsets", flags: readFlags{output: "name"}},
		{name: "endpoints-name", kind: "endpoints", flags: readFlags{output: "name"}},
		{name: "configmaps", kind: "configmaps"},
		{name: "configmaps-all-namespaces", kind: "configmaps", flags: readFlags{allNamespaces: true}},
		{name: "configmaps-wide", kind: "configmaps", flags: readFlags{output: "wide"}},
		{name: "configmaps-json", kind: "configmaps", args: "nginx-conf", flags: readFlags{output: "json"}},
		{name: "configmaps-yaml", kind: "configmaps", flags: readFlags{output: "yaml", allNamespaces: true}},
		{name: "configmaps-name", kind: "configmaps", flags: readFlags{output: "name", allNamespaces: true}},
		{name: "configmaps-selector", kind: "configmaps", flags: readFlags{selector: "run=my-nginx"}},
		{name: "configmaps-none", kind: "configmaps", flags: readFlags{namespace: "kube-system"},
			wantStderr: "No resources found in kube-system namespace.\n"},
		{name: "configmaps-none-name", kind: "configmaps", flags: readFlags{namespace: "kube-system", output: "name"},
			wantStderr: "No resources found in kube-system namespace.\n"},
		{name: "configmaps-not-found", kind: "configmaps", args: "nope", wantErr: `configmap "nope" not found in namespace "default"`},
		{name: "secrets", kind: "secrets"},
		{name: "secrets-all-namespaces", kind: "secrets", flags: readFlags{allNamespaces: true}},
		{name: "secrets-wide", kind: "secrets", flags: readFlags{output: "wide", namespace: "web"}},
		{name: "secrets-json", kind: "secrets", flags: readFlags{output: "json", allNamespaces: true}},
		{name: "secrets-yaml-one", kind: "secrets", args: "tls", flags: readFlags{output: "yaml"}},
		{name: "secrets-name", kind: "secrets", flags: readFlags{output: "name", allNamespaces: true}},
		{name: "secrets-not-found", kind: "secrets", args: "db", wantErr: `secret "db" not found in namespace "default"`},
		{name: "namespaces", kind: "namespaces"},
		{name: "namespaces-all-namespaces", kind: "namespaces", flags: readFlags{allNamespaces: true}},
		{name: "namespaces-json", kind: "namespaces", args: "web", flags: readFlags{output: "json"}},
		{name: "namespaces-yaml", kind: "namespaces", flags: readFlags{output: "yaml"}},
		{name: "namespaces-name", kind: "namespaces", flags: readFlags{output: "name"}},
		{name: "namespaces-selector", kind: "namespaces", flags: readFlags{selector: "team=web"}},
		{name: "namespaces-not-found", kind: "namespaces", args: "default", wantErr: `namespace "default" not found`},
		{name: "pvc", kind: "pvc"},
		{name: "pvc-wide", kind: "pvc", flags: readFlags{output: "wide"}},
		{name: "pvc-all-namespaces", kind: "pvc", flags: readFlags{allNamespaces: true}},
		{name: "pvc-json", kind: "pvc", flags: readFlags{output: "json"}},
		{name: "pvc-yaml-one", kind: "pvc", args: "data", flags: readFlags{output: "yaml"}},
		{name: "pvc-name", kind: "pvc", flags: readFlags{output: "name", allNamespaces: true}},
		{name: "pvc-selector", kind: "pvc", flags: readFlags{selector: "app=db"}},
		{name: "pvc-none", kind: "pvc", flags: readFlags{namespace: "kube-system"},
			wantStderr: "No resources found in kube-system namespace.\n"},
		{name: "pvc-not-found", kind: "pvc", args: "nope", wantErr: `persistentvolumeclaim "nope" not found in namespace "default"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags := tt.flags
			if flags.namespace == "" {
				flags.namespace = "default"
			}
			sel, err := parseSelector(flags.selector)
			if err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			v := view{status: testStatus(), flags: &flags, sel: sel, name: tt.args, now: testNow, errOut: &errOut}
			switch tt.kind {
			case "pods":
				err = v.printPods(&out)
			case "deployments":
				err = v.printDeployments(&out)
			case "daemonsets":
				err = v.printDaemonSets(&out)
			case "services":
				err = v.printServices(&out)
			case "endpoints":
				err = v.printEndpoints(&out)
			case "configmaps":
				err = v.printConfigMaps(&out)
			case "secrets":
				err = v.printSecrets(&out)
			case "namespaces":
				err = v.printNamespaces(&out)
			case "pvc":
				err = v.printClaims(&out)
			}
			if errOut.String() != tt.wantStderr {
				t.Errorf("stderr %q, want %q", errOut.String(), tt.wantStderr)
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("error %v, want %q", err, tt.wantErr)
				}
				if out.Len() != 0 {
					t.Errorf("stdout not empty: %q", out.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantStderr != "" {
				if out.Len() != 0 {
					t.Errorf("stdout not empty: %q", out.String())
				}
				return
			}
			golden(t, "get/"+tt.name, out.String())
		})
	}
}

func TestDescribeService(t *testing.T) {
	st := testStatus()
	for _, s := range st.Services {
		t.Run(s.Service.Namespace+"-"+s.Service.Name, func(t *testing.T) {
			v := view{status: st, flags: &readFlags{namespace: s.Service.Namespace}, name: s.Service.Name, now: testNow}
			e, _ := v.endpointsOf(s.Service.Namespace, s.Service.Name)
			var out bytes.Buffer
			describeService(&out, s, e)
			golden(t, "describe/"+s.Service.Namespace+"-"+s.Service.Name, out.String())
		})
	}
}

func TestEndpointsColumn(t *testing.T) {
	ep := func(ips ...string) reconcile.Endpoints {
		var addrs []reconcile.EndpointAddress
		for _, ip := range ips {
			addrs = append(addrs, reconcile.EndpointAddress{IP: ip})
		}
		return reconcile.Endpoints{Subsets: []reconcile.EndpointSubset{{Addresses: addrs, Ports: []reconcile.EndpointPort{{Port: 80}}}}}
	}
	tests := []struct {
		name string
		e    reconcile.Endpoints
		want string
	}{
		{"none", reconcile.Endpoints{}, "<none>"},
		{"one", ep("198.18.1.2"), "198.18.1.2:80"},
		{"three", ep("198.18.3.2", "198.18.1.2", "198.18.2.2"), "198.18.1.2:80,198.18.2.2:80,198.18.3.2:80"},
		{"five", ep("198.18.1.2", "198.18.1.3", "198.18.2.2", "198.18.2.3", "198.18.3.2"), "198.18.1.2:80,198.18.1.3:80,198.18.2.2:80 + 2 more..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := endpointsColumn(tt.e); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPodStatus(t *testing.T) {
	tests := []struct {
		state       string
		exit        int
		want, want2 string
	}{
		{"running", 0, "Running", "Running"},
		{"restarting", 1, "CrashLoopBackOff", "Running"},
		{"created", 0, "ContainerCreating", "Pending"},
		{"paused", 0, "Paused", "Running"},
		{"removing", 0, "Terminating", "Running"},
		{"exited", 0, "Completed", "Succeeded"},
		{"exited", 137, "Error", "Failed"},
		{"dead", 1, "Error", "Failed"},
		{"", 0, "Unknown", "Unknown"},
		{"created", 0, "ImagePullBackOff", "Pending"}, // no container: reason from the pending record
	}
	for _, tt := range tests {
		t.Run(tt.state+"-"+tt.want, func(t *testing.T) {
			p := runtime.Pod{State: tt.state, ExitCode: tt.exit}
			if tt.want == "ImagePullBackOff" {
				p.Reason = tt.want
			}
			if got := podStatus(p); got != tt.want {
				t.Errorf("STATUS %q, want %q", got, tt.want)
			}
			if got := podPhase(p); got != tt.want2 {
				t.Errorf("phase %q, want %q", got, tt.want2)
			}
		})
	}
}

func TestParseSelector(t *testing.T) {
	tests := []struct {
		in      string
		want    string // String() of the parsed selector
		wantErr bool
	}{
		{in: "", want: ""},
		{in: "  ", want: ""},
		{in: "run=my-nginx", want: "run=my-nginx"},
		{in: "run==my-nginx", want: "run=my-nginx"},
		{in: "run!=my-nginx", want: "run!=my-nginx"},
		{in: "tier", want: "tier"},
		{in: "!tier", want: "!tier"},
		{in: " run = my-nginx , tier!=back,canary ", want: "run=my-nginx,tier!=back,canary"},
		{in: "run=", want: "run="},
		{in: "=my-nginx", wantErr: true},
		{in: "run=a,,tier", wantErr: true},
		{in: "!", wantErr: true},
		{in: "a b=c", wantErr: true},
		{in: "tier in (front)", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sel, err := parseSelector(tt.in)
			if tt.wantErr {
				var fe *flagError
				if err == nil || !errors.As(err, &fe) {
					t.Fatalf("got %v, %v; want a flag error", sel, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sel.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSelectorMatches(t *testing.T) {
	labels := map[string]string{"run": "my-nginx", "tier": "front"}
	tests := []struct {
		sel  string
		want bool
	}{
		{"", true},
		{"run=my-nginx", true},
		{"run=other", false},
		{"run!=other", true},
		{"run!=my-nginx", false},
		{"missing!=x", true},
		{"tier", true},
		{"missing", false},
		{"!missing", true},
		{"!tier", false},
		{"run=my-nginx,tier=front", true},
		{"run=my-nginx,tier=back", false},
		{"run=", false},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			sel, err := parseSelector(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if got := sel.matches(labels); got != tt.want {
				t.Errorf("matches(%v) = %v, want %v", labels, got, tt.want)
			}
		})
	}
}

func TestHumanAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-5 * time.Second, "<invalid>"},
		{-time.Second, "0s"},
		{0, "0s"},
		{13 * time.Second, "13s"},
		{90 * time.Second, "90s"},
		{119 * time.Second, "119s"},
		{2 * time.Minute, "2m"},
		{2*time.Minute + 30*time.Second, "2m30s"},
		{5 * time.Minute, "5m"},
		{9*time.Minute + 59*time.Second, "9m59s"},
		{10*time.Minute + 30*time.Second, "10m"},
		{179 * time.Minute, "179m"},
		{3 * time.Hour, "3h"},
		{5*time.Hour + 30*time.Minute, "5h30m"},
		{8*time.Hour + 30*time.Minute, "8h"},
		{36 * time.Hour, "36h"},
		{48 * time.Hour, "2d"},
		{3*24*time.Hour + 4*time.Hour, "3d4h"},
		{8*24*time.Hour + 5*time.Hour, "8d"},
		{30 * 24 * time.Hour, "30d"},
		{400 * 24 * time.Hour, "400d"},
		{2 * 365 * 24 * time.Hour, "2y"},
		{(2*365 + 30) * 24 * time.Hour, "2y30d"},
		{10 * 365 * 24 * time.Hour, "10y"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			if got := humanAge(tt.d); got != tt.want {
				t.Errorf("humanAge(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
	if got := ageSince(time.Time{}, testNow); got != "<unknown>" {
		t.Errorf("ageSince(zero) = %q, want <unknown>", got)
	}
}

// The cluster DNS Service reconcile declares, beside a headless and an
// ExternalName Service, as get and describe show them: kube-dns's endpoints
// are the DNS address on every host.
func TestClusterDNSServices(t *testing.T) {
	cluster := &resources.Cluster{ObjectMeta: resources.ObjectMeta{Name: "lab"}, Spec: resources.ClusterSpec{ServiceCIDR: "198.19.0.0/16",
		Nodes: []resources.Node{{Name: "node-1"}, {Name: "node-2"}, {Name: "node-3"}}}}
	dns, err := resources.ClusterDNSService(cluster)
	if err != nil {
		t.Fatal(err)
	}
	state := func(s *resources.Service, clusterIP string) reconcile.ServiceState {
		s.Default()
		st := reconcile.ServiceState{Service: s, ClusterIP: clusterIP, Created: testNow.Add(-2 * time.Hour)}
		for _, p := range s.Spec.Ports {
			st.Ports = append(st.Ports, reconcile.PortEndpoints{Port: p})
		}
		return st
	}
	services := []reconcile.ServiceState{
		state(&resources.Service{ObjectMeta: resources.ObjectMeta{Name: "db", Namespace: "default"},
			Spec: resources.ServiceSpec{ClusterIP: "None", Selector: map[string]string{"app": "db"}, Ports: []resources.ServicePort{{Name: "sql", Port: 5432}}}}, ""),
		state(&resources.Service{ObjectMeta: resources.ObjectMeta{Name: "ext", Namespace: "default"},
			Spec: resources.ServiceSpec{Type: resources.ServiceTypeExternalName, ExternalName: "db.example.org"}}, ""),
		state(dns, "198.19.0.10"),
	}
	st := &reconcile.Status{Services: services, Endpoints: reconcile.BuildEndpoints(cluster, services)}
	for _, tt := range []struct {
		name  string
		flags readFlags
	}{
		{"services-kube-system", readFlags{namespace: "kube-system"}},
		{"services-dns-all-namespaces", readFlags{allNamespaces: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			v := view{status: st, flags: &tt.flags, now: testNow}
			if err := v.printServices(&out); err != nil {
				t.Fatal(err)
			}
			golden(t, "get/"+tt.name, out.String())
		})
	}
	for _, tt := range []struct {
		name  string
		flags readFlags
	}{
		{"endpoints-kube-system", readFlags{namespace: "kube-system"}},
		{"endpoints-dns-all-namespaces", readFlags{allNamespaces: true}},
		{"endpoints-kube-dns-json", readFlags{namespace: "kube-system", output: "json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			v := view{status: st, flags: &tt.flags, now: testNow}
			if err := v.printEndpoints(&out); err != nil {
				t.Fatal(err)
			}
			golden(t, "get/"+tt.name, out.String())
		})
	}
	for _, s := range services {
		t.Run("describe-"+s.Service.Name, func(t *testing.T) {
			v := view{status: st, flags: &readFlags{namespace: s.Service.Namespace}, now: testNow}
			e, _ := v.endpointsOf(s.Service.Namespace, s.Service.Name)
			var out bytes.Buffer
			describeService(&out, s, e)
			golden(t, "describe/"+s.Service.Namespace+"-"+s.Service.Name, out.String())
		})
	}
}

func TestBinaryBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 1023: "1023", 1024: "1Ki", 1536: "1.5Ki", 12 << 20: "12Mi", 3<<30 + 1<<29: "3.5Gi", 1 << 50: "1Pi"} {
		if got := binaryBytes(n); got != want {
			t.Errorf("binaryBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
