package runtime

import (
	"testing"
	"time"
)

// Kubernetes' crash back-off: at once, then base, doubling to 5 minutes;
// a container that ran 10 minutes starts over.
func TestNextBackoff(t *testing.T) {
	const base = 10 * time.Second
	tests := []struct {
		cur, ran   time.Duration
		wait, next time.Duration
	}{
		{0, time.Second, 0, 10 * time.Second},
		{10 * time.Second, time.Second, 10 * time.Second, 20 * time.Second},
		{20 * time.Second, time.Second, 20 * time.Second, 40 * time.Second},
		{160 * time.Second, time.Second, 160 * time.Second, 5 * time.Minute},
		{5 * time.Minute, time.Second, 5 * time.Minute, 5 * time.Minute},
		{5 * time.Minute, 10 * time.Minute, 0, 10 * time.Second},
		{40 * time.Second, 9 * time.Minute, 40 * time.Second, 80 * time.Second},
	}
	for _, tt := range tests {
		wait, next := nextBackoff(tt.cur, tt.ran, base)
		if wait != tt.wait || next != tt.next {
			t.Errorf("nextBackoff(%s, ran %s) = %s, %s; want %s, %s", tt.cur, tt.ran, wait, next, tt.wait, tt.next)
		}
	}
}

// What get pods shows of a supervised container comes from its labels.
func TestWithRestartState(t *testing.T) {
	l := map[string]string{LabelRestartPolicy: RestartAlways, LabelRestartCount: "3",
		LabelLastState:  `{"exitCode":2,"reason":"Error","startedAt":"2026-01-01T00:00:00Z","finishedAt":"2026-01-01T00:00:05Z"}`,
		LabelStartAfter: "2026-01-01T00:00:25Z", LabelBackoff: "40"}
	tests := []struct {
		state, reason string
		exit          int
		oom           bool
		restarting    bool
	}{
		{"created", ReasonCrashLoopBackOff, 0, false, true},
		{"running", "", 0, false, false},
		{"exited", ReasonError, 1, false, true},
		{"exited", ReasonCompleted, 0, false, true},
		{"exited", ReasonOOMKilled, 137, true, true},
	}
	for _, tt := range tests {
		p := Pod{State: tt.state, ExitCode: tt.exit}
		withRestartState(&p, l, 7, tt.oom)
		if p.Restarts != 3 || p.Reason != tt.reason || p.LastState == nil || p.LastState.ExitCode != 2 || p.Restarting() != tt.restarting {
			t.Errorf("%s: %+v, restarting %v; want 3 restarts, reason %q, restarting %v", tt.state, p, p.Restarting(), tt.reason, tt.restarting)
		}
	}
	p := Pod{State: "exited", ExitCode: 1}
	withRestartState(&p, map[string]string{}, 7, false)
	if p.Restarts != 7 || p.Restarting() || p.Reason != "" {
		t.Errorf("unsupervised: %+v; want Docker's 7 restarts and no reason", p)
	}
}

func TestParseUptime(t *testing.T) {
	for status, want := range map[string]time.Duration{
		"Up Less than a second":           0,
		"Up 5 seconds":                    5 * time.Second,
		"Up About a minute (healthy)":     time.Minute,
		"Up 3 minutes (health: starting)": 3 * time.Minute,
		"Up About an hour":                time.Hour,
		"Up 2 days":                       48 * time.Hour,
		"Exited (1) 2 seconds ago":        0,
		"Created":                         0,
	} {
		if got := parseUptime(status); got != want {
			t.Errorf("parseUptime(%q) = %s, want %s", status, got, want)
		}
	}
}

// A created container is a restart in progress once it has restarts
// behind it (the supervisor creates it, then starts it after the back-off);
// without any it is a pod that never started, which the Deployment replaces.
func TestRestartingCreated(t *testing.T) {
	tests := []struct {
		name     string
		restarts int
		reason   string
		want     bool
	}{
		{"never started", 0, "", false},
		{"a restart being started", 1, "", true},
		{"waiting out its back-off", 2, ReasonCrashLoopBackOff, true},
	}
	for _, tt := range tests {
		p := Pod{State: "created", Supervised: true, Restarts: tt.restarts, Reason: tt.reason}
		if got := p.Restarting(); got != tt.want {
			t.Errorf("%s: Restarting() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
