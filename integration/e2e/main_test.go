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
	"testing"

	"github.com/reconcile-dev/reconcile/integration/labtest"
)

// reconcileBin is the CLI under test, built static like a release. Its
// folder is this run's own: test runs of other checkouts on the machine
// (which wait for the lab's lock, not for this build) would otherwise
// replace it under this one. (labtest.Main exits, so the folder stays
// behind in the temp dir.)
var reconcileBin = filepath.Join(os.TempDir(), "reconcile-e2e", "reconcile")

func TestMain(m *testing.M) {
	if os.Geteuid() == 0 {
		dir, err := os.MkdirTemp("", "reconcile-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		reconcileBin = filepath.Join(dir, "reconcile")
		cmd := exec.Command("go", "build", "-trimpath", "-o", reconcileBin, "github.com/reconcile-dev/reconcile/cmd/reconcile")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building reconcile: %v\n%s", err, out)
			os.Exit(2)
		}
	}
	labtest.Main(m)
}
