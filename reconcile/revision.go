package reconcile

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/reconcile-dev/reconcile/resources"
)

// RevisionFile records on every host which desired state it was last
// converged to. A later pass at the same revision knows that any pod
// missing or stopped was changed by hand: drift, not a new commit.
const RevisionFile = "/var/lib/reconcile/state/revision"

// revision names a desired state: the git commit, or for a local tree a
// hash of its normalized manifests.
func revision(d *Desired) string {
	if d.Set == nil {
		return d.Commit
	}
	d.revOnce.Do(func() { d.rev = computeRevision(d) })
	return d.rev
}

func computeRevision(d *Desired) string {
	if d.Commit != "" {
		return d.Commit
	}
	b, err := resources.Render(d.Set)
	if err != nil {
		return ""
	}
	// Render masks Secret values: their digest stands for them.
	sum := sha256.Sum256(append(b, d.Set.SecretsDigest()...))
	return "tree-" + hex.EncodeToString(sum[:8])
}
