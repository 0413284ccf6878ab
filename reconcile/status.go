package reconcile

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime"
)

// Status is the live state as the read commands show it: pods and their
// Deployments from the hosts' containers, Services with the addresses the
// hosts recorded, and the endpoints file as a host holds it.
type Status struct {
	Pods        []runtime.Pod // sorted by namespace, then name
	Deployments []DeploymentView
	Services    []ServiceState
	Endpoints   EndpointsList
	// ConfigMaps, Secrets and Namespaces as the manifests declare them
	// (the hosts hold only the files of mounted ones), for get.
	ConfigMaps []*resources.ConfigMap
	Secrets    []*resources.Secret
	Namespaces []*resources.Namespace
	// Claims are the PersistentVolumeClaims and where their volumes are
	// (claimstatus.go).
	Claims      []ClaimView
	Unreachable []NodeError
}

// DeploymentView is one row of `get deployments`.
type DeploymentView struct {
	DeploymentStatus
	Available int
	Created   time.Time // oldest pod's creation, for AGE
	// NodeSelector is a DaemonSet's pod template nodeSelector, for
	// `get ds`.
	NodeSelector map[string]string
}

// ReadStatus is ReadStatusWith, without measuring claim volumes.
func ReadStatus(ctx context.Context, d *Desired, hosts map[string]Host, unreachable map[string]error) (*Status, error) {
	return ReadStatusWith(ctx, d, hosts, unreachable, StatusOptions{})
}

// ReadStatusWith reads pods (with restart counts) and claim volumes from
// every host in parallel, and the allocation and endpoints files from the
// first host that has them.
func ReadStatusWith(ctx context.Context, d *Desired, hosts map[string]Host, unreachable map[string]error, o StatusOptions) (*Status, error) {
	if err := d.RequireCluster(); err != nil {
		return nil, err
	}
	if err := d.withClusterDNS(); err != nil {
		return nil, err
	}
	obs := observe(ctx, hosts, []string{AllocationsFile, d.Cluster.Spec.EndpointsFile, PendingFile})
	inspectAll(ctx, hosts, obs)
	if o.ClaimUsage {
		withClaimUsage(ctx, hosts, obs)
	}
	st := &Status{Claims: claimViews(d, obs)}
	for _, n := range obs.Reachable() {
		st.Pods = append(st.Pods, obs.Pods[n]...)
	}
	st.Pods = append(st.Pods, pendingPods(d, obs)...)
	sort.Slice(st.Pods, func(i, j int) bool {
		if st.Pods[i].Namespace != st.Pods[j].Namespace {
			return st.Pods[i].Namespace < st.Pods[j].Namespace
		}
		return st.Pods[i].Name < st.Pods[j].Name
	})

	_, statuses := Step(d.Deployments, d.Cluster, obs, false, true)
	for i, s := range statuses {
		v := DeploymentView{DeploymentStatus: s}
		if dep := d.Deployments[i]; dep.DaemonSet != nil {
			v.NodeSelector = dep.Spec.Template.Spec.NodeSelector
		}
		for _, p := range st.Pods {
			if p.Namespace == s.Namespace && p.Deployment == s.Name {
				if p.Ready {
					v.Available++
				}
				if v.Created.IsZero() || p.Created.Before(v.Created) {
					v.Created = p.Created
				}
			}
		}
		st.Deployments = append(st.Deployments, v)
	}

	var epFile []byte
	for _, n := range obs.Reachable() {
		if epFile == nil {
			epFile = obs.Files[n][d.Cluster.Spec.EndpointsFile]
		}
	}
	alloc, err := recordedAllocations(obs)
	if err != nil {
		return nil, err
	}
	st.Services = serviceStates(d.Set, alloc, obs, nil)
	st.Endpoints = BuildEndpoints(d.Cluster, st.Services)
	st.ConfigMaps, st.Secrets, st.Namespaces = d.Set.ConfigMaps, d.Set.Secrets, d.Set.Namespaces
	if epFile != nil {
		var fromHost EndpointsList
		if err := json.Unmarshal(epFile, &fromHost); err == nil {
			st.Endpoints = fromHost
		}
	}
	for n, err := range obs.Unreachable {
		unreachable[n] = err
	}
	st.Unreachable = nodeErrors(unreachable)
	return st, nil
}

// inspectAll fills restart counts and start times, which a listing lacks.
func inspectAll(ctx context.Context, hosts map[string]Host, obs *Observed) {
	var wg sync.WaitGroup
	for n, pods := range obs.Pods {
		for i := range pods {
			h, p := hosts[n], &pods[i]
			wg.Go(func() {
				if full, err := h.InspectPod(ctx, p.ID); err == nil {
					full.Node = p.Node
					*p = full
				}
			})
		}
	}
	wg.Wait()
}
