package reconcile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// labelledCluster is testCluster with node labels, so the fixtures cannot drift.
var labelledCluster = strings.NewReplacer(
	"address: 198.51.100.11}", `address: 198.51.100.11, labels: {disk: ssd, cores: "8"}}`,
	"address: 198.51.100.12}", `address: 198.51.100.12, labels: {disk: hdd, cores: "2"}}`,
	"address: 198.51.100.13}", `address: 198.51.100.13, labels: {disk: ssd, cores: "4"}}`,
).Replace(testCluster)

func TestPlacement(t *testing.T) {
	cases := []struct {
		name      string
		replicas  int
		spec      string // spliced into the pod spec
		want      map[string]int
		unsched   int
		reasonHas string
	}{
		{"spread", 3, "", map[string]int{"node-1": 1, "node-2": 1, "node-3": 1}, 0, ""},
		{"nodeSelector", 4, "      nodeSelector: {disk: ssd}\n", map[string]int{"node-1": 2, "node-3": 2}, 0, ""},
		{"unsatisfiable", 1, "      nodeSelector: {disk: nvme}\n", map[string]int{}, 1, "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."},
		{"affinity Gt", 2, `      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions: [{key: cores, operator: Gt, values: ["3"]}]
`, map[string]int{"node-1": 1, "node-3": 1}, 0, ""},
		{"affinity NotIn", 2, `      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions: [{key: disk, operator: NotIn, values: [ssd]}]
`, map[string]int{"node-2": 2}, 0, ""},
		{"preferred", 2, `      affinity:
        nodeAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 50
            preference: {matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [node-2]}]}
`, map[string]int{"node-2": 2}, 0, ""},
		{"anti-affinity", 4, `      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - topologyKey: kubernetes.io/hostname
            labelSelector: {matchLabels: {run: web}}
`, map[string]int{"node-1": 1, "node-2": 1, "node-3": 1}, 1, "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."},
		{"spread on label", 4, `      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: disk
        whenUnsatisfiable: DoNotSchedule
        labelSelector: {matchLabels: {run: web}}
`, map[string]int{"node-1": 1, "node-2": 2, "node-3": 1}, 0, ""},
		{"mixed reasons", 1, `      nodeSelector: {disk: ssd}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions: [{key: cores, operator: Lt, values: ["4"]}]
`, map[string]int{}, 1, "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dep := strings.Replace(deployment("web", "nginx:1.27", c.replicas, ""), "    spec:\n", "    spec:\n"+c.spec, 1)
			dir := t.TempDir()
			for name, doc := range map[string]string{"cluster.yaml": labelledCluster, "web.yaml": dep} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			set, err := resources.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			d := &Desired{Set: set}
			obs := &Observed{Pods: map[string][]runtime.Pod{"node-1": nil, "node-2": nil, "node-3": nil}}
			actions, st := Step(d.Deployments, d.Cluster, obs, false, true)
			got := map[string]int{}
			for _, a := range actions {
				got[a.Node]++
			}
			for n, w := range c.want {
				if got[n] != w {
					t.Errorf("node %s: %d pods, want %d (all: %v)", n, got[n], w, got)
				}
			}
			if len(actions) != c.replicas-c.unsched {
				t.Errorf("%d creates, want %d", len(actions), c.replicas-c.unsched)
			}
			if st[0].Unschedulable != c.unsched || (c.reasonHas != "" && st[0].Reason != c.reasonHas) {
				t.Errorf("unschedulable %d %q, want %d %q", st[0].Unschedulable, st[0].Reason, c.unsched, c.reasonHas)
			}
		})
	}
}
