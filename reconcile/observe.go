package reconcile

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/reconcile-dev/reconcile/runtime"
)

// Observed is the live state read back from the hosts' own labels and files;
// there is no local state.
type Observed struct {
	Pods        map[string][]runtime.Pod     // by node, reachable nodes only
	Claims      map[string][]runtime.Claim   // claim volumes by node, reachable nodes only (claims.go)
	Files       map[string]map[string][]byte // by node, then path: our state files
	Unreachable map[string]error             // nodes that could not be read
	// Now and ReadySince (pod ID: first seen ready) are the run's, for
	// minReadySeconds (available.go); zero: estimated from uptimes.
	Now        time.Time
	ReadySince map[string]time.Time
}

// Reachable reports the nodes whose state was read, sorted.
func (o *Observed) Reachable() []string { return slices.Sorted(maps.Keys(o.Pods)) }

// observe lists pods on every host in parallel (one Docker API call each)
// and, when paths are given, reads those files through the node agent.
func observe(ctx context.Context, hosts map[string]Host, paths []string) *Observed {
	return observeNoting(ctx, hosts, paths, nil)
}

// heldReader is a Host that can learn what it holds of some files while
// it reads others (sshHost.ReadFilesNoting).
type heldReader interface {
	ReadFilesNoting(ctx context.Context, paths, held []string) (map[string][]byte, error)
}

// observeNoting is observe that also has each host that can note what it
// holds of the files in held, in the same round trip, for the run's
// first write.
func observeNoting(ctx context.Context, hosts map[string]Host, paths, held []string) *Observed {
	o := &Observed{Pods: map[string][]runtime.Pod{}, Claims: map[string][]runtime.Claim{}, Files: map[string]map[string][]byte{}, Unreachable: map[string]error{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, h := range hosts {
		wg.Go(func() {
			// The files come from the agent, the pods and claims from
			// Docker: separate round trips, made at once.
			var files map[string][]byte
			var readErr error
			var read sync.WaitGroup
			read.Go(func() {
				if hr, ok := h.(heldReader); ok && len(paths) > 0 && len(held) > 0 {
					files, readErr = hr.ReadFilesNoting(ctx, paths, held)
				} else if len(paths) > 0 {
					files, readErr = h.ReadFiles(ctx, paths)
				}
			})
			pods, err := h.ListPods(ctx)
			var claims []runtime.Claim
			if err == nil {
				claims, err = h.ListClaims(ctx, false)
			}
			read.Wait()
			if err == nil {
				err = readErr
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				o.Unreachable[name] = err // it names the node
				return
			}
			for i := range pods {
				pods[i].Node = name
			}
			for i := range claims {
				claims[i].Node = name
			}
			o.Pods[name] = pods
			o.Claims[name] = claims
			o.Files[name] = files
		})
	}
	wg.Wait()
	return o
}
