package runtime

import (
	"fmt"
	"testing"
)

func TestParseStatus(t *testing.T) {
	tests := []struct {
		status     string
		wantHealth string
		wantExit   int
	}{
		{"Up 3 minutes", "", 0},
		{"Up 5 seconds (health: starting)", "starting", 0},
		{"Up 2 minutes (healthy)", "healthy", 0},
		{"Up About a minute (unhealthy)", "unhealthy", 0},
		{"Up 2 hours (Paused)", "", 0},
		{"Exited (0) 2 seconds ago", "", 0},
		{"Exited (137) About an hour ago", "", 137},
		{"Restarting (1) 3 seconds ago", "", 1},
		{"Created", "", 0},
		{"Removal In Progress", "", 0},
		{"Dead", "", 0},
		{"", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			h, code := parseStatus(tt.status)
			if h != tt.wantHealth || code != tt.wantExit {
				t.Errorf("parseStatus(%q) = %q, %d; want %q, %d", tt.status, h, code, tt.wantHealth, tt.wantExit)
			}
		})
	}
}

func TestReady(t *testing.T) {
	tests := []struct {
		state, health string
		want          bool
	}{
		{"running", "", true},
		{"running", "healthy", true},
		{"running", "starting", false},
		{"running", "unhealthy", false},
		{"restarting", "", false},
		{"exited", "", false},
		{"created", "", false},
		{"paused", "healthy", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.state, tt.health), func(t *testing.T) {
			if got := ready(tt.state, tt.health); got != tt.want {
				t.Errorf("ready(%q, %q) = %v; want %v", tt.state, tt.health, got, tt.want)
			}
		})
	}
}
