package reconcile

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// daemonSet returns a DaemonSet manifest; strategy and podSpec are
// spliced into its spec and its pod spec.
func daemonSet(name, strategy, podSpec string) string {
	return `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ` + name + `}
spec:
  selector: {matchLabels: {run: ` + name + `}}
` + strategy + `  template:
    metadata: {labels: {run: ` + name + `}}
    spec:
` + podSpec + `      containers:
      - {name: ` + name + `, image: agent:2}
`
}

func TestDaemonSetStep(t *testing.T) {
	loadDS := func(t *testing.T, doc string) *Desired {
		dir := t.TempDir()
		for name, body := range map[string]string{"cluster.yaml": labelledCluster, "ds.yaml": doc} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		set, err := resources.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		return &Desired{Set: set}
	}
	// pods: "node-1=cur+" is a ready pod of the current template on
	// node-1, "node-2=old" an old one that is not ready.
	pods := func(d *resources.Deployment, specs ...string) *Observed {
		obs := &Observed{Pods: map[string][]runtime.Pod{"node-1": nil, "node-2": nil, "node-3": nil}}
		for i, s := range specs {
			node, kind, _ := strings.Cut(s, "=")
			ready := strings.HasSuffix(kind, "+")
			hash := d.TemplateHash()
			if strings.HasPrefix(kind, "old") {
				hash = "0ld"
			}
			obs.Pods[node] = append(obs.Pods[node], runtime.Pod{Name: fmt.Sprintf("agent-%s-%d", hash, i), Namespace: "default",
				Deployment: d.Name, TemplateHash: hash, Node: node, State: "running", Ready: ready})
		}
		return obs
	}
	const ssd = "      nodeSelector: {disk: ssd}\n"
	const surge = "  updateStrategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}\n"
	const onDelete = "  updateStrategy: {type: OnDelete}\n"
	cases := []struct {
		name, strategy, podSpec string
		pods                    []string
		final                   bool
		want                    []string // "create node-1", "delete node-2 (reason)"
		complete                bool
	}{
		{name: "every host", want: []string{"create node-1", "create node-2", "create node-3"}},
		{name: "matching hosts", podSpec: ssd, want: []string{"create node-1", "create node-3"}},
		{name: "settled", podSpec: ssd, pods: []string{"node-1=cur+", "node-3=cur+"}, complete: true},
		{name: "host stops matching", podSpec: ssd, pods: []string{"node-1=cur+", "node-2=cur+", "node-3=cur+"},
			want: []string{"delete node-2 (host no longer matches nodeSelector/affinity)"}},
		{name: "one pod per host", pods: []string{"node-1=cur+", "node-1=cur", "node-2=cur+", "node-3=cur+"},
			want: []string{"delete node-1 (more than one pod on the host)"}},
		{name: "rolling: one host at a time", pods: []string{"node-1=old+", "node-2=old+", "node-3=old+"},
			want: []string{"delete node-1 (replaced by new pod template)"}},
		{name: "rolling: the emptied host gets the new pod", pods: []string{"node-2=old+", "node-3=old+"},
			want: []string{"create node-1"}},
		{name: "rolling: waits for the new pod", pods: []string{"node-1=cur", "node-2=old+", "node-3=old+"}},
		{name: "rolling: old pods that serve nothing go freely", pods: []string{"node-1=cur", "node-2=old", "node-3=old+"},
			want: []string{"delete node-2 (replaced by new pod template)"}},
		{name: "surge: new beside old", strategy: surge, pods: []string{"node-1=old+", "node-2=old+", "node-3=old+"},
			want: []string{"create node-1"}},
		{name: "surge: old goes once new is ready", strategy: surge, pods: []string{"node-1=old+", "node-1=cur+", "node-2=old+", "node-3=old+"},
			want: []string{"delete node-1 (replaced by new pod template)"}},
		{name: "on delete: old pods stay", strategy: onDelete, pods: []string{"node-1=old+", "node-3=old+"},
			want: []string{"create node-2"}},
		{name: "on delete: complete with old pods", strategy: onDelete, pods: []string{"node-1=old+", "node-2=cur+", "node-3=old+"}, complete: true},
		{name: "final replaces everything", final: true, pods: []string{"node-1=old+", "node-2=old+", "node-3=cur+"},
			want: []string{"create node-1", "create node-2", "delete node-1 (replaced by new pod template)", "delete node-2 (replaced by new pod template)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := loadDS(t, daemonSet("agent", c.strategy, c.podSpec))
			obs := pods(d.Deployments[0], c.pods...)
			actions, st := Step(d.Deployments, d.Cluster, obs, false, c.final)
			var got []string
			for _, a := range actions {
				if a.Kind == ActionCreate {
					got = append(got, "create "+a.Node)
				} else {
					got = append(got, "delete "+a.Node+" ("+a.Reason+")")
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("actions:\n got %q\nwant %q", got, c.want)
			}
			if st[0].Complete != c.complete || st[0].Kind != "DaemonSet" {
				t.Errorf("status %+v, want complete %v", st[0], c.complete)
			}
		})
	}
}
