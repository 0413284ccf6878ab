package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/reconcile-dev/reconcile/reconcile"
	"github.com/reconcile-dev/reconcile/resources"
)

// LoadBalancer Services as get and describe show them: the load-balancer
// hosts' addresses are the EXTERNAL-IP and status.loadBalancer.ingress;
// with no host selected the address is <pending>, as in kubectl.
func TestLoadBalancerServices(t *testing.T) {
	cluster := &resources.ClusterSpec{Nodes: []resources.Node{
		{Name: "node-1", Address: "10.0.0.11", Labels: map[string]string{"edge": "yes"}},
		{Name: "node-2", Address: "10.0.0.12"},
		{Name: "node-3", Address: "10.0.0.13", Labels: map[string]string{"edge": "yes"}}}}
	noPorts := false
	lb := func(name string, spec resources.ServiceSpec, ingress *resources.ClusterSpec) reconcile.ServiceState {
		spec.Type = resources.ServiceTypeLoadBalancer
		spec.Selector = map[string]string{"app": name}
		s := &resources.Service{ObjectMeta: resources.ObjectMeta{Name: name, Namespace: "default"}, Spec: spec}
		s.Default()
		st := reconcile.ServiceState{Service: s, ClusterIP: "198.19.0.20", Created: testNow.Add(-5 * time.Minute),
			Ingress: ingress.LoadBalancerIngress(s)}
		for i, p := range s.Spec.Ports {
			pe := reconcile.PortEndpoints{Port: p}
			if s.HasNodePorts() {
				pe.NodePort = int32(31000 + i)
			}
			st.Ports = append(st.Ports, pe)
		}
		return st
	}
	edge := *cluster
	edge.LoadBalancer = &resources.LoadBalancerSpec{NodeSelector: map[string]string{"edge": "yes"}}
	none := *cluster
	none.LoadBalancer = &resources.LoadBalancerSpec{NodeSelector: map[string]string{"edge": "no"}}
	services := []reconcile.ServiceState{
		lb("front", resources.ServiceSpec{Ports: []resources.ServicePort{{Name: "http", Port: 80}, {Name: "https", Port: 443}}}, cluster),
		lb("edge", resources.ServiceSpec{ExternalTrafficPolicy: resources.TrafficPolicyLocal,
			LoadBalancerSourceRanges: []string{"203.0.113.0/24", "198.51.100.0/24"},
			Ports:                    []resources.ServicePort{{Port: 8080}}}, &edge),
		lb("nowhere", resources.ServiceSpec{AllocateLoadBalancerNodePorts: &noPorts, Ports: []resources.ServicePort{{Port: 9090}}}, &none),
	}
	st := &reconcile.Status{Services: services, Endpoints: reconcile.BuildEndpoints(nil, services)}
	for _, tt := range []struct {
		name  string
		flags readFlags
	}{
		{"services-loadbalancer", readFlags{namespace: "default"}},
		{"services-loadbalancer-yaml", readFlags{namespace: "default", output: "yaml"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			v := view{status: st, flags: &tt.flags, now: testNow}
			if err := v.printServices(&out); err != nil {
				t.Fatal(err)
			}
			golden(t, "get/"+tt.name, out.String())
		})
	}
	for _, s := range services {
		t.Run("describe-"+s.Service.Name, func(t *testing.T) {
			v := view{status: st, flags: &readFlags{namespace: "default"}, now: testNow}
			e, _ := v.endpointsOf(s.Service.Namespace, s.Service.Name)
			var out bytes.Buffer
			describeService(&out, s, e)
			golden(t, "describe/default-lb-"+s.Service.Name, out.String())
		})
	}
}
