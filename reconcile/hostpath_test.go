package reconcile

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/resources"
)

// hostPathRefusingHost is a fake host whose agent refuses one hostPath
// (as a real one does when it resolves to a symlink out of the
// allow-list), answering the rest of the apply as usual.
type hostPathRefusingHost struct {
	*fakeHost
	refused string
}

func (h hostPathRefusingHost) NodeApply(ctx context.Context, c rnet.NodeConfig, dryRun bool) (*rnet.Result, error) {
	res, err := h.fakeHost.NodeApply(ctx, c, dryRun)
	if err != nil {
		return res, err
	}
	for _, hp := range c.HostPaths {
		if hp.Path == h.refused {
			res.HostPathProblems = append(res.HostPathProblems, rnet.HostPathProblem{Path: hp.Path, Problem: "resolves to /etc, outside the Cluster's hostPathAllowList; refused"})
		}
	}
	return res, nil
}

// A hostPath the agent refuses fails the pods that mount it, reported as
// theirs; the host's network apply and its other pods go on.
func TestApplyRefusedHostPathIsThePodsProblem(t *testing.T) {
	hosts, fs := fakeHosts()
	for _, f := range fs {
		hosts[f.name] = hostPathRefusingHost{f, "/srv/data/link"}
	}
	dir := t.TempDir()
	cluster := strings.Replace(testCluster, "spec:\n", "spec:\n  hostPathAllowList: [/srv/data]\n", 1)
	withHostPath := strings.Replace(deployment("logs", "nginx", 2, ""), "      containers:\n", `      volumes:
      - {name: host, hostPath: {path: /srv/data/link}}
      containers:
`, 1)
	for i, doc := range []string{cluster, deployment("web", "nginx", 3, ""), withHostPath} {
		if err := os.WriteFile(filepath.Join(dir, "m"+itoa(i)+".yaml"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := resources.Load(dir)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	d := &Desired{Set: set, Dir: dir}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Apply(ctx, d, hosts, map[string]error{}, ApplyOptions{Prune: true, PollInterval: time.Millisecond, CreateBackoff: time.Millisecond})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if len(res.Unreachable) > 0 {
		t.Errorf("hosts failed for a pod's hostPath: %+v", res.Unreachable)
	}
	if got := strings.Join(nodesOf(fs, "web"), ","); got != "node-1,node-2,node-3" {
		t.Errorf("web: pods on %s, want one per node", got)
	}
	if got := nodesOf(fs, "logs"); len(got) != 0 {
		t.Errorf("logs: pods created on %v despite the refused hostPath", got)
	}
	if len(res.Failures) == 0 {
		t.Fatal("no failure reported for the refused hostPath")
	}
	for _, f := range res.Failures {
		if f.Deployment != "logs" || f.Node == "" || !strings.HasPrefix(f.Pod, "logs-") ||
			!strings.Contains(f.Reason, `volume "host": hostPath /srv/data/link: resolves to /etc`) {
			t.Errorf("failure %+v: want the logs pod, its node and the agent's refusal", f)
		}
	}
}
