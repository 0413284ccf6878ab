package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/reconcile"
)

type describeOptions struct {
	ios  *IOStreams
	read readFlags
}

func newDescribeCmd(ios *IOStreams) *cobra.Command {
	o := &describeOptions{ios: ios}
	cmd := &cobra.Command{
		Use:     "describe svc NAME",
		Short:   "Show a Service in detail, with its ClusterIP and endpoints",
		Example: `  reconcile describe svc my-nginx -f examples/nginx`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if kindAliases[strings.ToLower(args[0])] != "services" {
				return flagErrorf("describe supports services (svc), got %q", args[0])
			}
			st, err := readStatus(cmd, o.ios, &o.read.hosts)
			if err != nil {
				return err
			}
			v := view{status: st, flags: &o.read, name: args[1], now: time.Now()}
			svcs := v.services()
			if len(svcs) == 0 {
				return fmt.Errorf("service %q not found in namespace %q", args[1], o.read.namespace)
			}
			for i, s := range svcs {
				if i > 0 {
					fmt.Fprintln(o.ios.Out)
				}
				e, _ := v.endpointsOf(s.Service.Namespace, s.Service.Name)
				describeService(o.ios.Out, s, e)
			}
			return unreachableExit(o.ios, st)
		},
	}
	o.read.register(cmd, "")
	return cmd
}

func mapText(m map[string]string, sep string) string {
	if len(m) == 0 {
		return "<none>"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, sep)
}

// describeService prints kubectl describe svc's layout: the values line
// up two spaces after the longest field name, as kubectl's tabwriter does.
func describeService(w io.Writer, s reconcile.ServiceState, e reconcile.Endpoints) {
	spec := s.Service.Spec
	type line struct {
		name, value string
		lines       map[string]string // a map, one key=value per line
	}
	var fields []line
	field := func(name, value string) { fields = append(fields, line{name: name + ":", value: value}) }
	field("Name", s.Service.Name)
	field("Namespace", s.Service.Namespace)
	fields = append(fields, line{name: "Labels:", lines: s.Service.Labels}, line{name: "Annotations:", lines: s.Service.Annotations})
	field("Selector", mapText(spec.Selector, ","))
	field("Type", spec.Type)
	field("IP", clusterIP(s))
	if spec.ExternalName != "" {
		field("External Name", spec.ExternalName)
	}
	if len(s.Ingress) > 0 {
		field("LoadBalancer Ingress", strings.Join(s.Ingress, ", "))
	}
	for _, p := range s.Ports {
		name := p.Port.Name
		if name == "" {
			name = "<unset>"
		}
		field("Port", fmt.Sprintf("%s  %d/%s", name, p.Port.Port, p.Port.Protocol))
		tp := p.Port.TargetPort.String()
		if p.Port.TargetPort.IsZero() {
			tp = fmt.Sprint(p.Port.Port)
		}
		field("TargetPort", fmt.Sprintf("%s/%s", tp, p.Port.Protocol))
		if p.NodePort != 0 {
			field("NodePort", fmt.Sprintf("%s  %d/%s", name, p.NodePort, p.Port.Protocol))
		}
		field("Endpoints", portEndpoints(e, p.Port.Name))
	}
	affinity := spec.SessionAffinity
	if affinity == "" {
		affinity = "None"
	}
	field("Session Affinity", affinity)
	if policy := s.Service.TrafficPolicy(); policy != "" {
		field("External Traffic Policy", policy)
	}
	if len(spec.LoadBalancerSourceRanges) > 0 {
		field("LoadBalancer Source Ranges", strings.Join(spec.LoadBalancerSourceRanges, ", "))
	}
	field("Events", "<none>")
	width := 0
	for _, f := range fields {
		width = max(width, len(f.name)+2)
	}
	for _, f := range fields {
		v := f.value
		if v == "" {
			v = mapText(f.lines, "\n"+strings.Repeat(" ", width))
		}
		fmt.Fprintf(w, "%-*s%s\n", width, f.name, v)
	}
}

// portEndpoints lists the ready addresses serving one named port.
func portEndpoints(e reconcile.Endpoints, portName string) string {
	var list []string
	for _, ss := range e.Subsets {
		for _, p := range ss.Ports {
			if p.Name != portName {
				continue
			}
			for _, a := range ss.Addresses {
				list = append(list, fmt.Sprintf("%s:%d", a.IP, p.Port))
			}
		}
	}
	if len(list) == 0 {
		return "<none>"
	}
	sort.Strings(list)
	return strings.Join(list, ",")
}
