package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/reconcile"
)

// readFlags are shared by get and describe.
type readFlags struct {
	hosts         hostFlags
	namespace     string
	allNamespaces bool
	selector      string
	output        string
}

func (f *readFlags) register(cmd *cobra.Command, outputs string) {
	f.hosts.register(cmd)
	cmd.Flags().StringVarP(&f.namespace, "namespace", "n", "default", "namespace to show")
	cmd.Flags().BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "show every namespace")
	cmd.Flags().StringVarP(&f.selector, "selector", "l", "", "label selector, e.g. run=my-nginx")
	if outputs != "" {
		cmd.Flags().StringVarP(&f.output, "output", "o", "", "output format: "+outputs)
	}
}

func (f *readFlags) inNamespace(ns string) bool { return f.allNamespaces || ns == f.namespace }

type getOptions struct {
	ios  *IOStreams
	read readFlags
	now  func() time.Time
}

// resource kinds get and describe accept, with kubectl's aliases.
var kindAliases = map[string]string{
	"pod": "pods", "pods": "pods", "po": "pods",
	"deployment": "deployments", "deployments": "deployments", "deploy": "deployments", "deployment.apps": "deployments", "deployments.apps": "deployments",
	"daemonset": "daemonsets", "daemonsets": "daemonsets", "ds": "daemonsets", "daemonset.apps": "daemonsets", "daemonsets.apps": "daemonsets",
	"service": "services", "services": "services", "svc": "services",
	"endpoints": "endpoints", "ep": "endpoints",
	"configmap": "configmaps", "configmaps": "configmaps", "cm": "configmaps",
	"secret": "secrets", "secrets": "secrets",
	"namespace": "namespaces", "namespaces": "namespaces", "ns": "namespaces",
	"persistentvolumeclaim": "persistentvolumeclaims", "persistentvolumeclaims": "persistentvolumeclaims", "pvc": "persistentvolumeclaims",
}

func newGetCmd(ios *IOStreams) *cobra.Command {
	o := &getOptions{ios: ios, now: time.Now}
	cmd := &cobra.Command{
		Use:   "get (pods|deployments|ds|svc|ep|cm|secrets|ns|pvc) [NAME]",
		Short: "List pods, deployments, daemonsets, services, endpoints, configmaps, secrets, namespaces or persistentvolumeclaims",
		Example: `  reconcile get pods -l run=my-nginx -o wide -f examples/nginx
  reconcile get svc my-nginx -f examples/nginx
  reconcile get ep my-nginx -o json -f examples/nginx
  reconcile get secrets -A -f examples/nginx
  reconcile get pvc -o wide -f examples/nginx`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error { return runGet(cmd, o, args) },
	}
	o.read.register(cmd, "wide, json, yaml or name")
	return cmd
}

func runGet(cmd *cobra.Command, o *getOptions, args []string) error {
	kind, ok := kindAliases[strings.ToLower(args[0])]
	if !ok {
		return flagErrorf("unknown resource type %q: use pods, deployments, ds, svc, ep, cm, secrets, ns or pvc", args[0])
	}
	name := ""
	if len(args) == 2 {
		name = args[1]
	}
	sel, err := parseSelector(o.read.selector)
	if err != nil {
		return err
	}
	switch o.read.output {
	case "", "wide", "json", "yaml", "name":
	default:
		return flagErrorf("unknown output format %q: use wide, json, yaml or name", o.read.output)
	}
	// Only get pvc has the agents measure the claim volumes.
	st, err := readStatusWith(cmd, o.ios, &o.read.hosts, reconcile.StatusOptions{ClaimUsage: kind == "persistentvolumeclaims"})
	if err != nil {
		return err
	}
	v := view{status: st, flags: &o.read, sel: sel, name: name, now: o.now(), errOut: o.ios.ErrOut}
	switch kind {
	case "pods":
		err = v.printPods(o.ios.Out)
	case "deployments":
		err = v.printDeployments(o.ios.Out)
	case "daemonsets":
		err = v.printDaemonSets(o.ios.Out)
	case "services":
		err = v.printServices(o.ios.Out)
	case "endpoints":
		err = v.printEndpoints(o.ios.Out)
	case "configmaps":
		err = v.printConfigMaps(o.ios.Out)
	case "secrets":
		err = v.printSecrets(o.ios.Out)
	case "namespaces":
		err = v.printNamespaces(o.ios.Out)
	case "persistentvolumeclaims":
		err = v.printClaims(o.ios.Out)
	}
	if err != nil {
		return err
	}
	return unreachableExit(o.ios, st)
}

// readStatus connects and reads the live state; unreachable hosts are
// reported on ErrOut and make the command exit non-zero after printing.
func readStatus(cmd *cobra.Command, ios *IOStreams, f *hostFlags) (*reconcile.Status, error) {
	return readStatusWith(cmd, ios, f, reconcile.StatusOptions{})
}

func readStatusWith(cmd *cobra.Command, ios *IOStreams, f *hostFlags, o reconcile.StatusOptions) (*reconcile.Status, error) {
	ctx, c, done, err := f.connected(cmd, ios)
	if err != nil {
		return nil, err
	}
	defer done()
	return reconcile.ReadStatusWith(ctx, c.desired, c.hosts, c.unreachable, o)
}

func unreachableExit(ios *IOStreams, st *reconcile.Status) error {
	if len(st.Unreachable) == 0 {
		return nil
	}
	return fmt.Errorf("%w (its pods are not shown)", reconcile.Unreachable(st.Unreachable))
}
