package net

import "reflect"

// The partial render of a change among many Services (issue 14). A pass
// that trusts the recorded config's rendering as the live rules
// (vipcache.go) compares that rendering with the new config's, and for
// a change of one Service among 2,000 rendering both whole was most of
// the agent's work: 2 × 30k rules to find the few that differ. A
// Service's own chains (SVC, SEP, EXT, FW) depend on nothing but the
// Service and renderInputs, so only the Services that differ have their
// own chains rendered, on both sides; the shared chains (the dispatch
// chain, node ports, filter) are rendered whole, as before, so their
// diff and in-place edits stay what a full render gives.

// selection names Services by namespace/name; a nil selection is every
// Service.
type selection map[string]bool

func (s selection) has(svc *Service) bool {
	return s == nil || s[svc.Namespace+"/"+svc.Name]
}

// renderInputs is what natTable and filterTable read from a NodeConfig
// besides its Services: two configs that agree on it render every
// unchanged Service's chains alike. TestRenderInputs fails when a render
// starts reading another field.
func renderInputs(c NodeConfig) string { return c.ClusterPodCIDR }

// changedServices is the selection of the Services that differ between
// prev and next (added, removed or changed), or nil, every Service, when
// the configs differ in what else the render reads.
func changedServices(prev, next NodeConfig) selection {
	if renderInputs(prev) != renderInputs(next) {
		return nil
	}
	was := make(map[string]*Service, len(prev.Services))
	for i := range prev.Services {
		s := &prev.Services[i]
		was[s.Namespace+"/"+s.Name] = s
	}
	if len(was) != len(prev.Services) {
		return nil // a name twice (Validate refuses it): no shortcut
	}
	sel := selection{}
	seen := make(map[string]bool, len(next.Services))
	for i := range next.Services {
		s := &next.Services[i]
		key := s.Namespace + "/" + s.Name
		if seen[key] {
			return nil
		}
		seen[key] = true
		if p, ok := was[key]; !ok || !reflect.DeepEqual(p, s) {
			sel[key] = true
		}
		delete(was, key)
	}
	for key := range was { // removed: their chains go
		sel[key] = true
	}
	return sel
}
