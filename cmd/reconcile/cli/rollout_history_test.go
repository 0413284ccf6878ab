package cli

import (
	"bytes"
	"testing"

	"github.com/reconcile-dev/reconcile/reconcile"
)

// TestPrintRolloutHistory pins rollout history's table
// (testdata/rollout-history.golden; -update rewrites it).
func TestPrintRolloutHistory(t *testing.T) {
	var out bytes.Buffer
	printRolloutHistory(&out, "my-nginx", []reconcile.TemplateRevision{
		{Revision: 3, Hash: "a", Commit: "0123456789abcdef0123456789abcdef01234567"},
		{Revision: 4, Hash: "b", Commit: "tree-89abcdef01234567", ChangeCause: "image nginx:1.27"},
		{Revision: 5, Hash: "c"},
	})
	golden(t, "rollout-history", out.String())
}
