package reconcile

import (
	"context"
	"fmt"
	"sync"
)

// RolloutHistory reads the template revisions of Deployment namespace/name
// that the hosts recorded (TemplateHistoryFile), oldest first, as `kubectl
// rollout history` lists a Deployment's ReplicaSets. It reads only. Hosts
// that cannot be read are skipped; when none can be, that is the error.
func RolloutHistory(ctx context.Context, hosts map[string]Host, namespace, name string) ([]TemplateRevision, error) {
	var (
		mu    sync.Mutex
		files [][]byte
		errs  = map[string]error{}
		wg    sync.WaitGroup
	)
	for n, h := range hosts {
		wg.Go(func() {
			got, err := h.ReadFiles(ctx, []string{TemplateHistoryFile})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[n] = err
				return
			}
			files = append(files, got[TemplateHistoryFile])
		})
	}
	wg.Wait()
	if len(files) == 0 && len(errs) > 0 {
		return nil, Unreachable(nodeErrors(errs))
	}
	revs := mergeHistories(files).Revisions(namespace, name)
	if len(revs) == 0 {
		return nil, &NotFoundError{msg: fmt.Sprintf("deployment %s/%s: the hosts record no revision of it (has it been applied?)", namespace, name)}
	}
	return revs, nil
}
