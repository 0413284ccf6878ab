package cli

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/reconcile"
	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime/agent"
)

// allocRecord is what the hosts of testdata/alloc-conflict recorded:
// 198.19.0.20 is my-nginx's, which the Service "other" asks for.
var allocRecord = map[string][]byte{reconcile.AllocationsFile: []byte(
	`{"services":{"default/my-nginx":{"clusterIP":"198.19.0.20","created":"2025-01-01T00:00:00Z"}}}`)}

var otherRun = &rnet.LockInfo{ID: "other", Owner: "sync by cron@ops-1 pid 7",
	Acquired: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Expires: time.Now().Add(time.Hour)}

// TestExitCodes runs every command that can fail against fake hosts, once
// per exit code it can end with: one table (exitCode) decides them all,
// so the same failure gives the same code whatever the command.
func TestExitCodes(t *testing.T) {
	const alloc = "testdata/alloc-conflict"
	down := map[string]bool{"node-3": true}
	all := map[string]bool{"node-1": true, "node-2": true, "node-3": true}
	tests := []struct {
		name   string
		fleet  fakeFleet
		before []string // a command run first on the same hosts
		args   []string
		code   int
	}{
		{name: "apply ok", args: []string{"apply", "-f", examples}, code: ExitOK},
		{name: "apply usage", args: []string{"apply", "-f", examples, "--wait-for-lock", "-1s"}, code: ExitError},
		{name: "apply invalid", args: []string{"apply", "-f", "testdata/broken-tree"}, code: ExitInvalid},
		{name: "apply allocation", fleet: fakeFleet{files: allocRecord}, args: []string{"apply", "-f", alloc}, code: ExitInvalid},
		{name: "apply dry-run allocation", fleet: fakeFleet{files: allocRecord}, args: []string{"apply", "--dry-run", "-f", alloc}, code: ExitInvalid},
		{name: "apply unreachable", fleet: fakeFleet{unreachable: down}, args: []string{"apply", "-f", examples}, code: ExitUnreachable},
		{name: "apply dry-run unreachable", fleet: fakeFleet{unreachable: down}, args: []string{"apply", "--dry-run", "-f", examples}, code: ExitUnreachable},
		{name: "apply no quorum", fleet: fakeFleet{unreachable: map[string]bool{"node-2": true, "node-3": true}}, args: []string{"apply", "-f", examples}, code: ExitUnreachable},
		{name: "apply no usable host", fleet: fakeFleet{noDocker: true}, args: []string{"apply", "-f", examples}, code: ExitUnreachable},
		{name: "apply rollout", fleet: fakeFleet{neverReady: true}, args: []string{"apply", "-f", examples, "--timeout", "1s"}, code: ExitRollout},
		{name: "apply locked", fleet: fakeFleet{holder: otherRun}, args: []string{"apply", "-f", examples}, code: ExitLocked},

		{name: "diff in sync", before: []string{"apply", "-f", examples}, args: []string{"diff", "-f", examples}, code: ExitOK},
		{name: "diff changes", args: []string{"diff", "-f", examples}, code: ExitChanges},
		{name: "diff usage", args: []string{"diff", "-f", examples, "-o", "html"}, code: ExitError},
		{name: "diff invalid", args: []string{"diff", "-f", "testdata/broken-tree"}, code: ExitInvalid},
		{name: "diff allocation", fleet: fakeFleet{files: allocRecord}, args: []string{"diff", "-f", alloc}, code: ExitInvalid},
		{name: "diff unreachable", fleet: fakeFleet{unreachable: down}, args: []string{"diff", "-f", examples}, code: ExitUnreachable},

		{name: "sync ok", args: []string{"sync", "--once", "-f", examples}, code: ExitOK},
		{name: "sync usage", args: []string{"sync", "-f", examples}, code: ExitError},
		{name: "sync invalid", args: []string{"sync", "--once", "-f", "testdata/broken-tree"}, code: ExitInvalid},
		{name: "sync allocation", fleet: fakeFleet{files: allocRecord}, args: []string{"sync", "--once", "-f", alloc}, code: ExitInvalid},
		{name: "sync unreachable", fleet: fakeFleet{unreachable: down}, args: []string{"sync", "--once", "-f", examples}, code: ExitUnreachable},
		{name: "sync no quorum", fleet: fakeFleet{unreachable: all}, args: []string{"sync", "--once", "-f", examples}, code: ExitUnreachable},
		{name: "sync rollout", fleet: fakeFleet{neverReady: true}, args: []string{"sync", "--once", "-f", examples, "--timeout", "1s"}, code: ExitRollout},
		{name: "sync locked", fleet: fakeFleet{holder: otherRun}, args: []string{"sync", "--once", "-f", examples}, code: ExitLocked},

		{name: "get ok", before: []string{"apply", "-f", examples}, args: []string{"get", "pods", "-f", examples}, code: ExitOK},
		{name: "get usage", args: []string{"get", "pods", "-f", examples, "-o", "table"}, code: ExitError},
		{name: "get invalid", args: []string{"get", "pods", "-f", "testdata/broken-tree"}, code: ExitInvalid},
		{name: "get unreachable", fleet: fakeFleet{unreachable: down}, args: []string{"get", "pods", "-f", examples}, code: ExitUnreachable},

		{name: "describe ok", before: []string{"apply", "-f", examples}, args: []string{"describe", "svc", "my-nginx", "-f", examples}, code: ExitOK},
		{name: "describe usage", args: []string{"describe", "pod", "x", "-f", examples}, code: ExitError},
		{name: "describe invalid", args: []string{"describe", "svc", "x", "-f", "testdata/broken-tree"}, code: ExitInvalid},
		{name: "describe unreachable", fleet: fakeFleet{unreachable: down}, args: []string{"describe", "svc", "my-nginx", "-f", examples}, code: ExitUnreachable},

		{name: "validate ok", args: []string{"validate", "-f", examples}, code: ExitOK},
		{name: "validate usage", args: []string{"validate"}, code: ExitError},
		{name: "validate invalid", args: []string{"validate", "-f", "testdata/broken-tree"}, code: ExitInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fleet := tc.fleet
			fleet.use(t)
			if tc.before != nil {
				ios, _, stderr := Test()
				if code := Run(tc.before, ios); code != ExitOK {
					t.Fatalf("%v: exit %d\n%s", tc.before, code, stderr)
				}
			}
			ios, stdout, stderr := Test()
			code := Run(tc.args, ios)
			if code != tc.code {
				t.Errorf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.args, code, tc.code, stdout, stderr)
			}
			if tc.code >= ExitError && !strings.Contains(stderr.String(), "error: ") && !strings.HasPrefix(tc.name, "sync") {
				t.Errorf("exit %d without an error line:\n%s", code, stderr)
			}
		})
	}
}

// The common failures read with each thing said once: the node first, then
// what failed there, then the host's own words (golden files).
func TestFailureText(t *testing.T) {
	down := map[string]bool{"node-3": true}
	tests := []struct {
		name  string
		fleet fakeFleet
		args  []string
	}{
		{"unreachable", fakeFleet{unreachable: down}, []string{"diff", "-f", examples}},
		{"no-docker", fakeFleet{noDocker: true}, []string{"apply", "-f", examples}},
		{"locked", fakeFleet{holder: otherRun}, []string{"apply", "-f", examples}},
		{"allocation", fakeFleet{files: allocRecord}, []string{"apply", "-f", "testdata/alloc-conflict"}},
		{"no-quorum", fakeFleet{unreachable: map[string]bool{"node-2": true, "node-3": true}}, []string{"apply", "-f", examples}},
	}
	// The lock's expiry is relative to now.
	expires := regexp.MustCompile(`expires [0-9T:-]+Z`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fleet := tc.fleet
			fleet.use(t)
			ios, stdout, stderr := Test()
			code := Run(tc.args, ios)
			golden(t, "failure/"+tc.name, transcript(code, stdout.String(), expires.ReplaceAllString(stderr.String(), "expires EXPIRY")))
		})
	}
}

// exitCode is the one table: each kind of error, bare or wrapped, has one
// code. The node agent's fenced refusal is ExitLocked, which is how the
// CLI side of the agent recognizes it.
func TestExitCodeTable(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("context: %w", err) }
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"plain", errors.New("git fetch failed"), ExitError},
		{"usage", flagErrorf("bad flag"), ExitError},
		{"invalid manifests", resources.ErrorList{}, ExitInvalid},
		{"invalid", wrap(&reconcile.InvalidError{Err: errors.New("no Cluster")}), ExitInvalid},
		{"allocation", wrap(&reconcile.AllocationError{}), ExitInvalid},
		{"unreachable", wrap(reconcile.Unreachable(nil)), ExitUnreachable},
		{"no usable host", fmt.Errorf("%w: no node could be used", reconcile.ErrNoHosts), ExitUnreachable},
		{"no quorum", &reconcile.NoQuorumError{Reachable: 1, Nodes: 3}, ExitUnreachable},
		{"rollout", wrap(&reconcile.RolloutError{}), ExitRollout},
		{"locked", wrap(&reconcile.LockedError{}), ExitLocked},
		{"lock lost", fmt.Errorf("%w (node-2 refused)", reconcile.ErrLockLost), ExitLocked},
		{"fenced on the host", &rnet.FenceError{ID: "a"}, agent.ExitFenced},
		{"already reported", reported(resources.ErrorList{}), ExitInvalid},
		{"diff changes", silent(ExitChanges), ExitChanges},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := exitCode(tc.err); got != tc.want {
				t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}
