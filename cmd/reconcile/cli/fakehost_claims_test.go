package cli

import (
	"context"
	"slices"
	"strings"

	"github.com/reconcile-dev/reconcile/runtime"
)

// The fake host's claim volumes, as the agent lists them; a test puts
// them in h.claims (usage included).

func (h *fakeHost) ListClaims(context.Context, bool) ([]runtime.Claim, error) {
	if err := h.docker(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.claims)
	for i := range out {
		out[i].Node = h.name
	}
	slices.SortFunc(out, func(a, b runtime.Claim) int { return strings.Compare(a.String(), b.String()) })
	return out, nil
}

func (h *fakeHost) EnsureClaim(_ context.Context, c runtime.ClaimRef, source string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, have := range h.claims {
		if have.ClaimRef == c {
			return false, nil
		}
	}
	h.claims = append(h.claims, runtime.Claim{ClaimRef: c, Volume: runtime.ClaimVolume("lab", c), Source: source})
	return true, nil
}

func (h *fakeHost) RemoveClaim(_ context.Context, c runtime.ClaimRef, dryRun bool) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, have := range h.claims {
		if have.ClaimRef == c {
			if !dryRun {
				h.claims = slices.Delete(h.claims, i, i+1)
			}
			return true, nil
		}
	}
	return false, nil
}
