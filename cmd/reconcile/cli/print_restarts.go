package cli

import (
	"fmt"
	"time"

	"github.com/reconcile-dev/reconcile/runtime"
)

// restartsCell is kubectl's RESTARTS column (1.28 and later): the count,
// and how long ago the container last ended when it restarted.
func restartsCell(p runtime.Pod, now time.Time) string {
	if p.Restarts > 0 && p.LastState != nil && !p.LastState.FinishedAt.IsZero() {
		return fmt.Sprintf("%d (%s ago)", p.Restarts, humanAge(now.Sub(p.LastState.FinishedAt)))
	}
	return fmt.Sprint(p.Restarts)
}

// lastStateJSON is a container status's lastState, as kubectl prints it.
func lastStateJSON(ls *runtime.LastState) map[string]any {
	if ls == nil {
		return map[string]any{}
	}
	t := map[string]any{
		"exitCode": ls.ExitCode, "reason": ls.Reason,
		"startedAt": ls.StartedAt.Format(time.RFC3339), "finishedAt": ls.FinishedAt.Format(time.RFC3339),
	}
	if ls.Message != "" {
		t["message"] = ls.Message
	}
	return map[string]any{"terminated": t}
}
