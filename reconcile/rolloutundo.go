package reconcile

import (
	"context"
	"fmt"
)

// UndoTarget picks the revision `rollout undo` goes back to among revs
// (oldest first): toRevision, or with 0 the one before the newest, as
// kubectl does.
func UndoTarget(revs []TemplateRevision, namespace, name string, toRevision int) (TemplateRevision, error) {
	if toRevision < 0 {
		return TemplateRevision{}, &InvalidError{fmt.Errorf("--to-revision %d: must be 0 (the previous revision) or a revision number", toRevision)}
	}
	if toRevision == 0 {
		if len(revs) < 2 {
			return TemplateRevision{}, &InvalidError{fmt.Errorf("deployment %s/%s has no previous revision to go back to (rollout history lists %d)", namespace, name, len(revs))}
		}
		return revs[len(revs)-2], nil
	}
	for _, r := range revs {
		if r.Revision == toRevision {
			return r, nil
		}
	}
	return TemplateRevision{}, &InvalidError{fmt.Errorf("deployment %s/%s: unable to find revision %d (rollout history lists the revisions the hosts keep)", namespace, name, toRevision)}
}

// Undo rolls Deployment namespace/name out with the template of revision
// to, as `kubectl rollout undo` does: apply with that one template
// replaced, so the hosts' revision record still names d, and the history
// gives the template the next revision number. The manifests still declare
// their own template: the next apply or sync rolls it out again.
func Undo(ctx context.Context, d *Desired, hosts map[string]Host, unreachable map[string]error, namespace, name string, to TemplateRevision, o ApplyOptions) (*Result, error) {
	if err := d.RequireCluster(); err != nil {
		return nil, err
	}
	if err := d.withClusterDNS(); err != nil {
		return nil, err
	}
	for i, dep := range d.Deployments {
		if dep.Namespace != namespace || dep.Name != name || dep.DaemonSet != nil {
			continue
		}
		back := *dep
		back.Spec.Template = to.Template
		back.Claims = d.ClaimsOf(&back)
		return Apply(ctx, d.withDeployment(i, &back), hosts, unreachable, o)
	}
	return nil, &NotFoundError{msg: fmt.Sprintf("deployment %s/%s is not declared in the manifests", namespace, name)}
}
