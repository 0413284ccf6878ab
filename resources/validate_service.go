package resources

import (
	"fmt"
	"net/netip"
)

func validateService(r *reporter, s *Service) {
	o := r.object(s.Source, "Service", s.Name)
	validateMeta(o, &s.ObjectMeta, "metadata", true)
	spec := &s.Spec
	switch spec.Type {
	case "", ServiceTypeClusterIP, ServiceTypeNodePort, ServiceTypeLoadBalancer:
	case ServiceTypeExternalName:
		// A DNS alias: no selector, no VIP; ports are allowed and unused.
		validateServiceDNS(o, spec)
		if len(spec.Ports) > 0 {
			validateServicePorts(o, spec)
		}
		return
	default:
		o.errorf("spec.type", "unsupported value %q: supported values: \"ClusterIP\", \"NodePort\", \"LoadBalancer\", \"ExternalName\"", spec.Type)
	}
	validateLoadBalancer(o, spec)
	if len(spec.Selector) == 0 {
		o.errorf("spec.selector", "required: reconcile sends a Service's traffic to the pods its selector matches")
	}
	validateLabels(o, "spec.selector", spec.Selector)
	switch ip := spec.ClusterIP; ip {
	case "":
	case ClusterIPNone:
	default:
		if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() {
			o.errorf("spec.clusterIP", "invalid IPv4 address %q", ip)
		}
	}
	switch spec.SessionAffinity {
	case "", "None":
		if spec.SessionAffinityConfig != nil {
			o.errorf("spec.sessionAffinityConfig", "may only be set when sessionAffinity is ClientIP")
		}
	case "ClientIP":
		if c := spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			if t := *c.ClientIP.TimeoutSeconds; t < 1 || t > 86400 {
				o.errorf("spec.sessionAffinityConfig.clientIP.timeoutSeconds", "must be between 1 and 86400, inclusive, not %d", t)
			}
		}
	default:
		o.errorf("spec.sessionAffinity", "unsupported value %q: supported values: \"None\", \"ClientIP\"", spec.SessionAffinity)
	}
	validateServiceDNS(o, spec)
	validateServicePorts(o, spec)
}

func validateServicePorts(o obj, spec *ServiceSpec) {
	if len(spec.Ports) == 0 {
		o.errorf("spec.ports", "required: a Service needs at least one port")
		return
	}
	names := map[string]string{}
	numbers := map[string]string{}
	nodePorts := map[int32]string{}
	for i, p := range spec.Ports {
		pp := indexPath("spec.ports", i)
		switch {
		case p.Name == "" && len(spec.Ports) > 1:
			o.errorf(fieldPath(pp, "name"), "required when a Service has more than one port")
		case p.Name != "":
			if msg := dns1123Label(p.Name); msg != "" {
				o.errorf(fieldPath(pp, "name"), "invalid port name %q: %s", p.Name, msg)
			} else if prev, dup := names[p.Name]; dup {
				o.errorf(fieldPath(pp, "name"), "duplicate port name %q (also %s)", p.Name, prev)
			}
			names[p.Name] = pp
		}
		if !validPort(p.Port) {
			o.errorf(fieldPath(pp, "port"), "must be between 1 and 65535, inclusive, not %d", p.Port)
		}
		proto := p.Protocol
		if proto == "" {
			proto = "TCP"
		}
		validProtocol(o, fieldPath(pp, "protocol"), proto)
		key := fmt.Sprintf("%d/%s", p.Port, proto)
		if prev, dup := numbers[key]; dup {
			o.errorf(fieldPath(pp, "port"), "duplicate port %s (also %s)", key, prev)
		}
		numbers[key] = pp
		tp := fieldPath(pp, "targetPort")
		switch {
		case p.TargetPort.IsZero():
		case p.TargetPort.IsString:
			if msg := ianaSvcName(p.TargetPort.StrVal); msg != "" {
				o.errorf(tp, "invalid port name %q: %s", p.TargetPort.StrVal, msg)
			}
		case !validPort(p.TargetPort.IntVal):
			o.errorf(tp, "must be between 1 and 65535, inclusive, not %d", p.TargetPort.IntVal)
		}
		if p.NodePort != 0 {
			np := fieldPath(pp, "nodePort")
			switch {
			case spec.Type != ServiceTypeNodePort && spec.Type != ServiceTypeLoadBalancer:
				o.errorf(np, "may only be set when type is NodePort or LoadBalancer")
			case p.NodePort < 30000 || p.NodePort > 32767:
				o.errorf(np, "must be between 30000 and 32767, inclusive, not %d", p.NodePort)
			}
			if prev, dup := nodePorts[p.NodePort]; dup {
				o.errorf(np, "duplicate nodePort %d (also %s)", p.NodePort, prev)
			}
			nodePorts[p.NodePort] = pp
		}
	}
}
