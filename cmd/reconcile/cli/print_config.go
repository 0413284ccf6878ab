package cli

import (
	"fmt"
	"io"

	"github.com/reconcile-dev/reconcile/resources"
)

// get configmaps, secrets and namespaces: kubectl's columns. These objects
// live only in the manifests (the hosts hold the files of mounted ones and
// record no creation time), so AGE is <unknown>, as kubectl says for an
// object without a creationTimestamp.

func (v *view) printConfigMaps(w io.Writer) error {
	var cms []*resources.ConfigMap
	for _, c := range v.status.ConfigMaps {
		if v.keep(c.Namespace, c.Name, c.Labels) {
			cms = append(cms, c)
		}
	}
	if len(cms) == 0 {
		return v.empty(w, "configmap")
	}
	if v.structured() {
		items := make([]any, 0, len(cms))
		for _, c := range cms {
			items = append(items, c)
		}
		return v.printObjects(w, items)
	}
	t := newTable(w)
	v.row(t, "NAMESPACE", "NAME", "DATA", "AGE")
	for _, c := range cms {
		v.row(t, c.Namespace, c.Name, fmt.Sprint(len(c.Data)+len(c.BinaryData)), ageSince(zeroTime, v.now))
	}
	return t.Flush()
}

// printSecrets never shows a value: objects are resources.MaskedSecret.
func (v *view) printSecrets(w io.Writer) error {
	var secs []*resources.Secret
	for _, s := range v.status.Secrets {
		if v.keep(s.Namespace, s.Name, s.Labels) {
			secs = append(secs, s)
		}
	}
	if len(secs) == 0 {
		return v.empty(w, "secret")
	}
	if v.structured() {
		items := make([]any, 0, len(secs))
		for _, s := range secs {
			items = append(items, s.Masked())
		}
		return v.printObjects(w, items)
	}
	t := newTable(w)
	v.row(t, "NAMESPACE", "NAME", "TYPE", "DATA", "AGE")
	for _, s := range secs {
		v.row(t, s.Namespace, s.Name, s.Type, fmt.Sprint(len(s.Data)), ageSince(zeroTime, v.now))
	}
	return t.Flush()
}

// printNamespaces lists the declared Namespaces. They are cluster-scoped:
// -n and -A do not filter them and there is no NAMESPACE column.
func (v *view) printNamespaces(w io.Writer) error {
	var nss []*resources.Namespace
	for _, n := range v.status.Namespaces {
		if (v.name == "" || v.name == n.Name) && v.sel.matches(n.Labels) {
			nss = append(nss, n)
		}
	}
	if len(nss) == 0 {
		if v.name != "" {
			return fmt.Errorf("namespace %q not found", v.name)
		}
		if v.flags.output == "json" || v.flags.output == "yaml" {
			return v.printObjects(w, []any{})
		}
		fmt.Fprintln(v.errOut, "No resources found")
		return nil
	}
	if v.structured() {
		items := make([]any, 0, len(nss))
		for _, n := range nss {
			items = append(items, map[string]any{"apiVersion": n.APIVersion, "kind": n.Kind, "metadata": n.ObjectMeta,
				"status": map[string]any{"phase": "Active"}})
		}
		return v.printObjects(w, items)
	}
	t := newTable(w)
	fmt.Fprintln(t, "NAME\tSTATUS\tAGE")
	for _, n := range nss {
		fmt.Fprintf(t, "%s\tActive\t%s\n", n.Name, ageSince(zeroTime, v.now))
	}
	return t.Flush()
}
