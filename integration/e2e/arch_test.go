package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reconcile-dev/reconcile/integration/lab"
)

// A mixed fleet: node-3 says it is aarch64 (uname -m), and this machine
// runs arm64 executables under qemu-user (binfmt_misc). The CLI must copy
// the arm64 agent there, and that agent must serve the pass: node-3's node
// apply, its cluster DNS server and its pods' probes all run the arm64
// build, while node-1 and node-2 keep the amd64 one.
func TestMixedArchFleet(t *testing.T) {
	e := newEnv(t)
	agents := t.TempDir()
	armAgent := filepath.Join(agents, "reconcile-linux-arm64")
	build := exec.Command("go", "build", "-trimpath", "-o", armAgent, "github.com/reconcile-dev/reconcile/cmd/reconcile")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the arm64 agent: %v\n%s", err, out)
	}
	armSum, amdSum := sum12(t, armAgent), sum12(t, reconcileBin)

	undoEmu, err := lab.EmulateAarch64()
	if err != nil {
		t.Fatal(err)
	}
	emulating := true
	t.Cleanup(func() {
		if emulating {
			if err := undoEmu(); err != nil {
				t.Errorf("undo arm64 emulation: %v", err)
			}
		}
	})
	undoArch, err := e.l.FakeMachine(e.ctx(time.Minute), "node-3", "aarch64")
	if err != nil {
		t.Fatal(err)
	}
	faking := true
	t.Cleanup(func() {
		if faking {
			undoArch()
		}
	})
	if out := e.mustExec("node-3", "uname", "-m"); strings.TrimSpace(out) != "aarch64" {
		t.Fatalf("node-3 uname -m = %q", out)
	}

	// Without an arm64 agent the run names the host and the way out, and
	// still serves the other hosts.
	// An emulated probe (qemu starting a 25 MB Go binary) can take more
	// than the lab's usual 1 s on 2 shared cores.
	mixed := strings.NewReplacer("timeoutSeconds: 1", "timeoutSeconds: 10", "failureThreshold: 1", "failureThreshold: 3").
		Replace(web("mixed", lab.PodserverImage, 3, "", ""))
	e.push(mixed)
	r := e.mustRun(4, e.fromGit("diff")...)
	if want := "no agent for arm64 on node-3: build it with make build or pass --agent-dir"; !strings.Contains(r.stderr, want) {
		t.Errorf("diff without an arm64 agent: want %q in\n%s", want, r)
	}

	e.mustRun(0, e.fromGit("apply", "--agent-dir", agents)...)
	for _, h := range []struct{ node, sum string }{{"node-1", amdSum}, {"node-2", amdSum}, {"node-3", armSum}} {
		dns := e.mustExec(h.node, "docker", "inspect", "-f", "{{.Config.Image}} {{range .Mounts}}{{.Source}} {{end}}", "reconcile-dns")
		if !strings.Contains(dns, h.sum) {
			t.Errorf("%s: the DNS server runs %q, want the agent reconcile-%s", h.node, dns, h.sum)
		}
	}
	if out := e.mustExec("node-3", "ls", "/var/lib/reconcile/bin"); !strings.Contains(out, "reconcile-"+armSum) {
		t.Errorf("node-3 has no arm64 agent reconcile-%s:\n%s", armSum, out)
	}
	// The arm64 agent runs emulated, not natively: node-3's DNS server
	// (the arm64 agent, above) makes some process of this machine a
	// qemu-aarch64 one; only this test registers the emulation.
	if n := emulated(); n == 0 {
		t.Errorf("no qemu-aarch64 process runs: node-3's arm64 DNS server is not emulated")
	}
	// Every pod is ready: on node-3 the readiness probe is the arm64 agent,
	// emulated, so a 1 s probe timeout may miss now and then: wait for it.
	eventually(t, 30*time.Second, func() error {
		r := e.mustRun(0, e.fromGit("get", "pods", "-l", "app=mixed", "-o", "json", "--agent-dir", agents)...)
		var list struct{ Items []pod }
		if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
			t.Fatalf("get pods -o json: %v\n%s", err, r.stdout)
		}
		onArm := 0
		for _, p := range list.Items {
			if !p.ready() {
				return fmt.Errorf("pod %s on %s is not ready", p.Metadata.Name, p.Spec.NodeName)
			}
			if p.Spec.NodeName == "node-3" {
				onArm++
			}
		}
		if len(list.Items) != 3 || onArm == 0 {
			return fmt.Errorf("%d pods, %d on node-3: want 3, one there", len(list.Items), onArm)
		}
		return nil
	})
	// One round trip learns the architecture: a second run is in sync.
	e.mustRun(0, e.fromGit("diff", "--agent-dir", agents)...)

	// Leave node-3 as an amd64 host again before the emulation goes: its
	// DNS server and pods must not run the arm64 build any more.
	faking = false
	if err := undoArch(); err != nil {
		t.Fatal(err)
	}
	e.applyGit(web("other", lab.PodserverImage, 1, "", ""))
	if dns := e.mustExec("node-3", "docker", "inspect", "-f", "{{.Config.Image}} {{range .Mounts}}{{.Source}} {{end}}", "reconcile-dns"); strings.Contains(dns, armSum) {
		t.Errorf("node-3's DNS server still runs the arm64 agent: %s", dns)
	}
	emulating = false
	if err := undoEmu(); err != nil {
		t.Errorf("undo arm64 emulation: %v", err)
	}
}

// sum12 is the hash prefix EnsureBinary names a copy by.
func sum12(t *testing.T, p string) string {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// emulated counts the machine's processes that qemu-aarch64 runs.
func emulated() int {
	n := 0
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if exe, err := os.Readlink(d + "/exe"); err == nil && strings.Contains(exe, "qemu-aarch64") {
			n++
		}
	}
	return n
}
