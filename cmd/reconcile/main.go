// Command reconcile converges Docker hosts to the Kubernetes manifests in a
// git repository. All logic lives in the packages; main only wires the
// process's streams and exit code.
package main

import (
	"os"

	"github.com/reconcile-dev/reconcile/cmd/reconcile/cli"
)

func main() {
	tuneGC(os.Args[1:])
	stop := startProfile()
	code := cli.Run(os.Args[1:], cli.System())
	stop()
	os.Exit(code)
}
