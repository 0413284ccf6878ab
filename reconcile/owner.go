package reconcile

import (
	"fmt"
	"maps"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/reconcile-dev/reconcile/runtime"
)

// LocalSource is the source identity of manifests read from a local
// directory (-f) without --source-id: every local tree counts as one source.
const LocalSource = "local"

// SourceID names a source of manifests, like Argo CD's Application or
// Flux's Kustomization name: the repository URL (without credentials) and
// the path inside it. It is recorded on every pod (LabelSource) and every
// Service allocation, so that two sources applying to one Cluster prune
// only their own.
func SourceID(repo, dir string) string {
	if repo == "" {
		return LocalSource
	}
	if u, err := url.Parse(repo); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.User(u.User.Username())
			repo = u.String()
		}
	}
	p := strings.Trim(path.Clean("/"+dir), "/")
	if p == "" {
		p = "."
	}
	return repo + "//" + p
}

// ownPods splits obs into the pods source src manages, and the others'
// (foreign). Pods without a source label (made before sources were
// recorded) are adopted by whichever source applies. An empty src (tests,
// read commands) owns everything.
func ownPods(obs *Observed, src string) (*Observed, []runtime.Pod) {
	if src == "" {
		return obs, nil
	}
	own := &Observed{Pods: make(map[string][]runtime.Pod, len(obs.Pods)), Claims: obs.Claims, Files: obs.Files, Unreachable: obs.Unreachable}
	var foreign []runtime.Pod
	for n, ps := range obs.Pods {
		mine := make([]runtime.Pod, 0, len(ps))
		for _, p := range ps {
			if p.Source == "" || p.Source == src {
				mine = append(mine, p)
			} else {
				foreign = append(foreign, p)
			}
		}
		own.Pods[n] = mine
	}
	sort.Slice(foreign, func(i, j int) bool {
		if foreign[i].Node != foreign[j].Node {
			return foreign[i].Node < foreign[j].Node
		}
		return foreign[i].Name < foreign[j].Name
	})
	return own, foreign
}

// SourceConflictError refuses a run whose source would take over or undo
// another source's objects on the same Cluster.
type SourceConflictError struct {
	Cluster string
	Source  string   // this run's source
	Lines   []string // one per conflicting object
}

func (e *SourceConflictError) Error() string {
	return fmt.Sprintf("cluster %s: source %s conflicts with another source applying to the same cluster:\n  %s\nnothing was changed: declare each object in one source only, or pass --source-id with the other source's identity to take its objects over",
		e.Cluster, e.Source, strings.Join(e.Lines, "\n  "))
}

// checkSources refuses when d declares a Deployment whose pods another
// source manages, or when the hosts hold Services of another source: every
// node's VIP rules and endpoints file are one whole state, and writing ours
// would delete the other source's VIPs (merging two sources' Services on
// one node is not supported yet).
func checkSources(d *Desired, foreign []runtime.Pod, prev Allocations) error {
	src := d.Source
	if src == "" {
		return nil
	}
	e := &SourceConflictError{Cluster: d.Cluster.Name, Source: src}
	declared := map[string]bool{}
	for _, dep := range d.Deployments {
		declared[key(dep.Namespace, dep.Name)] = true
	}
	seen := map[string]bool{}
	for _, p := range foreign {
		k := key(p.Namespace, p.Deployment)
		if declared[k] && !seen[k] {
			seen[k] = true
			e.Lines = append(e.Lines, fmt.Sprintf("Deployment %s: its pods are managed by source %s", k, p.Source))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(prev.Services)) {
		if a := prev.Services[k]; a.Source != "" && a.Source != src && k != clusterDNSKey {
			e.Lines = append(e.Lines, fmt.Sprintf("Service %s: managed by source %s (VIP rules of two sources on one node cannot be merged yet)", k, a.Source))
		}
	}
	if len(e.Lines) == 0 {
		return nil
	}
	return e
}

// stampSource records src on every allocation a run hands out or keeps:
// an allocation recorded without one (before sources were recorded) is
// adopted by the source that declares the Service. The cluster DNS Service
// is no source's.
func stampSource(a Allocations, src string) {
	for k, v := range a.Services {
		if k == clusterDNSKey {
			continue
		}
		v.Source = src
		a.Services[k] = v
	}
}
