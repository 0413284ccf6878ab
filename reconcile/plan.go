package reconcile

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/net/clusterdns"
	"github.com/reconcile-dev/reconcile/runtime"
)

// Plan is every change a run would make, grouped by node. diff, apply
// --dry-run and the markdown printer all render this one value.
type Plan struct {
	Cluster     string             `json:"cluster"`
	Repo        string             `json:"repo,omitempty"`
	Commit      string             `json:"commit,omitempty"`
	Nodes       []NodePlan         `json:"nodes"`
	Allocations []AllocationChange `json:"allocations,omitempty"`
	// Config are the ConfigMaps and Secrets whose mounted files change
	// (plan_config.go); the node's volume changes say where.
	Config      []ConfigChange `json:"config,omitempty"`
	Unreachable []NodeError    `json:"unreachable,omitempty"`
	// Refused says why apply would refuse this plan (e.g. it would prune
	// every workload and --allow-empty was not given); the plan still
	// lists every change, so the user sees what was at stake.
	Refused string `json:"refused,omitempty"`
	// Foreign are pods another source manages on this cluster: shown so
	// the user knows they are there, never changed by this source.
	Foreign []ForeignPod `json:"foreign,omitempty"`
	// Claims are the claim volumes made, kept or deleted (claims.go).
	Claims []ClaimChange `json:"claims,omitempty"`
}

// ForeignPod is a pod of another source.
type ForeignPod struct {
	Node      string `json:"node"`
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Source    string `json:"source"`
}

// NodePlan is what changes on one node.
type NodePlan struct {
	Node    string `json:"node"`
	Network string `json:"network,omitempty"` // the pod subnet, when the pod network must be created
	// RemoveNetwork: the pod network goes (removing everything, see
	// teardown.go).
	RemoveNetwork bool          `json:"removeNetwork,omitempty"`
	Pods          []PodChange   `json:"pods,omitempty"`
	Net           []rnet.Change `json:"net,omitempty"` // routes, VIP rules, files
}

// PodChange is one pod created or deleted.
type PodChange struct {
	Action     ActionKind `json:"action"`
	Namespace  string     `json:"namespace"`
	Deployment string     `json:"deployment"`
	Pod        string     `json:"pod"` // for creates, the name pattern: NAME-HASH-*
	Image      string     `json:"image"`
	Reason     string     `json:"reason"`
}

// AllocationChange is a ClusterIP or nodePort handed out or freed.
type AllocationChange struct {
	Action    string  `json:"action"`  // allocate or free
	Service   string  `json:"service"` // namespace/name
	ClusterIP string  `json:"clusterIP"`
	NodePorts []int32 `json:"nodePorts,omitempty"`
}

// NodeError names a node that could not be read or changed.
type NodeError struct {
	Node  string `json:"node"`
	Error string `json:"error"`
}

// Detail is the error without the node's name in front, for output that
// names the node already.
func (e NodeError) Detail() string {
	d, _ := strings.CutPrefix(e.Error, e.Node+": ")
	return d
}

// String is the node, then what failed there.
func (e NodeError) String() string { return e.Node + ": " + e.Detail() }

// HasChanges reports whether applying the plan would change anything.
func (p *Plan) HasChanges() bool {
	if len(p.Allocations) > 0 {
		return true
	}
	for _, c := range p.Claims {
		if c.Action != ClaimKeep {
			return true
		}
	}
	for _, n := range p.Nodes {
		if n.Network != "" || n.RemoveNetwork || len(n.Pods) > 0 || len(n.Net) > 0 {
			return true
		}
	}
	return false
}

// prepared is what both diff and apply compute first: the live state and
// the allocations, checked before anything is changed.
type prepared struct {
	obs     *Observed // this source's pods (and unlabeled ones, adopted)
	foreign []runtime.Pod
	prev    Allocations
	alloc   Allocations
	// applied is each host's recorded network config hash and its drift,
	// when the hosts were read with their status (diff); nil otherwise.
	applied map[string]rnet.Applied
}

func prepare(ctx context.Context, d *Desired, hosts map[string]Host) (*prepared, error) {
	// What the hosts hold of the files every node gets, for the first
	// write (sshHost.ReadFilesNoting).
	held := []string{d.Cluster.Spec.EndpointsFile, clusterdns.DefaultRecordsFile, RevisionFile, PendingFile}
	obs := observeNoting(ctx, hosts, []string{AllocationsFile, TemplateHistoryFile}, held)
	p, err := prepareFrom(d, obs, nil)
	if err == nil {
		d.recordHistory(p.obs)
	}
	return p, err
}

func prepareFrom(d *Desired, obs *Observed, applied map[string]rnet.Applied) (*prepared, error) {
	if err := d.withClusterDNS(); err != nil {
		return nil, err
	}
	obs, foreign := ownPods(obs, d.Source)
	if err := checkImmutable(d, obs); err != nil {
		return nil, err
	}
	prev, alloc, err := allocations(d, obs, foreign)
	if err != nil {
		return nil, err
	}
	return &prepared{obs: obs, foreign: foreign, prev: prev, alloc: alloc, applied: applied}, nil
}

// observeStatus reads every host with one status call each: its pods, the
// files in paths, and the network config it last applied (hash and drift).
func observeStatus(ctx context.Context, hosts map[string]Host, paths []string) (*Observed, map[string]rnet.Applied) {
	obs := &Observed{Pods: map[string][]runtime.Pod{}, Claims: map[string][]runtime.Claim{}, Files: map[string]map[string][]byte{}, Unreachable: map[string]error{}}
	applied := map[string]rnet.Applied{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, h := range hosts {
		wg.Go(func() {
			st, err := h.Status(ctx, paths)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				obs.Unreachable[name] = err // it names the node
				return
			}
			for i := range st.Pods {
				st.Pods[i].Node = name
			}
			for i := range st.Claims {
				st.Claims[i].Node = name
			}
			obs.Pods[name], obs.Claims[name], obs.Files[name], applied[name] = st.Pods, st.Claims, st.Files, st.Applied
		})
	}
	wg.Wait()
	return obs, applied
}

// PlanOptions are what a plan prunes: pods (and Services) the manifests
// no longer declare, and with PruneVolumes the volumes of their claims.
type PlanOptions struct {
	Prune, PruneVolumes bool
}

// ComputePlan is ComputePlanWith, pruning volumes never.
func ComputePlan(ctx context.Context, d *Desired, hosts map[string]Host, unreachable map[string]error, prune bool) (*Plan, error) {
	return ComputePlanWith(ctx, d, hosts, unreachable, PlanOptions{Prune: prune})
}

// ComputePlanWith reads the hosts and returns every change apply would
// make. Nothing is changed: host networking is asked in dry-run mode.
func ComputePlanWith(ctx context.Context, d *Desired, hosts map[string]Host, unreachable map[string]error, o PlanOptions) (*Plan, error) {
	prune := o.Prune
	if err := d.RequireCluster(); err != nil {
		return nil, err
	}
	// One status call per host: when a host's recorded config is the one
	// it would get, its drift is exactly what a dry run of that config
	// reports, and the config (Services and all) need not be sent.
	obs, applied := observeStatus(ctx, hosts, []string{AllocationsFile, TemplateHistoryFile})
	p, err := prepareFrom(d, obs, applied)
	if err != nil {
		return nil, err
	}
	d.recordHistory(p.obs)
	plan := &Plan{Cluster: d.Cluster.Name, Repo: d.Repo, Commit: d.Commit}
	plan.Allocations = allocationChanges(p.prev, p.alloc)
	for _, fp := range p.foreign {
		plan.Foreign = append(plan.Foreign, ForeignPod{Node: fp.Node, Namespace: fp.Namespace, Pod: fp.Name, Source: fp.Source})
	}
	if prune {
		if e := checkEmptyPrune(d, p.obs, p.prev); e != nil {
			plan.Refused = e.Error()
		}
	}
	actions, _ := Step(d.Deployments, d.Cluster, p.obs, prune, true)
	plan.Claims = planClaims(d, p.obs, actions, prune && o.PruneVolumes)

	skip := map[string]bool{}
	byNode := map[string]*NodePlan{}
	nodePlan := func(n string) *NodePlan {
		if byNode[n] == nil {
			byNode[n] = &NodePlan{Node: n}
		}
		return byNode[n]
	}
	for _, a := range actions {
		pc := PodChange{Action: a.Kind, Namespace: a.Namespace, Deployment: a.Deployment, Image: a.Image, Reason: a.Reason}
		if a.Kind == ActionDelete {
			pc.Pod, pc.Image = a.Pod.Name, a.Pod.Image
			skip[a.Pod.ID] = true
		} else {
			pc.Pod = a.Deployment + "-" + a.TemplateHash + "-*"
		}
		np := nodePlan(a.Node)
		np.Pods = append(np.Pods, pc)
	}

	dn := desiredNetworkFor(d, p.alloc, p.obs, skip, actions)
	teardown := tearsDown(d, p.foreign, prune)
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := map[string]error{}
	for _, n := range d.Cluster.Spec.Nodes {
		h, ok := hosts[n.Name]
		if _, read := p.obs.Pods[n.Name]; !ok || !read {
			continue // not read: unreachable, reported below
		}
		wg.Go(func() {
			var exists bool
			var res *rnet.Result
			var err error
			if teardown {
				exists, res, err = planTeardown(ctx, d, h)
			} else if exists, err = h.HasNetwork(ctx, n.PodCIDR); err == nil {
				// A host that records this very config needs no dry run:
				// its status already said what drifted.
				if a, ok := p.applied[n.Name]; ok && a.ConfigHash != "" && a.ConfigHash == rnet.ConfigHash(dn.configs[n.Name]) {
					res = &rnet.Result{Node: n.Name, Changes: a.Drift}
				} else {
					res, err = h.NodeApply(ctx, dn.configs[n.Name], true)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[n.Name] = err
				return
			}
			np := nodePlan(n.Name)
			switch {
			case teardown:
				np.RemoveNetwork = exists
			case !exists:
				np.Network = n.PodCIDR
			}
			// The revision record follows any commit, the template
			// history any pod change; neither is a change the manifests
			// ask for, so diff does not show them.
			for _, c := range res.Changes {
				if c.Target != RevisionFile && c.Target != TemplateHistoryFile {
					np.Net = append(np.Net, c)
				}
			}
		})
	}
	wg.Wait()
	for n, err := range errs {
		unreachable[n] = err
	}
	for n, err := range p.obs.Unreachable {
		unreachable[n] = err
	}
	for _, n := range slices.Sorted(maps.Keys(byNode)) {
		if _, bad := errs[n]; !bad {
			plan.Nodes = append(plan.Nodes, *byNode[n])
		}
	}
	plan.Config = configChanges(d, plan.Nodes)
	plan.Unreachable = nodeErrors(unreachable)
	return plan, nil
}

func nodeErrors(m map[string]error) []NodeError {
	var out []NodeError
	for _, n := range slices.Sorted(maps.Keys(m)) {
		out = append(out, NodeError{Node: n, Error: m[n].Error()})
	}
	return out
}

func allocationChanges(prev, next Allocations) []AllocationChange {
	var out []AllocationChange
	for k, a := range next.Services {
		if p, ok := prev.Services[k]; !ok || p.ClusterIP != a.ClusterIP || !sameNodePorts(p.NodePorts, a.NodePorts) {
			out = append(out, AllocationChange{Action: "allocate", Service: k, ClusterIP: a.ClusterIP, NodePorts: sortedPorts(a.NodePorts)})
		}
	}
	for k, a := range prev.Services {
		if _, ok := next.Services[k]; !ok {
			out = append(out, AllocationChange{Action: "free", Service: k, ClusterIP: a.ClusterIP, NodePorts: sortedPorts(a.NodePorts)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

func sameNodePorts(a, b map[string]int32) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func sortedPorts(m map[string]int32) []int32 {
	var out []int32
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
