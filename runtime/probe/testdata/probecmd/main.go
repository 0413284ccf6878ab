// Command probecmd stands in for `reconcile probe` in tests that run real
// pods before the CLI is built: it is called as `<path> probe <flags>`.
package main

import (
	"os"

	"github.com/reconcile-dev/reconcile/runtime/probe"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "probe" {
		args = args[1:]
	}
	os.Exit(probe.Main(args, os.Stdout, os.Stderr))
}
