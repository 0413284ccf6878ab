package resources

import (
	"errors"
	"maps"
)

// ExposeOptions are the kubectl expose flags reconcile supports.
type ExposeOptions struct {
	Name       string // --name; defaults to the Deployment's name
	Port       int32  // --port; defaults to the first container port
	TargetPort int32  // --target-port; set only when it differs from Port
	Protocol   string // --protocol; defaults to the exposed container port's, else TCP
}

// Expose builds the Service `kubectl expose deployment/NAME` would create:
// it selects the Deployment's matchLabels, carries its template labels
// and forwards the first container port. Nothing is defaulted beyond what
// kubectl writes, so RenderService shows what a user would have typed.
func Expose(d *Deployment, o ExposeOptions) (*Service, error) {
	if d.Spec.Selector == nil || len(d.Spec.Selector.MatchLabels) == 0 {
		return nil, errors.New("couldn't retrieve selectors via --selector flag or introspection: the Deployment has no spec.selector.matchLabels")
	}
	if len(d.Spec.Selector.MatchExpressions) > 0 {
		return nil, errors.New("cannot expose a Deployment whose selector uses matchExpressions: write the Service by hand")
	}
	port, protocol := o.Port, o.Protocol
	if port == 0 {
		for _, c := range d.Spec.Template.Spec.Containers {
			if len(c.Ports) > 0 {
				port = c.Ports[0].ContainerPort
				if protocol == "" {
					protocol = c.Ports[0].Protocol
				}
				break
			}
		}
	}
	if port == 0 {
		return nil, errors.New("couldn't find port via --port flag or introspection: give --port")
	}
	if protocol == "" {
		protocol = "TCP"
	}
	name := o.Name
	if name == "" {
		name = d.Name
	}
	svc := &Service{
		TypeMeta: TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: ObjectMeta{
			Name:   name,
			Labels: maps.Clone(d.Spec.Template.Labels),
		},
		Spec: ServiceSpec{
			Ports:    []ServicePort{{Port: port, Protocol: protocol}},
			Selector: maps.Clone(d.Spec.Selector.MatchLabels),
		},
	}
	if d.Namespace != "" && d.Namespace != DefaultNamespace {
		svc.Namespace = d.Namespace
	}
	if o.TargetPort != 0 && o.TargetPort != port {
		svc.Spec.Ports[0].TargetPort = FromInt(o.TargetPort)
	}
	return svc, nil
}
