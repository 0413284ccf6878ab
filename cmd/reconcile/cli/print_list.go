package cli

import (
	"io"

	"github.com/reconcile-dev/reconcile/reconcile"
)

// listing is one kind's `get`: which objects the flags keep, how each
// prints as an object (-o json|yaml|name) and as a table row. Every kind
// but Namespace (cluster-scoped: -n and -A do not filter it) goes through
// printList, so "No resources found", -o name and the NAMESPACE column
// under -A behave alike for all of them.
type listing[T any] struct {
	kind   string       // as kubectl names it in "not found": "pod", "persistentvolumeclaim"
	keep   func(T) bool // nil: all of them (the caller selected already)
	object func(T) any
	head   []string                   // the table's columns, NAMESPACE left out (row adds it under -A)
	row    func(T) (string, []string) // the object's namespace and its cells
}

func printList[T any](v *view, w io.Writer, all []T, l listing[T]) error {
	var kept []T
	for _, x := range all {
		if l.keep == nil || l.keep(x) {
			kept = append(kept, x)
		}
	}
	if len(kept) == 0 {
		return v.empty(w, l.kind)
	}
	if v.structured() {
		items := make([]any, 0, len(kept))
		for _, x := range kept {
			items = append(items, l.object(x))
		}
		return v.printObjects(w, items)
	}
	t := newTable(w)
	v.row(t, "NAMESPACE", l.head...)
	for _, x := range kept {
		ns, cells := l.row(x)
		v.row(t, ns, cells...)
	}
	return t.Flush()
}

// wide is -o wide: the listing's extra columns.
func (v *view) wide() bool { return v.flags.output == "wide" }

// workloadsOf keeps the workloads of one kind ("" for Deployments, as
// DeploymentView names them) by name and namespace. Their views carry no
// labels, so -l does not filter them.
func (v *view) workloadsOf(kind string) func(reconcile.DeploymentView) bool {
	return func(d reconcile.DeploymentView) bool {
		return d.Kind == kind && v.flags.inNamespace(d.Namespace) && (v.name == "" || v.name == d.Name)
	}
}
