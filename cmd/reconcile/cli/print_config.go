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
	return printList(v, w, v.status.ConfigMaps, listing[*resources.ConfigMap]{
		kind:   "configmap",
		keep:   func(c *resources.ConfigMap) bool { return v.keep(c.Namespace, c.Name, c.Labels) },
		object: func(c *resources.ConfigMap) any { return c },
		head:   []string{"NAME", "DATA", "AGE"},
		row: func(c *resources.ConfigMap) (string, []string) {
			return c.Namespace, []string{c.Name, fmt.Sprint(len(c.Data) + len(c.BinaryData)), ageSince(zeroTime, v.now)}
		},
	})
}

// printSecrets never shows a value: objects are resources.MaskedSecret.
func (v *view) printSecrets(w io.Writer) error {
	return printList(v, w, v.status.Secrets, listing[*resources.Secret]{
		kind:   "secret",
		keep:   func(s *resources.Secret) bool { return v.keep(s.Namespace, s.Name, s.Labels) },
		object: func(s *resources.Secret) any { return s.Masked() },
		head:   []string{"NAME", "TYPE", "DATA", "AGE"},
		row: func(s *resources.Secret) (string, []string) {
			return s.Namespace, []string{s.Name, s.Type, fmt.Sprint(len(s.Data)), ageSince(zeroTime, v.now)}
		},
	})
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
