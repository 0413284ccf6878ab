package runtime

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/reconcile-dev/reconcile/integration/lab"
	"github.com/reconcile-dev/reconcile/integration/labtest"
	"github.com/reconcile-dev/reconcile/resources"
)

// labNode dials a host of the lab the way the product does.
func labNode(t *testing.T, l *lab.Lab, name string) *Host {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h, err := Dial(ctx, Target{Name: name, SSH: name}, SSHOptions{
		ConfigFile:     l.SSHConfig,
		KeyFiles:       []string{l.KeyFile},
		KnownHostsFile: l.KnownHosts,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// buildProbe builds the static stand-in for `reconcile probe`.
func buildProbe(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "probe")
	cmd := exec.Command("go", "build", "-o", out, "./probe/testdata/probecmd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build probe: %v\n%s", err, b)
	}
	return out
}

func TestPodsOnLab(t *testing.T) {
	if testing.Short() {
		t.Skip("lab test")
	}
	const node, subnet = "node-3", "198.18.3.0/24"
	h := labNode(t, labtest.Up(t, 3), node)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := NewPods(node, h.Docker())

	created, err := p.EnsureNetwork(ctx, lab.ClusterName, subnet)
	if err != nil {
		t.Fatal(err)
	}
	if created {
		// Only a network this test made goes away with it.
		t.Cleanup(func() {
			if err := h.Docker().NetworkRemove(context.Background(), PodNetwork); err != nil {
				t.Errorf("remove %s: %v", PodNetwork, err)
			}
		})
	}
	if again, err := p.EnsureNetwork(ctx, lab.ClusterName, subnet); err != nil || again {
		t.Fatalf("second EnsureNetwork = %v, %v; want false, nil", again, err)
	}
	if _, err := p.EnsureNetwork(ctx, lab.ClusterName, "198.18.99.0/24"); err == nil || !strings.Contains(err.Error(), "has subnet 198.18.3.0/24") {
		t.Errorf("EnsureNetwork with another subnet: %v", err)
	}
	nw, err := h.Docker().NetworkInspect(ctx, PodNetwork, network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if nw.Options[optMasquerade] != "false" || nw.Options[optBridgeName] != PodBridge || nw.IPAM.Config[0].Gateway != "198.18.3.1" {
		t.Errorf("network options %v, IPAM %+v", nw.Options, nw.IPAM.Config)
	}

	probeBin, err := h.EnsureBinary(ctx, buildProbe(t))
	if err != nil {
		t.Fatal(err)
	}

	spec := func(deployment string, env ...resources.EnvVar) PodSpec {
		return PodSpec{
			Cluster: lab.ClusterName, Namespace: "runtime-test", Deployment: deployment, TemplateHash: "abc123",
			Name:   PodName(deployment, "abc123"),
			Labels: map[string]string{"run": deployment},
			Container: resources.Container{
				Name:  deployment,
				Image: "nginx",
				Env:   env,
				Ports: []resources.ContainerPort{{Name: "http", ContainerPort: 80}},
				ReadinessProbe: &resources.Probe{
					ProbeHandler:     resources.ProbeHandler{HTTPGet: &resources.HTTPGetAction{Path: "/healthz", Port: resources.FromString("http")}},
					PeriodSeconds:    1,
					FailureThreshold: 1,
				},
				Resources: resources.ResourceRequirements{
					Limits:   resources.ResourceList{"cpu": {Raw: "500m"}, "memory": {Raw: "64Mi"}},
					Requests: resources.ResourceList{"cpu": {Raw: "100m"}, "memory": {Raw: "32Mi"}},
				},
			},
			ExtraEnv:               []string{"RUNTIME_TEST=1"},
			ProbeBinary:            probeBin,
			TerminationGracePeriod: time.Second,
		}
	}
	create := func(s PodSpec) Pod {
		t.Helper()
		pod, err := p.Create(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := p.Delete(context.Background(), pod.ID, time.Second); err != nil {
				t.Error(err)
			}
		})
		return pod
	}

	start := time.Now()
	good := create(spec("rt-good"))
	t.Logf("first pod created in %s", time.Since(start).Round(time.Millisecond))
	// nginx (untagged) defaults to Always; the lab has no registry, so the
	// pull fails and the local image is used with a warning.
	if len(good.Warnings) != 1 || !strings.Contains(good.Warnings[0], "could not pull image nginx, using the copy already on the host") {
		t.Errorf("warnings %q; want one about the failed pull", good.Warnings)
	}
	bad := create(spec("rt-bad", resources.EnvVar{Name: "FAIL_READY", Value: "1"}))
	if good.IP == bad.IP || !strings.HasPrefix(good.IP, "198.18.3.") || !strings.HasPrefix(bad.IP, "198.18.3.") {
		t.Fatalf("pod IPs %s and %s; want two distinct addresses in %s", good.IP, bad.IP, subnet)
	}

	// Readiness follows the probe: one pod becomes ready, the other not.
	var pods map[string]Pod
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := p.List(ctx, lab.ClusterName)
		if err != nil {
			t.Fatal(err)
		}
		pods = map[string]Pod{}
		for _, pod := range list {
			pods[pod.ID] = pod
		}
		if pods[good.ID].Ready && pods[bad.ID].Health == HealthUnhealthy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("good pod %+v, bad pod %+v; want ready and unhealthy", pods[good.ID], pods[bad.ID])
		}
		time.Sleep(300 * time.Millisecond)
	}
	if pods[bad.ID].Ready || pods[good.ID].IP != good.IP || pods[good.ID].Labels["run"] != "rt-good" {
		t.Errorf("listed %+v", pods)
	}

	// Pod to pod on one host: no NAT, the caller's pod IP arrives.
	out, code, err := podExec(ctx, h.Docker(), good.ID, []string{"/podserver", "get", "http://" + bad.IP + ":80/"})
	if err != nil || code != 0 {
		t.Fatalf("exec: %v, exit %d, %q", err, code, out)
	}
	if !strings.Contains(out, "hostname="+bad.Name) || !strings.Contains(out, "client="+good.IP+":") {
		t.Errorf("pod-to-pod answer %q; want hostname=%s and client=%s", out, bad.Name, good.IP)
	}
	if _, code, err := podExec(ctx, h.Docker(), good.ID, []string{"/podserver", "get", "http://" + bad.IP + ":80/healthz"}); err != nil || code != 1 {
		t.Errorf("exec of a failing command: exit %d, %v; want 1, nil", code, err)
	}

	in, err := p.Inspect(ctx, bad.ID)
	if err != nil {
		t.Fatal(err)
	}
	if in.Started.IsZero() || in.State != "running" || in.Restarts != 0 {
		t.Errorf("inspect %+v", in)
	}
	raw, err := h.Docker().ContainerInspect(ctx, bad.ID)
	if err != nil {
		t.Fatal(err)
	}
	r := raw.HostConfig.Resources
	if r.NanoCPUs != 500_000_000 || r.Memory != 64<<20 || r.CPUShares != 102 || r.MemoryReservation != 32<<20 {
		t.Errorf("resources %+v", r)
	}
	if raw.Config.Hostname != bad.Name || raw.HostConfig.RestartPolicy.Name != "no" || raw.Config.Labels[LabelRestartPolicy] != RestartAlways {
		t.Errorf("hostname %q restart %q", raw.Config.Hostname, raw.HostConfig.RestartPolicy.Name)
	}

	if _, err := p.Logs(ctx, good.ID, 10); err != nil {
		t.Error(err)
	}

	for _, pod := range []Pod{good, bad} {
		if err := p.Delete(ctx, pod.ID, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	list, err := p.List(ctx, lab.ClusterName)
	if err != nil {
		t.Fatal(err)
	}
	for _, pod := range list {
		if pod.ID == good.ID || pod.ID == bad.ID {
			t.Errorf("pod %s still listed after delete", pod.Name)
		}
	}
}

// podExec runs a command in a pod and returns its stdout and exit code. A
// command that ran and failed is not an error.
func podExec(ctx context.Context, api *client.Client, id string, cmd []string) (stdout string, exit int, err error) {
	ex, err := api.ContainerExecCreate(ctx, id, container.ExecOptions{AttachStdout: true, AttachStderr: true, Cmd: cmd})
	if err != nil {
		return "", -1, fmt.Errorf("exec %q in pod %s: %w", cmd, id, err)
	}
	att, err := api.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return "", -1, fmt.Errorf("exec %q in pod %s: attach: %w", cmd, id, err)
	}
	defer att.Close()
	var outBuf, errBuf bytes.Buffer
	if _, err := stdcopy.StdCopy(&outBuf, &errBuf, att.Reader); err != nil {
		return outBuf.String(), -1, fmt.Errorf("exec %q in pod %s: read output: %w", cmd, id, err)
	}
	// The output ends a moment before Docker records the exit code.
	for {
		st, err := api.ContainerExecInspect(ctx, ex.ID)
		if err != nil {
			return outBuf.String(), -1, fmt.Errorf("exec %q in pod %s: %w", cmd, id, err)
		}
		if !st.Running {
			return outBuf.String(), st.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return outBuf.String(), -1, fmt.Errorf("exec %q in pod %s: %w", cmd, id, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
