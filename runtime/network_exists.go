package runtime

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
)

// HasNetwork reports whether the pod network exists, for plans: false when
// it is missing, an error when a network of that name is not ours or has
// another subnet (apply would refuse it too).
func (p *Pods) HasNetwork(ctx context.Context, cluster, subnet string) (bool, error) {
	prefix, _, err := podSubnet(subnet)
	if err != nil {
		return false, fmt.Errorf("%s: pod network: %w", p.node, err)
	}
	nw, err := p.api.NetworkInspect(ctx, PodNetwork, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: inspect network %s: %w", p.node, PodNetwork, err)
	}
	return true, checkNetwork(p.node, nw, cluster, prefix)
}
