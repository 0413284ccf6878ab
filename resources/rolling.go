package resources

// RollingParams resolves maxSurge and maxUnavailable against the replica
// count like the Kubernetes deployment controller: a surge percentage
// rounds up, an unavailable one rounds down, and when both come out 0
// maxUnavailable becomes 1 so a rollout can progress. Recreate replaces
// everything at once: no surge, all replicas unavailable.
func (d *Deployment) RollingParams() (maxSurge, maxUnavailable int) {
	replicas := 1
	if d.Spec.Replicas != nil {
		replicas = int(*d.Spec.Replicas)
	}
	if d.Spec.Strategy.Type == RecreateStrategy {
		return 0, replicas
	}
	surge, unavailable := FromString("25%"), FromString("25%")
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			surge = *ru.MaxSurge
		}
		if ru.MaxUnavailable != nil {
			unavailable = *ru.MaxUnavailable
		}
	}
	maxSurge, _ = surge.scaled(replicas, true)
	maxUnavailable, _ = unavailable.scaled(replicas, false)
	if maxSurge == 0 && maxUnavailable == 0 {
		maxUnavailable = 1
	}
	return maxSurge, maxUnavailable
}
