package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/reconcile-dev/reconcile/runtime"
)

// The agent checks what it is told before it names a volume after it: no
// Docker call is made for a bad op or a claim that is not namespace/name
// (the Docker host here does not exist, so any call would fail otherwise).
func TestServeClaimsRefuses(t *testing.T) {
	for _, tc := range []struct {
		req  ClaimsRequest
		want string
	}{
		{ClaimsRequest{Op: "wipe"}, `unknown claims op "wipe"`},
		{ClaimsRequest{Op: ClaimsEnsure, DryRun: true, Claim: runtime.ClaimRef{Namespace: "default", Name: "../../etc"}}, `claim "default/../../etc": not a namespace/name`},
		{ClaimsRequest{Op: ClaimsRemove, DryRun: true, Claim: runtime.ClaimRef{Namespace: "a.b", Name: "x"}}, `claim "a.b/x": not a namespace/name`},
		{ClaimsRequest{Op: ClaimsRemove, Fence: "someone", Claim: runtime.ClaimRef{Namespace: "default", Name: "X"}}, `claim "default/X": not a namespace/name`},
	} {
		tc.req.Cluster, tc.req.DockerHost = "lab", "unix:///nonexistent/docker.sock"
		_, err := serveClaims(context.Background(), tc.req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.req, err, tc.want)
		}
	}
}
