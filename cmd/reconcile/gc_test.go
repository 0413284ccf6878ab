package main

import "testing"

func TestLongRunning(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"diff", "--repo", "x"}, false},
		{[]string{"sync", "--once", "--repo", "x"}, false},
		{[]string{"sync", "--interval", "1m", "--repo", "x"}, true},
		{[]string{"sync", "--interval=1m"}, true},
		{[]string{"node", "status"}, false},
		{[]string{"node", "apply"}, false},
		{[]string{"node", "dns-serve"}, true},
		{[]string{"node", "kubelet"}, true},
		{[]string{"node", "pause"}, true},
		{[]string{"probe", "http", "80"}, false},
		{nil, false},
	} {
		if got := longRunning(tc.args); got != tc.want {
			t.Errorf("longRunning(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
