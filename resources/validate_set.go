package resources

import (
	"net/netip"
)

// validateSet runs the checks that span objects: services against the
// deployments they select and against the cluster's service range.
func validateSet(r *reporter, s *Set) {
	var serviceCIDR netip.Prefix
	if s.Cluster != nil {
		if p, err := netip.ParsePrefix(s.Cluster.Spec.ServiceCIDR); err == nil {
			serviceCIDR = p
		}
	}
	// The totals are checked before anything is planned from them: every
	// pod is a container on a host, every Service chains on every host.
	pods := 0
	for _, d := range s.Deployments {
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 0 || *d.Spec.Replicas > MaxReplicas {
			continue // reported on the Deployment
		}
		if pods += int(*d.Spec.Replicas); pods > MaxPods {
			r.object(d.Source, d.kind(), d.Name).errorf("spec.replicas", "the tree's Deployments ask for more than %d pods together here, the most reconcile runs on one cluster", MaxPods)
			break
		}
	}
	if len(s.Services) > MaxServices {
		svc := s.Services[MaxServices]
		r.object(svc.Source, "Service", svc.Name).errorf("", "the tree declares more than %d Services, the most reconcile manages", MaxServices)
	}
	validateClusterDNSCollision(r, s)
	checkConfigRefs(r, s)
	checkClaimRefs(r, s)
	checkPullSecrets(r, s)
	clusterIPs := map[netip.Addr]*Service{}
	nodePorts := map[int32]*Service{}
	lbPorts := map[string]*Service{}
	for _, svc := range s.Services {
		o := r.object(svc.Source, "Service", svc.Name)
		checkLoadBalancerPorts(o, svc, lbPorts)
		var selected []*Deployment
		for _, d := range s.Deployments {
			if d.Namespace == svc.Namespace && ServiceSelects(svc.Spec.Selector, d.Spec.Template.Labels) {
				selected = append(selected, d)
			}
		}
		if len(svc.Spec.Selector) > 0 && len(selected) == 0 {
			o.warnf("spec.selector", "selects no Deployment's pods in namespace %q: the Service will have no endpoints", svc.Namespace)
		}
		for i, p := range svc.Spec.Ports {
			if !p.TargetPort.IsString || len(selected) == 0 {
				continue
			}
			if !declaresPort(selected, p.TargetPort.StrVal) {
				o.warnf(fieldPath(indexPath("spec.ports", i), "targetPort"), "no selected pod template declares a port named %q", p.TargetPort.StrVal)
			}
		}
		if a, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil {
			if serviceCIDR.IsValid() && !serviceCIDR.Contains(a) {
				o.errorf("spec.clusterIP", "%s is outside the cluster's serviceCIDR %s", a, serviceCIDR)
			}
			if prev, dup := clusterIPs[a]; dup {
				o.errorf("spec.clusterIP", "%s is already the clusterIP of Service %s/%s (%s)", a, prev.Namespace, prev.Name, prev.Source)
			} else {
				clusterIPs[a] = svc
			}
		}
		for i, p := range svc.Spec.Ports {
			if p.NodePort == 0 || svc.Spec.Type != ServiceTypeNodePort && svc.Spec.Type != ServiceTypeLoadBalancer {
				continue
			}
			if prev, dup := nodePorts[p.NodePort]; dup && prev != svc {
				o.errorf(fieldPath(indexPath("spec.ports", i), "nodePort"), "nodePort %d is already used by Service %s/%s (%s)", p.NodePort, prev.Namespace, prev.Name, prev.Source)
			} else {
				nodePorts[p.NodePort] = svc
			}
		}
	}
}

func declaresPort(ds []*Deployment, name string) bool {
	for _, d := range ds {
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == name {
					return true
				}
			}
		}
	}
	return false
}
