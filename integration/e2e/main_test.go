// Package e2e runs the reconcile CLI, built as users get it, against the lab:
// real sshd, dockerd, iptables and routes in network namespaces, and a git
// server on a lab host. One lab serves every test of the package; each test
// declares its whole desired state, so prune leaves only what it asked for.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"testing"

	"github.com/reconcile-dev/reconcile/integration/labtest"
)

// reconcileBin is the CLI under test, built static like a release, into
// this checkout's bin/: a path shared by every checkout on the machine
// (the temp dir) let another checkout's test run, which waits for the
// lab's lock but not for this build, replace it in the middle of this one.
var reconcileBin = filepath.Join(os.TempDir(), "reconcile-e2e", "reconcile")

func TestMain(m *testing.M) {
	if os.Geteuid() == 0 {
		_, file, _, _ := goruntime.Caller(0)
		reconcileBin = filepath.Join(filepath.Dir(file), "..", "..", "bin", "e2e", "reconcile")
		cmd := exec.Command("go", "build", "-trimpath", "-o", reconcileBin, "github.com/reconcile-dev/reconcile/cmd/reconcile")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building reconcile: %v\n%s", err, out)
			os.Exit(2)
		}
	}
	labtest.Main(m)
}
