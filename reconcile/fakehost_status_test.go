package reconcile

import (
	"context"

	rnet "github.com/reconcile-dev/reconcile/net"
)

// Status answers like the agent: pods, files of the last applied config,
// and that config's hash; drift is whatever the test put in f.drift.
func (f *fakeHost) Status(ctx context.Context, paths []string) (*NodeStatus, error) {
	pods, err := f.ListPods(ctx)
	if err != nil {
		return nil, err
	}
	files, _ := f.ReadFiles(ctx, paths)
	claims, _ := f.ListClaims(ctx, false)
	f.mu.Lock()
	defer f.mu.Unlock()
	st := &NodeStatus{Pods: pods, Claims: claims, Files: files}
	if len(f.configs) > 0 {
		st.Applied = rnet.Applied{ConfigHash: rnet.ConfigHash(f.configs[len(f.configs)-1]), Drift: f.drift}
	}
	return st, nil
}

func (f *fakeHost) Events(ctx context.Context) (<-chan PodEvent, <-chan error) {
	errs := make(chan error, 1)
	go func() { <-ctx.Done(); errs <- ctx.Err() }()
	return f.events, errs
}
