// Package e2e runs the reconcile CLI, built as users get it, against the lab:
// real sshd, dockerd, iptables and routes in network namespaces, and a git
// server on a lab host. One lab serves every test of the package; each test
// declares its whole desired state, so prune leaves only what it asked for.
package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/reconcile-dev/reconcile/integration/labtest"
)

// reconcileBin is the CLI under test, built static like a release. The
// path is per checkout: test binaries of two checkouts on one machine
// build at the same time (only the lab is serialized), and a shared path
// let one run use the other's binary.
var reconcileBin = filepath.Join(os.TempDir(), "reconcile-e2e-"+checkoutID(), "reconcile")

func checkoutID() string {
	wd, _ := os.Getwd()
	sum := sha256.Sum256([]byte(wd))
	return hex.EncodeToString(sum[:6])
}

func TestMain(m *testing.M) {
	if os.Geteuid() == 0 {
		cmd := exec.Command("go", "build", "-trimpath", "-o", reconcileBin, "github.com/reconcile-dev/reconcile/cmd/reconcile")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building reconcile: %v\n%s", err, out)
			os.Exit(2)
		}
	}
	labtest.Main(m)
}
