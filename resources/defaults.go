package resources

import (
	"net/netip"
	"strings"
	"time"
)

// The defaults Kubernetes gives a field left out. They live here only:
// reconcile/ and runtime/ read the defaulted objects or these constants.
const (
	DefaultNamespace                     = "default"
	DefaultProgressDeadlineSeconds       = 600
	defaultRevisionHistoryLimit          = 10
	DefaultGracePeriodSeconds            = 30
	DefaultSessionAffinityTimeoutSeconds = 10800 // ClientIP affinity, 3h
	DefaultProbePeriodSeconds            = 10
	DefaultProbeTimeoutSeconds           = 1
	DefaultProbeSuccessThreshold         = 1
	DefaultProbeFailureThreshold         = 3
)

// GracePeriod is terminationGracePeriodSeconds, or its default.
func (p *PodSpec) GracePeriod() time.Duration {
	if p.TerminationGracePeriodSeconds != nil {
		return time.Duration(*p.TerminationGracePeriodSeconds) * time.Second
	}
	return DefaultGracePeriodSeconds * time.Second
}

// ProgressDeadline is progressDeadlineSeconds, or its default.
func (d *Deployment) ProgressDeadline() time.Duration {
	if p := d.Spec.ProgressDeadlineSeconds; p != nil {
		return time.Duration(*p) * time.Second
	}
	return DefaultProgressDeadlineSeconds * time.Second
}

// AffinityTimeoutSeconds is the ClientIP session affinity timeout, or its
// default.
func (s *Service) AffinityTimeoutSeconds() int32 {
	if c := s.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
		return *c.ClientIP.TimeoutSeconds
	}
	return DefaultSessionAffinityTimeoutSeconds
}

func ptr[T any](v T) *T { return &v }

// Default fills in what Kubernetes would: replicas 1, a 25%/25% rolling
// update, a 600s progress deadline, restartPolicy Always, a 30s grace
// period, probe timings and image pull policies. It is idempotent.
func (d *Deployment) Default() {
	if d.Namespace == "" {
		d.Namespace = DefaultNamespace
	}
	s := &d.Spec
	if s.Replicas == nil {
		s.Replicas = ptr(int32(1))
	}
	if s.Strategy.Type == "" {
		s.Strategy.Type = RollingUpdateStrategy
	}
	if s.Strategy.Type == RollingUpdateStrategy {
		if s.Strategy.RollingUpdate == nil {
			s.Strategy.RollingUpdate = &RollingUpdateStrategyParams{}
		}
		if s.Strategy.RollingUpdate.MaxUnavailable == nil {
			s.Strategy.RollingUpdate.MaxUnavailable = ptr(FromString("25%"))
		}
		if s.Strategy.RollingUpdate.MaxSurge == nil {
			s.Strategy.RollingUpdate.MaxSurge = ptr(FromString("25%"))
		}
	}
	if s.ProgressDeadlineSeconds == nil {
		s.ProgressDeadlineSeconds = ptr(int32(DefaultProgressDeadlineSeconds))
	}
	if s.RevisionHistoryLimit == nil {
		s.RevisionHistoryLimit = ptr(int32(defaultRevisionHistoryLimit))
	}
	p := &s.Template.Spec
	if p.RestartPolicy == "" {
		p.RestartPolicy = "Always"
	}
	if p.TerminationGracePeriodSeconds == nil {
		p.TerminationGracePeriodSeconds = ptr(int64(DefaultGracePeriodSeconds))
	}
	for i := range p.Containers {
		p.Containers[i].defaults()
	}
	for i := range p.InitContainers {
		p.InitContainers[i].defaults()
	}
}

// RestartPolicyAlways on an init container makes it a sidecar: started
// before the app containers and kept running (Kubernetes 1.29+).
const RestartPolicyAlways = "Always"

func (c *Container) defaults() {
	if c.ImagePullPolicy == "" {
		if imageTag(c.Image) == "latest" {
			c.ImagePullPolicy = "Always"
		} else {
			c.ImagePullPolicy = "IfNotPresent"
		}
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = "TCP"
		}
	}
	for _, p := range []*Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
		if p == nil {
			continue
		}
		if p.TimeoutSeconds == 0 {
			p.TimeoutSeconds = DefaultProbeTimeoutSeconds
		}
		if p.PeriodSeconds == 0 {
			p.PeriodSeconds = DefaultProbePeriodSeconds
		}
		if p.SuccessThreshold == 0 {
			p.SuccessThreshold = DefaultProbeSuccessThreshold
		}
		if p.FailureThreshold == 0 {
			p.FailureThreshold = DefaultProbeFailureThreshold
		}
		if h := p.HTTPGet; h != nil {
			if h.Path == "" {
				h.Path = "/"
			}
			if h.Scheme == "" {
				h.Scheme = "HTTP"
			}
		}
	}
}

// imageTag is the tag of an image reference as Kubernetes sees it for
// pull-policy defaulting: "latest" when there is neither tag nor digest.
func imageTag(image string) string {
	name, digest, _ := strings.Cut(image, "@")
	lastPart := name[strings.LastIndexByte(name, '/')+1:]
	if _, tag, ok := strings.Cut(lastPart, ":"); ok {
		return tag
	}
	if digest != "" {
		return ""
	}
	return "latest"
}

// Default fills in the namespace, type ClusterIP, protocol TCP, targetPort
// = port and session affinity None (or the 3h ClientIP timeout).
func (s *Service) Default() {
	if s.Namespace == "" {
		s.Namespace = DefaultNamespace
	}
	if s.Spec.Type == "" {
		s.Spec.Type = ServiceTypeClusterIP
	}
	if s.Spec.SessionAffinity == "" {
		s.Spec.SessionAffinity = "None"
	}
	if s.Spec.SessionAffinity == "ClientIP" {
		c := s.Spec.SessionAffinityConfig
		if c == nil {
			c = &SessionAffinityConfig{}
			s.Spec.SessionAffinityConfig = c
		}
		if c.ClientIP == nil {
			c.ClientIP = &ClientIPConfig{}
		}
		if c.ClientIP.TimeoutSeconds == nil {
			c.ClientIP.TimeoutSeconds = ptr(int32(DefaultSessionAffinityTimeoutSeconds))
		}
	}
	for i := range s.Spec.Ports {
		p := &s.Spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = "TCP"
		}
		if p.TargetPort.IsZero() {
			p.TargetPort = FromInt(p.Port)
		}
	}
}

// Default fills in the endpoints file, each node's Docker host and each
// node's pod subnet: the next /24 of spec.podCIDR that no node names,
// skipping the first so node order 1, 2, 3 gets .1, .2, .3. Nodes left
// without a subnet (invalid CIDRs, or too few /24s) are reported by
// validation.
func (c *Cluster) Default() {
	if c.Spec.EndpointsFile == "" {
		c.Spec.EndpointsFile = DefaultEndpointsFile
	}
	for i := range c.Spec.Nodes {
		if c.Spec.Nodes[i].Docker == "" {
			c.Spec.Nodes[i].Docker = DefaultDockerHost
		}
	}
	pool, err := netip.ParsePrefix(c.Spec.PodCIDR)
	if err != nil || !pool.Addr().Is4() || pool.Bits() > 24 {
		return
	}
	pool = pool.Masked()
	var taken []netip.Prefix
	for _, n := range c.Spec.Nodes {
		if p, err := netip.ParsePrefix(n.PodCIDR); err == nil {
			taken = append(taken, p.Masked())
		}
	}
	next := 1
	subnets := 1 << (24 - pool.Bits())
	for i := range c.Spec.Nodes {
		n := &c.Spec.Nodes[i]
		if n.PodCIDR != "" {
			continue
		}
		for ; next < subnets; next++ {
			cand := nthSubnet24(pool, next)
			if !overlapsAny(cand, taken) {
				n.PodCIDR = cand.String()
				taken = append(taken, cand)
				next++
				break
			}
		}
	}
}

func nthSubnet24(pool netip.Prefix, i int) netip.Prefix {
	a := pool.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(i) << 8
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 24)
}

func overlapsAny(p netip.Prefix, others []netip.Prefix) bool {
	for _, o := range others {
		if p.Overlaps(o) {
			return true
		}
	}
	return false
}
