package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/reconcile-dev/reconcile/reconcile"
	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// view renders the live state for get, filtered by namespace, selector and
// name, in kubectl's table layout or as Kubernetes objects.
type view struct {
	status *reconcile.Status
	flags  *readFlags
	sel    labelSelector
	name   string
	now    time.Time
	errOut io.Writer // where "No resources found" goes, as kubectl does
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 8, 3, ' ', 0) }

// row writes tab-separated cells, with the NAMESPACE column first under -A.
func (v *view) row(t *tabwriter.Writer, ns string, cells ...string) {
	if v.flags.allNamespaces {
		cells = append([]string{ns}, cells...)
	}
	fmt.Fprintln(t, strings.Join(cells, "\t"))
}

func (v *view) keep(ns, name string, labels map[string]string) bool {
	return v.flags.inNamespace(ns) && (v.name == "" || v.name == name) && v.sel.matches(labels)
}

// empty handles a listing with nothing in it as kubectl get does: a named
// object is an error; -o json|yaml print an empty List; a table prints
// nothing on Out and says so on ErrOut, so a script reading Out sees no rows.
func (v *view) empty(w io.Writer, kind string) error {
	if v.name != "" {
		return fmt.Errorf("%s %q not found in namespace %q", kind, v.name, v.flags.namespace)
	}
	if v.flags.output == "json" || v.flags.output == "yaml" {
		return v.printObjects(w, []any{})
	}
	if v.flags.allNamespaces {
		fmt.Fprintln(v.errOut, "No resources found")
	} else {
		fmt.Fprintf(v.errOut, "No resources found in %s namespace.\n", v.flags.namespace)
	}
	return nil
}

// printObjects prints one object, or a v1 List when no name was given.
func (v *view) printObjects(w io.Writer, items []any) error {
	if v.flags.output == "name" {
		return printNames(w, items)
	}
	var obj any = map[string]any{"apiVersion": "v1", "kind": "List", "items": items, "metadata": map[string]any{"resourceVersion": ""}}
	if v.name != "" && len(items) == 1 {
		obj = items[0]
	}
	if v.flags.output == "yaml" {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	// Not HTML-escaped: a masked value reads <redacted>, as in yaml.
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	return enc.Encode(obj)
}

// structured: print objects (-o json|yaml|name), not a table.
func (v *view) structured() bool {
	return v.flags.output == "json" || v.flags.output == "yaml" || v.flags.output == "name"
}

var zeroTime time.Time // an object the hosts record no creation of

// podStatus is kubectl's STATUS column for one container.
func podStatus(p runtime.Pod) string {
	if p.Reason != "" {
		return p.Reason // a pod that could not be created, e.g. ErrImagePull
	}
	switch p.State {
	case "running":
		return "Running"
	case "restarting":
		return "CrashLoopBackOff"
	case "created":
		return "ContainerCreating"
	case "paused":
		return "Paused"
	case "removing":
		return "Terminating"
	case "exited", "dead":
		if p.ExitCode == 0 {
			return "Completed"
		}
		return "Error"
	}
	return "Unknown"
}

func podPhase(p runtime.Pod) string {
	switch p.State {
	case "running", "restarting", "paused", "removing":
		return "Running"
	case "created":
		return "Pending"
	case "exited", "dead":
		if p.ExitCode == 0 {
			return "Succeeded"
		}
		return "Failed"
	}
	return "Unknown"
}

func (v *view) printPods(w io.Writer) error {
	head := []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}
	if v.wide() {
		head = append(head, "IP", "NODE")
	}
	return printList(v, w, v.status.Pods, listing[runtime.Pod]{
		kind:   "pod",
		keep:   func(p runtime.Pod) bool { return v.keep(p.Namespace, p.Name, p.Labels) },
		object: func(p runtime.Pod) any { return podObject(p) },
		head:   head,
		row: func(p runtime.Pod) (string, []string) {
			cells := []string{p.Name, podReady(p), podStatus(p), restartsCell(p, v.now), ageSince(p.Created, v.now)}
			if v.wide() {
				cells = append(cells, orNone(p.IP), p.Node)
			}
			return p.Namespace, cells
		},
	})
}

// podReady is kubectl's READY column: ready app containers (sidecars
// count, as in Kubernetes) of all of them.
func podReady(p runtime.Pod) string {
	if len(p.Containers) == 0 {
		if p.Ready {
			return "1/1"
		}
		return "0/1"
	}
	n, total := 0, 0
	for _, c := range p.Containers {
		if c.Role == runtime.RoleInit {
			continue
		}
		total++
		if c.Ready && p.State == "running" {
			n++
		}
	}
	return fmt.Sprintf("%d/%d", n, total)
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func boolStatus(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// podObject is a v1 Pod with the fields kubectl users reach for.
func podObject(p runtime.Pod) map[string]any {
	started := p.Started
	if started.IsZero() {
		started = p.Created
	}
	status := map[string]any{
		"phase": podPhase(p),
		"conditions": []any{
			map[string]any{"type": "Ready", "status": boolStatus(p.Ready)},
			map[string]any{"type": "ContainersReady", "status": boolStatus(p.Ready)},
		},
		"containerStatuses": containerStatuses(p, false),
		"startTime":         started.UTC().Format(time.RFC3339),
	}
	if inits := containerStatuses(p, true); len(inits) > 0 {
		status["initContainerStatuses"] = inits
	}
	if p.IP != "" {
		status["podIP"] = p.IP
		status["podIPs"] = []any{map[string]any{"ip": p.IP}}
	}
	return map[string]any{
		"apiVersion": "v1",
		"kind":       "Pod",
		"metadata": map[string]any{
			"name": p.Name, "namespace": p.Namespace, "labels": p.Labels,
			"creationTimestamp": p.Created.UTC().Format(time.RFC3339),
			"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet",
				"name": p.Deployment + "-" + p.TemplateHash, "controller": true}},
		},
		"spec":   podSpecObject(p),
		"status": status,
	}
}

func podSpecObject(p runtime.Pod) map[string]any {
	if len(p.Containers) == 0 {
		return map[string]any{"nodeName": p.Node, "containers": []any{map[string]any{"name": p.Deployment, "image": p.Image}}}
	}
	spec := map[string]any{"nodeName": p.Node}
	var cs, inits []any
	for _, c := range p.Containers {
		o := map[string]any{"name": c.Name, "image": c.Image}
		switch c.Role {
		case runtime.RoleInit:
			inits = append(inits, o)
		case runtime.RoleSidecar:
			o["restartPolicy"] = "Always"
			inits = append(inits, o)
		default:
			cs = append(cs, o)
		}
	}
	spec["containers"] = cs
	if len(inits) > 0 {
		spec["initContainers"] = inits
	}
	return spec
}

// containerStatuses are the pod's app containers' statuses, or with init
// set its init containers' (sidecars included).
func containerStatuses(p runtime.Pod, init bool) []any {
	if len(p.Containers) == 0 {
		if init {
			return nil
		}
		return []any{containerStatus(p)}
	}
	var out []any
	for _, c := range p.Containers {
		isInit := c.Role == runtime.RoleInit || c.Role == runtime.RoleSidecar
		if isInit != init {
			continue
		}
		cs := map[string]any{
			"name": c.Name, "image": c.Image, "ready": c.Ready, "restartCount": c.Restarts,
			"started": c.State == "running", "containerID": "docker://" + c.ID,
		}
		if c.LastState != nil {
			cs["lastState"] = lastStateJSON(c.LastState)
		}
		switch {
		case c.Reason == runtime.ReasonCrashLoopBackOff:
			cs["state"] = map[string]any{"waiting": map[string]any{"reason": c.Reason}}
		case c.State == "running":
			cs["state"] = map[string]any{"running": map[string]any{}}
		case c.State == "exited" || c.State == "dead":
			cs["state"] = map[string]any{"terminated": map[string]any{"exitCode": c.ExitCode}}
		default:
			cs["state"] = map[string]any{"waiting": map[string]any{"reason": c.State}}
		}
		out = append(out, cs)
	}
	return out
}

func containerStatus(p runtime.Pod) map[string]any {
	cs := map[string]any{
		"name": p.Deployment, "image": p.Image, "ready": p.Ready, "restartCount": p.Restarts,
		"started": p.State == "running", "containerID": "docker://" + p.ID,
	}
	if p.LastState != nil {
		cs["lastState"] = lastStateJSON(p.LastState)
	}
	switch {
	case p.Reason == runtime.ReasonCrashLoopBackOff:
		cs["state"] = map[string]any{"waiting": map[string]any{"reason": p.Reason}}
	case p.Reason != "" && !p.Supervised:
		delete(cs, "containerID") // there is no container
		cs["state"] = map[string]any{"waiting": map[string]any{"reason": p.Reason}}
	}
	return cs
}

func (v *view) printDeployments(w io.Writer) error {
	return printList(v, w, v.status.Deployments, listing[reconcile.DeploymentView]{
		kind: "deployment",
		keep: v.workloadsOf(""),
		object: func(d reconcile.DeploymentView) any {
			return map[string]any{
				"apiVersion": "apps/v1", "kind": "Deployment",
				"metadata": map[string]any{"name": d.Name, "namespace": d.Namespace},
				"spec":     map[string]any{"replicas": d.Replicas},
				"status": map[string]any{"replicas": d.Updated + d.Old, "updatedReplicas": d.Updated,
					"readyReplicas": d.Ready, "availableReplicas": d.Available},
			}
		},
		head: []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"},
		row: func(d reconcile.DeploymentView) (string, []string) {
			return d.Namespace, []string{d.Name, fmt.Sprintf("%d/%d", d.Ready, d.Replicas), fmt.Sprint(d.Updated), fmt.Sprint(d.Available), ageSince(d.Created, v.now)}
		},
	})
}

func (v *view) services() []reconcile.ServiceState {
	var out []reconcile.ServiceState
	for _, s := range v.status.Services {
		if v.keep(s.Service.Namespace, s.Service.Name, s.Service.Labels) {
			out = append(out, s)
		}
	}
	return out
}

func portsColumn(s reconcile.ServiceState) string {
	var parts []string
	for _, p := range s.Ports {
		proto := p.Port.Protocol
		if p.NodePort != 0 {
			parts = append(parts, fmt.Sprintf("%d:%d/%s", p.Port.Port, p.NodePort, proto))
		} else {
			parts = append(parts, fmt.Sprintf("%d/%s", p.Port.Port, proto))
		}
	}
	if len(parts) == 0 {
		return "<none>" // an ExternalName Service may have no ports
	}
	return strings.Join(parts, ",")
}

func clusterIP(s reconcile.ServiceState) string {
	switch {
	case s.Service.Spec.Type == resources.ServiceTypeExternalName:
		return "<none>"
	case s.Service.Spec.ClusterIP == resources.ClusterIPNone:
		return resources.ClusterIPNone
	case s.ClusterIP == "":
		return "<pending>"
	}
	return s.ClusterIP
}

// externalIP is kubectl's EXTERNAL-IP: a LoadBalancer Service's ingress
// addresses (<pending> with none), an ExternalName's name.
func externalIP(s reconcile.ServiceState) string {
	switch {
	case s.Service.Spec.Type == resources.ServiceTypeLoadBalancer && len(s.Ingress) == 0:
		return "<pending>"
	case s.Service.Spec.Type == resources.ServiceTypeLoadBalancer:
		return strings.Join(s.Ingress, ",")
	case s.Service.Spec.ExternalName != "":
		return s.Service.Spec.ExternalName
	}
	return "<none>"
}

func (v *view) printServices(w io.Writer) error {
	return printList(v, w, v.services(), listing[reconcile.ServiceState]{
		kind:   "service",
		object: func(s reconcile.ServiceState) any { return serviceObject(s) },
		head:   []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"},
		row: func(s reconcile.ServiceState) (string, []string) {
			return s.Service.Namespace, []string{s.Service.Name, s.Service.Spec.Type, clusterIP(s), externalIP(s), portsColumn(s), ageSince(s.Created, v.now)}
		},
	})
}

func serviceObject(s reconcile.ServiceState) map[string]any {
	spec := s.Service.Spec
	var ports []any
	for _, p := range s.Ports {
		m := map[string]any{"port": p.Port.Port, "protocol": p.Port.Protocol, "targetPort": p.Port.TargetPort}
		if p.Port.Name != "" {
			m["name"] = p.Port.Name
		}
		if p.NodePort != 0 {
			m["nodePort"] = p.NodePort
		}
		ports = append(ports, m)
	}
	specOut := map[string]any{"type": spec.Type, "selector": spec.Selector, "ports": ports,
		"sessionAffinity": spec.SessionAffinity}
	switch {
	case spec.ClusterIP == resources.ClusterIPNone:
		specOut["clusterIP"] = resources.ClusterIPNone
		specOut["clusterIPs"] = []string{resources.ClusterIPNone}
	case s.ClusterIP != "":
		specOut["clusterIP"] = s.ClusterIP
		specOut["clusterIPs"] = []string{s.ClusterIP}
	}
	if spec.ExternalName != "" {
		specOut["externalName"] = spec.ExternalName
	}
	if p := s.Service.TrafficPolicy(); p != "" {
		specOut["externalTrafficPolicy"] = p
	}
	if len(spec.LoadBalancerSourceRanges) > 0 {
		specOut["loadBalancerSourceRanges"] = spec.LoadBalancerSourceRanges
	}
	if spec.AllocateLoadBalancerNodePorts != nil {
		specOut["allocateLoadBalancerNodePorts"] = *spec.AllocateLoadBalancerNodePorts
	}
	status := map[string]any{"loadBalancer": map[string]any{}}
	if len(s.Ingress) > 0 {
		var ingress []any
		for _, ip := range s.Ingress {
			ingress = append(ingress, map[string]any{"ip": ip, "ipMode": "VIP"})
		}
		status["loadBalancer"] = map[string]any{"ingress": ingress}
	}
	meta := map[string]any{"name": s.Service.Name, "namespace": s.Service.Namespace}
	if len(s.Service.Labels) > 0 {
		meta["labels"] = s.Service.Labels
	}
	if !s.Created.IsZero() {
		meta["creationTimestamp"] = s.Created.UTC().Format(time.RFC3339)
	}
	return map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": specOut, "status": status}
}

// endpointsOf finds a Service's Endpoints as the hosts hold them.
func (v *view) endpointsOf(ns, name string) (reconcile.Endpoints, bool) {
	for _, e := range v.status.Endpoints.Items {
		if e.Metadata.Namespace == ns && e.Metadata.Name == name {
			return e, true
		}
	}
	return reconcile.Endpoints{}, false
}

// endpointsColumn is kubectl's ENDPOINTS: ready addresses, at most three.
func endpointsColumn(e reconcile.Endpoints) string {
	var list []string
	for _, ss := range e.Subsets {
		for _, a := range ss.Addresses {
			for _, p := range ss.Ports {
				list = append(list, fmt.Sprintf("%s:%d", a.IP, p.Port))
			}
		}
	}
	if len(list) == 0 {
		return "<none>"
	}
	sort.Strings(list)
	if len(list) > 3 {
		return strings.Join(list[:3], ",") + fmt.Sprintf(" + %d more...", len(list)-3)
	}
	return strings.Join(list, ",")
}

func (v *view) printEndpoints(w io.Writer) error {
	// A Service's endpoints, aged as the Service.
	type aged struct {
		e       reconcile.Endpoints
		created time.Time
	}
	var eps []aged
	for _, s := range v.services() {
		if e, ok := v.endpointsOf(s.Service.Namespace, s.Service.Name); ok {
			eps = append(eps, aged{e, s.Created})
		}
	}
	return printList(v, w, eps, listing[aged]{
		kind:   "endpoints",
		object: func(a aged) any { return a.e },
		head:   []string{"NAME", "ENDPOINTS", "AGE"},
		row: func(a aged) (string, []string) {
			return a.e.Metadata.Namespace, []string{a.e.Metadata.Name, endpointsColumn(a.e), ageSince(a.created, v.now)}
		},
	})
}
