package resources

import "time"

// KubeletSpec is the Cluster's spec.kubelet: settings of the supervisor
// that runs on every host between CLI runs (probes, restarts), as a
// KubeletConfiguration tunes the kubelet.
type KubeletSpec struct {
	// RestartBackoffBaseSeconds is the first delay of Kubernetes' crash
	// back-off, which doubles per restart up to RestartBackoffMax and is
	// reset after a container ran for BackoffResetAfter. Kubernetes'
	// kubelet uses 10 seconds; a smaller base makes crash loops show
	// quickly in tests. 0 means the default.
	RestartBackoffBaseSeconds int32 `json:"restartBackoffBaseSeconds,omitempty"`
}

// Kubernetes' crash back-off (kubelet's backOffPeriod, MaxContainerBackOff).
const (
	DefaultRestartBackoffBase = 10 * time.Second
	RestartBackoffMax         = 5 * time.Minute
	BackoffResetAfter         = 10 * time.Minute
	maxBackoffBaseSeconds     = 300
)

// RestartBackoffBase is the configured base, defaulted.
func (s *ClusterSpec) RestartBackoffBase() time.Duration {
	if s.Kubelet == nil || s.Kubelet.RestartBackoffBaseSeconds == 0 {
		return DefaultRestartBackoffBase
	}
	return time.Duration(s.Kubelet.RestartBackoffBaseSeconds) * time.Second
}

func validateKubelet(o obj, k *KubeletSpec) {
	if k == nil {
		return
	}
	if b := k.RestartBackoffBaseSeconds; b < 0 || b > maxBackoffBaseSeconds {
		o.errorf("spec.kubelet.restartBackoffBaseSeconds", "must be between 1 and %d (the back-off's 5 minute cap), not %d; leave it out for Kubernetes' 10", maxBackoffBaseSeconds, b)
	}
}
