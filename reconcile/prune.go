package reconcile

import (
	"fmt"
	"sort"
	"strings"
)

// EmptyPruneError refuses a run that would delete every workload because
// the manifests declare none: most often a wrong --path, or a tree that
// holds only the Cluster. Like Argo CD's automated sync with allowEmpty
// false, the user must say so explicitly (--allow-empty).
type EmptyPruneError struct {
	Cluster  string
	Source   string   // the tree or repository that was read
	Pods     []string // node: namespace/pod, the pods prune would delete
	Services []string // namespace/name, the Services whose VIPs would go
}

func (e *EmptyPruneError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refusing to prune every workload of cluster %s: %s declares no Deployment", e.Cluster, e.Source)
	if len(e.Pods) > 0 {
		fmt.Fprintf(&b, ", and apply would delete %d %s", len(e.Pods), plural(len(e.Pods), "pod", "pods"))
	}
	if len(e.Services) > 0 {
		fmt.Fprintf(&b, " and the VIPs of %d %s", len(e.Services), plural(len(e.Services), "service", "services"))
	}
	b.WriteString(" (check --path; to delete them, pass --allow-empty):")
	const most = 20 // enough to recognise the workloads; the plan has all
	list := func(what string, items []string) {
		for i, it := range items {
			if i == most {
				fmt.Fprintf(&b, "\n  … and %d more", len(items)-most)
				return
			}
			fmt.Fprintf(&b, "\n  %s %s", what, it)
		}
	}
	list("pod", e.Pods)
	list("service", e.Services)
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// checkEmptyPrune returns the refusal when d declares no Deployment while
// pruning would delete pods, or would free every Service's VIP.
func checkEmptyPrune(d *Desired, obs *Observed, prev Allocations) *EmptyPruneError {
	if len(d.Deployments) > 0 {
		return nil
	}
	e := &EmptyPruneError{Cluster: d.Cluster.Name, Source: d.Dir}
	if d.Repo != "" {
		e.Source = d.Repo
		if d.Commit != "" {
			e.Source += " at " + shortCommit(d.Commit)
		}
	}
	for _, n := range obs.Reachable() {
		for _, p := range obs.Pods[n] {
			e.Pods = append(e.Pods, n+": "+p.Namespace+"/"+p.Name)
		}
	}
	// The cluster DNS Service is reconcile's own: declared on every run, it
	// is not a workload the tree keeps.
	if !declaresServices(d.Services) {
		for k := range prev.Services {
			if k != clusterDNSKey {
				e.Services = append(e.Services, k)
			}
		}
	}
	sort.Strings(e.Pods)
	sort.Strings(e.Services)
	if len(e.Pods) == 0 && len(e.Services) == 0 {
		return nil
	}
	return e
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
