package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reconcile-dev/reconcile/resources"
)

func immutableConfig(color string) string {
	return `apiVersion: v1
kind: ConfigMap
metadata: {name: app}
immutable: true
data: {color: ` + color + `}
`
}

var withConfig = strings.Replace(deployment("web", "nginx", 2, ""), "      containers:\n", `      volumes:
      - {name: conf, configMap: {name: app}}
      containers:
`, 1)

// The pods record the immutable ConfigMap they use; a run whose tree
// changes its data is refused, with the manifest's file and line, before
// anything on the hosts changes, by plan and apply alike.
func TestApplyRefusesChangedImmutableConfigMap(t *testing.T) {
	hosts, fs := fakeHosts()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := ApplyOptions{Prune: true, PollInterval: time.Millisecond}
	if _, err := Apply(ctx, loadDesired(t, immutableConfig("blue"), withConfig), hosts, map[string]error{}, opts); err != nil {
		t.Fatalf("apply: %v", err)
	}
	before := strings.Join(nodesOf(fs, "web"), ",")
	pods := 0
	for _, f := range fs {
		for _, p := range f.pods {
			pods++
			if !strings.HasPrefix(p.Immutable, "ConfigMap/app=") {
				t.Errorf("pod %s records %q", p.Name, p.Immutable)
			}
		}
	}
	configs := len(fs[0].configs)

	changed := loadDesired(t, immutableConfig("red"), withConfig)
	want := "m1.yaml:5: ConfigMap/app: data: the hosts hold other data: field is immutable; delete and recreate, or change its name"
	var list resources.ErrorList
	if _, err := ComputePlan(ctx, changed, hosts, map[string]error{}, true); !errors.As(err, &list) || !strings.Contains(err.Error(), want) {
		t.Errorf("plan: %v, want %q", err, want)
	}
	if _, err := Apply(ctx, changed, hosts, map[string]error{}, opts); !errors.As(err, &list) || !strings.Contains(err.Error(), want) {
		t.Errorf("apply: %v, want %q", err, want)
	}
	n := 0
	for _, f := range fs {
		n += len(f.pods)
	}
	if after := strings.Join(nodesOf(fs, "web"), ","); after != before || n != pods || len(fs[0].configs) != configs {
		t.Errorf("the refused run changed the hosts: pods %s -> %s, %d -> %d, %d network applies -> %d", before, after, pods, n, configs, len(fs[0].configs))
	}
	// Unchanged data passes.
	if _, err := Apply(ctx, loadDesired(t, immutableConfig("blue"), withConfig), hosts, map[string]error{}, opts); err != nil {
		t.Errorf("apply of the same data: %v", err)
	}
}
