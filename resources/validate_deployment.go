package resources

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

func validateDeployment(r *reporter, d *Deployment) {
	o := r.object(d.Source, "Deployment", d.Name)
	validateMeta(o, &d.ObjectMeta, "metadata", true)
	s := &d.Spec
	if s.Replicas != nil && *s.Replicas < 0 {
		o.errorf("spec.replicas", "must be greater than or equal to 0, not %d", *s.Replicas)
	}
	if s.Replicas != nil && *s.Replicas > MaxReplicas {
		o.errorf("spec.replicas", "%d is more than %d, the most replicas reconcile runs for one Deployment", *s.Replicas, MaxReplicas)
	}
	selectorOK := validateSelector(o, "spec.selector", s.Selector)
	validateLabels(o, "spec.template.metadata.labels", s.Template.Labels)
	if selectorOK && !s.Selector.Matches(s.Template.Labels) {
		o.errorf("spec.template.metadata.labels", "selector %q does not match the template labels", s.Selector.String())
	}
	validateStrategy(o, &s.Strategy)
	if s.MinReadySeconds < 0 {
		o.errorf("spec.minReadySeconds", "must be greater than or equal to 0")
	}
	if p := s.ProgressDeadlineSeconds; p != nil && *p <= s.MinReadySeconds {
		o.errorf("spec.progressDeadlineSeconds", "must be greater than minReadySeconds (%d)", s.MinReadySeconds)
	}
	if h := s.RevisionHistoryLimit; h != nil && *h < 0 {
		o.errorf("spec.revisionHistoryLimit", "must be greater than or equal to 0")
	}
	validatePodSpec(o, "spec.template.spec", &s.Template.Spec)
}

// validateSelector reports whether the selector is usable for matching.
func validateSelector(o obj, path string, s *LabelSelector) bool {
	if s == nil || (len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0) {
		o.errorf(path, "required: give matchLabels (or matchExpressions) that match the template labels")
		return false
	}
	before := len(o.r.errs)
	validateLabels(o, fieldPath(path, "matchLabels"), s.MatchLabels)
	for i, e := range s.MatchExpressions {
		ep := indexPath(fieldPath(path, "matchExpressions"), i)
		if msg := qualifiedName(e.Key); msg != "" {
			o.errorf(fieldPath(ep, "key"), "invalid label key %q: %s", e.Key, msg)
		}
		switch e.Operator {
		case "In", "NotIn":
			if len(e.Values) == 0 {
				o.errorf(fieldPath(ep, "values"), "required when operator is %s", e.Operator)
			}
		case "Exists", "DoesNotExist":
			if len(e.Values) > 0 {
				o.errorf(fieldPath(ep, "values"), "must be empty when operator is %s", e.Operator)
			}
		default:
			o.errorf(fieldPath(ep, "operator"), "unsupported value %q: supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"", e.Operator)
		}
		for j, v := range e.Values {
			if msg := labelValue(v); msg != "" {
				o.errorf(indexPath(fieldPath(ep, "values"), j), "invalid label value %q: %s", v, msg)
			}
		}
	}
	return len(o.r.errs) == before
}

func validateStrategy(o obj, s *DeploymentStrategy) {
	switch s.Type {
	case RecreateStrategy:
		if s.RollingUpdate != nil {
			o.errorf("spec.strategy.rollingUpdate", "may not be set when type is Recreate")
		}
		return
	case RollingUpdateStrategy:
	default:
		o.errorf("spec.strategy.type", "unsupported value %q: supported values: \"RollingUpdate\", \"Recreate\"", s.Type)
		return
	}
	ru := s.RollingUpdate
	if ru == nil {
		return
	}
	surgeZero := validateIntOrPercent(o, "spec.strategy.rollingUpdate.maxSurge", ru.MaxSurge, false)
	unavailableZero := validateIntOrPercent(o, "spec.strategy.rollingUpdate.maxUnavailable", ru.MaxUnavailable, true)
	if surgeZero && unavailableZero {
		o.errorf("spec.strategy.rollingUpdate.maxUnavailable", "may not be 0 when maxSurge is 0: a rollout could never replace a pod")
	}
}

// validateIntOrPercent reports whether v is a valid zero.
func validateIntOrPercent(o obj, path string, v *IntOrString, atMost100 bool) (zero bool) {
	if v == nil {
		return false
	}
	if !v.IsString {
		if v.IntVal < 0 {
			o.errorf(path, "must be greater than or equal to 0, not %d", v.IntVal)
			return false
		}
		return v.IntVal == 0
	}
	p, ok := v.percent()
	if !ok {
		o.errorf(path, "invalid value %q: must be an integer or a percentage like \"25%%\"", v.StrVal)
		return false
	}
	if atMost100 && p > 100 {
		o.errorf(path, "must not be greater than 100%%")
	}
	return p == 0
}

func validatePodSpec(o obj, path string, p *PodSpec) {
	if p.RestartPolicy != "Always" && p.RestartPolicy != "" {
		o.errorf(fieldPath(path, "restartPolicy"), "unsupported value %q: a Deployment's pods only support \"Always\"", p.RestartPolicy)
	}
	if g := p.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		o.errorf(fieldPath(path, "terminationGracePeriodSeconds"), "must be greater than or equal to 0")
	}
	validatePodDNS(o, path, p)
	validatePlacement(o, path, &p.Placement)
	vols := validateVolumes(o, path, p.Volumes)
	validatePodSecurity(o, path, p.SecurityContext)
	validateTolerated(o, path, &p.PodTolerated)
	validatePullSecretNames(o, path, p)
	cp := fieldPath(path, "containers")
	if len(p.Containers) == 0 {
		o.errorf(cp, "required: a pod needs at least one container")
		return
	}
	names := map[string]bool{} // app and init containers share one namespace of names
	portNames := map[string]string{}
	portNumbers := map[string]string{}
	for i := range p.Containers {
		c := &p.Containers[i]
		ip := indexPath(cp, i)
		validateContainerName(o, ip, c.Name, names)
		validateContainer(o, ip, c, portNames, portNumbers)
		validateMounts(o, ip, c, vols)
		validateContainerSecurity(o, ip, c.SecurityContext, p.SecurityContext)
		validateIdentityGroup(o, ip, p.SecurityContext, c.SecurityContext)
		if c.RestartPolicy != "" {
			o.errorf(fieldPath(ip, "restartPolicy"), "not supported by reconcile: a container's restartPolicy is for initContainers (a sidecar); the pod's restartPolicy applies")
		}
	}
	ip := fieldPath(path, "initContainers")
	for i := range p.InitContainers {
		c := &p.InitContainers[i]
		cp := indexPath(ip, i)
		validateContainerName(o, cp, c.Name, names)
		validateContainer(o, cp, c, portNames, portNumbers)
		validateMounts(o, cp, c, vols)
		validateContainerSecurity(o, cp, c.SecurityContext, p.SecurityContext)
		validateIdentityGroup(o, cp, p.SecurityContext, c.SecurityContext)
		sidecar := c.RestartPolicy == RestartPolicyAlways
		if c.RestartPolicy != "" && !sidecar {
			o.errorf(fieldPath(cp, "restartPolicy"), "unsupported value %q: an init container's restartPolicy may only be \"Always\" (a sidecar)", c.RestartPolicy)
		}
		// As Kubernetes: an init container runs to completion, so it has
		// nothing to probe; a sidecar keeps running and may.
		if !sidecar && c.ReadinessProbe != nil {
			o.errorf(fieldPath(cp, "readinessProbe"), "must not be set for init containers")
		}
		if !sidecar && c.LivenessProbe != nil {
			o.errorf(fieldPath(cp, "livenessProbe"), "must not be set for init containers")
		}
		if !sidecar && c.StartupProbe != nil {
			o.errorf(fieldPath(cp, "startupProbe"), "must not be set for init containers")
		}
	}
}

// validateContainerName checks a container's name at path: required, a
// DNS label, and unique in names, which app and init containers share.
func validateContainerName(o obj, path, name string, names map[string]bool) {
	np := fieldPath(path, "name")
	switch msg := dns1123Label(name); {
	case name == "":
		o.errorf(np, "required")
	case msg != "":
		o.errorf(np, "invalid container name %q: %s", name, msg)
	case names[name]:
		o.errorf(np, "duplicate container name %q", name)
	}
	names[name] = true
}

// validateContainer checks one container; portNames and portNumbers are
// shared by the pod's containers, which share one network namespace.
func validateContainer(o obj, path string, c *Container, portNames, portNumbers map[string]string) {
	switch {
	case c.Image == "":
		o.errorf(fieldPath(path, "image"), "required")
	case strings.TrimSpace(c.Image) != c.Image:
		o.errorf(fieldPath(path, "image"), "must not have leading or trailing whitespace")
	}
	switch c.ImagePullPolicy {
	case "", "Always", "IfNotPresent", "Never":
	default:
		o.errorf(fieldPath(path, "imagePullPolicy"), "unsupported value %q: supported values: \"Always\", \"IfNotPresent\", \"Never\"", c.ImagePullPolicy)
	}
	validateEnv(o, path, c)
	for j, p := range c.Ports {
		pp := indexPath(fieldPath(path, "ports"), j)
		if !validPort(p.ContainerPort) {
			o.errorf(fieldPath(pp, "containerPort"), "must be between 1 and 65535, inclusive, not %d", p.ContainerPort)
		}
		proto := p.Protocol
		if proto == "" {
			proto = "TCP"
		}
		validProtocol(o, fieldPath(pp, "protocol"), proto)
		if p.Name != "" {
			if msg := ianaSvcName(p.Name); msg != "" {
				o.errorf(fieldPath(pp, "name"), "invalid port name %q: %s", p.Name, msg)
			} else if prev, dup := portNames[p.Name]; dup {
				o.errorf(fieldPath(pp, "name"), "duplicate port name %q (also %s)", p.Name, prev)
			} else {
				portNames[p.Name] = pp
			}
		}
		key := fmt.Sprintf("%d/%s", p.ContainerPort, proto)
		if prev, dup := portNumbers[key]; dup {
			o.errorf(fieldPath(pp, "containerPort"), "duplicate port %s (also %s)", key, prev)
		} else {
			portNumbers[key] = pp
		}
	}
	validateResources(o, fieldPath(path, "resources"), &c.Resources)
	if c.ReadinessProbe != nil {
		validateProbe(o, fieldPath(path, "readinessProbe"), c.ReadinessProbe, c, false)
	}
	if c.LivenessProbe != nil {
		validateProbe(o, fieldPath(path, "livenessProbe"), c.LivenessProbe, c, true)
	}
	if c.StartupProbe != nil {
		validateProbe(o, fieldPath(path, "startupProbe"), c.StartupProbe, c, true)
	}
}

func validateResources(o obj, path string, r *ResourceRequirements) {
	parsed := map[string]map[string]Quantity{}
	for _, kind := range []string{"limits", "requests"} {
		list := r.Limits
		if kind == "requests" {
			list = r.Requests
		}
		parsed[kind] = map[string]Quantity{}
		for _, name := range slices.Sorted(maps.Keys(list)) {
			q := list[name]
			qp := keyPath(fieldPath(path, kind), name)
			if name != "cpu" && name != "memory" {
				o.errorf(qp, "not supported by reconcile: only cpu and memory")
				continue
			}
			if _, err := ParseQuantity(q.Raw); err != nil {
				o.errorf(qp, "%v", err)
				continue
			}
			if strings.HasPrefix(q.Raw, "-") && q.MilliValue() != 0 {
				o.errorf(qp, "must be greater than or equal to 0, not %s", q.Raw)
				continue
			}
			parsed[kind][name] = q
		}
	}
	for _, name := range []string{"cpu", "memory"} {
		req, okR := parsed["requests"][name]
		lim, okL := parsed["limits"][name]
		if okR && okL && req.MilliValue() > lim.MilliValue() {
			o.errorf(keyPath(fieldPath(path, "requests"), name), "must be less than or equal to the %s limit (%s), not %s", name, lim.Raw, req.Raw)
		}
	}
}

func validateProbe(o obj, path string, p *Probe, c *Container, liveness bool) {
	handlers := 0
	if p.Exec != nil {
		handlers++
		if len(p.Exec.Command) == 0 {
			o.errorf(fieldPath(path, "exec.command"), "required")
		}
	}
	if h := p.HTTPGet; h != nil {
		handlers++
		validatePortRef(o, fieldPath(path, "httpGet.port"), h.Port, c)
		if h.Scheme != "" && h.Scheme != "HTTP" && h.Scheme != "HTTPS" {
			o.errorf(fieldPath(path, "httpGet.scheme"), "unsupported value %q: supported values: \"HTTP\", \"HTTPS\"", h.Scheme)
		}
	}
	if t := p.TCPSocket; t != nil {
		handlers++
		validatePortRef(o, fieldPath(path, "tcpSocket.port"), t.Port, c)
	}
	switch {
	case handlers == 0:
		o.errorf(path, "must specify one of httpGet, tcpSocket or exec")
	case handlers > 1:
		o.errorf(path, "may not specify more than one of httpGet, tcpSocket and exec")
	}
	if p.InitialDelaySeconds < 0 {
		o.errorf(fieldPath(path, "initialDelaySeconds"), "must be greater than or equal to 0")
	}
	for _, f := range []struct {
		name string
		v    int32
	}{{"timeoutSeconds", p.TimeoutSeconds}, {"periodSeconds", p.PeriodSeconds}, {"successThreshold", p.SuccessThreshold}, {"failureThreshold", p.FailureThreshold}} {
		if f.v < 0 {
			o.errorf(fieldPath(path, f.name), "must be greater than or equal to 1")
		}
	}
	// As Kubernetes: liveness and startup probes act on one success.
	if liveness && p.SuccessThreshold > 1 {
		o.errorf(fieldPath(path, "successThreshold"), "must be 1 for a %s probe", strings.TrimSuffix(path[strings.LastIndex(path, ".")+1:], "Probe"))
	}
}

// validatePortRef checks a probe port: a number, or the name of one of the
// container's ports.
func validatePortRef(o obj, path string, port IntOrString, c *Container) {
	if !port.IsString {
		if !validPort(port.IntVal) {
			o.errorf(path, "must be between 1 and 65535, inclusive, not %d", port.IntVal)
		}
		return
	}
	if msg := ianaSvcName(port.StrVal); msg != "" {
		o.errorf(path, "invalid port name %q: %s", port.StrVal, msg)
		return
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return
		}
	}
	o.errorf(path, "container %q has no port named %q", c.Name, port.StrVal)
}
