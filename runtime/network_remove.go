package runtime

import (
	"context"
	"fmt"
	"sort"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// RemoveNetwork tears down the pod network of a host that runs no pod of
// the cluster any more: first every container of reconcile's own
// infrastructure for the cluster (LabelInfra), then the network PodNetwork,
// which Docker removes with its bridge and its rules for it. A network of
// that name that reconcile did not create, or that belongs to another
// cluster, is left alone (removed is false, no error: it is not ours to
// judge). A container of someone else still attached to ours is named in
// the error, and the network stays. With dryRun it only says whether there
// is a network of ours to remove.
func (p *Pods) RemoveNetwork(ctx context.Context, cluster string, dryRun bool) (removed bool, err error) {
	nw, err := p.api.NetworkInspect(ctx, PodNetwork, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return false, p.removeInfra(ctx, cluster, dryRun)
	}
	if err != nil {
		return false, fmt.Errorf("%s: inspect network %s: %w", p.node, PodNetwork, err)
	}
	if nw.Labels[LabelManagedBy] != ManagedBy || nw.Labels[LabelCluster] != cluster {
		return false, p.removeInfra(ctx, cluster, dryRun)
	}
	if dryRun {
		return true, nil
	}
	if err := p.removeInfra(ctx, cluster, false); err != nil {
		return false, err
	}
	id := nw.ID
	if id == "" {
		id = PodNetwork
	}
	if err := p.api.NetworkRemove(ctx, id); err != nil && !cerrdefs.IsNotFound(err) {
		// Docker refuses while containers are attached: name them.
		if again, ierr := p.api.NetworkInspect(ctx, PodNetwork, network.InspectOptions{}); ierr == nil && len(again.Containers) > 0 {
			var names []string
			for _, c := range again.Containers {
				names = append(names, c.Name)
			}
			sort.Strings(names)
			return false, fmt.Errorf("%s: remove network %s: containers reconcile did not create are attached to it (%s); it is left in place: detach or remove them, then run again",
				p.node, PodNetwork, strings.Join(names, ", "))
		}
		return false, fmt.Errorf("%s: remove network %s: %w", p.node, PodNetwork, err)
	}
	return true, nil
}

// removeInfra removes the cluster's infrastructure containers.
func (p *Pods) removeInfra(ctx context.Context, cluster string, dryRun bool) error {
	if dryRun {
		return nil
	}
	list, err := p.api.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", LabelManagedBy+"="+ManagedBy),
		filters.Arg("label", LabelInfraCluster+"="+cluster),
		filters.Arg("label", LabelInfra),
	)})
	if err != nil {
		return fmt.Errorf("%s: list infrastructure containers: %w", p.node, err)
	}
	for _, c := range list {
		if c.Labels[LabelManagedBy] != ManagedBy || c.Labels[LabelInfraCluster] != cluster || c.Labels[LabelInfra] == "" {
			continue // a filter the daemon ignored must not widen what we remove
		}
		if err := p.api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("%s: remove %s container %s: %w", p.node, c.Labels[LabelInfra], strings.Join(c.Names, ","), err)
		}
	}
	return nil
}
