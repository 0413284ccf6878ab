package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/reconcile-dev/reconcile/runtime"
)

// The fake host's claim volumes: made and removed like the agent does,
// refused while a pod of the fake mounts one.

func (f *fakeHost) ListClaims(context.Context, bool) ([]runtime.Claim, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, fmt.Errorf("connection refused")
	}
	var out []runtime.Claim
	for _, c := range f.claims {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b runtime.Claim) int { return strings.Compare(a.String(), b.String()) })
	return out, nil
}

func (f *fakeHost) EnsureClaim(_ context.Context, c runtime.ClaimRef, source string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.claimErr != nil {
		return false, f.claimErr
	}
	if f.claims == nil {
		f.claims = map[string]runtime.Claim{}
	}
	if _, ok := f.claims[c.String()]; ok {
		return false, nil
	}
	f.claims[c.String()] = runtime.Claim{ClaimRef: c, Volume: runtime.ClaimVolume("lab", c), Source: source, Node: f.name, Created: time.Unix(900, 0)}
	return true, nil
}

func (f *fakeHost) RemoveClaim(_ context.Context, c runtime.ClaimRef, dryRun bool) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.claims[c.String()]; !ok {
		return false, nil
	}
	for id, ms := range f.mounts {
		if _, live := f.pods[id]; live && slices.Contains(ms, c) {
			return false, fmt.Errorf("%s: claim %s: volume in use by %s", f.name, c, f.pods[id].Name)
		}
	}
	if !dryRun {
		delete(f.claims, c.String())
	}
	return true, nil
}
