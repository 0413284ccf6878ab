package runtime

import (
	"context"
	"sync"
	"time"
)

// pullReuse is how long a pull's outcome stands for further pods of the same
// image on this host. Kubernetes' Always means "ask the registry when a
// container is launched"; the pods one apply starts together launch
// together, so one answer serves them all, and a registry that is slow or
// unreachable is waited for once per host instead of once per pod (60 pods
// of a ":latest" image were 60 serial manifest lookups). Later runs, and
// daemon passes after this window, ask again.
const pullReuse = 30 * time.Second

// pullMemo coalesces the pulls of one ref on one host: concurrent callers
// wait for the pull in flight, later ones within pullReuse get its result.
type pullMemo struct {
	mu sync.Mutex
	m  map[string]*pullCall
}

type pullCall struct {
	done chan struct{}
	err  error
	at   time.Time // when the pull ended
}

// do runs pull for key unless a pull of key is in flight or ended less than
// pullReuse ago, and returns that pull's error. A caller whose ctx ends
// while it waits returns ctx's error; the pull in flight goes on for the
// others.
func (pm *pullMemo) do(ctx context.Context, key string, now func() time.Time, pull func() error) error {
	pm.mu.Lock()
	if pm.m == nil {
		pm.m = map[string]*pullCall{}
	}
	if c, ok := pm.m[key]; ok {
		select {
		case <-c.done:
			if now().Sub(c.at) < pullReuse {
				pm.mu.Unlock()
				return c.err
			}
		default:
			pm.mu.Unlock()
			select {
			case <-c.done:
				return c.err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	c := &pullCall{done: make(chan struct{})}
	pm.m[key] = c
	pm.mu.Unlock()

	c.err = pull()
	c.at = now()
	if ctx.Err() != nil {
		// A pull cut short by its caller says nothing about the registry:
		// do not hand its error to the next pod.
		pm.mu.Lock()
		delete(pm.m, key)
		pm.mu.Unlock()
	}
	close(c.done)
	return c.err
}
