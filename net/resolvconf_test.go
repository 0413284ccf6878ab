package net

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withHostSearches on a temp host resolv.conf (never the real one).
func TestWithHostSearches(t *testing.T) {
	pod := "# Written by reconcile for pods of namespace default.\n" +
		"nameserver 198.19.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local mine.example\noptions ndots:5\n"
	long := strings.Repeat("x", 2040)
	tests := []struct {
		name     string
		host     *string // nil: no resolv.conf on the host
		at       int
		want     string
		warnings int
	}{
		{"host search after the cluster's", ptr("nameserver 10.0.0.1\nsearch example.internal corp.example\n"), 3,
			"# Written by reconcile for pods of namespace default.\n" +
				"nameserver 198.19.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local example.internal corp.example mine.example\noptions ndots:5\n", 0},
		{"domain line", ptr("domain example.internal\n"), 3,
			"# Written by reconcile for pods of namespace default.\n" +
				"nameserver 198.19.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local example.internal mine.example\noptions ndots:5\n", 0},
		{"no host resolv.conf", nil, 3, pod, 0},
		{"no search on the host", ptr("nameserver 10.0.0.1\n"), 3, pod, 0},
		{"not asked", ptr("search example.internal\n"), 0, pod, 0},
		// The kubelet cuts from the end: dnsConfig's entry goes too.
		{"too long: dropped with a warning", ptr("search " + long + "\n"), 3,
			"# Written by reconcile for pods of namespace default.\n" +
				"nameserver 198.19.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hostResolvConf = filepath.Join(t.TempDir(), "resolv.conf")
			t.Cleanup(func() { hostResolvConf = "/etc/resolv.conf" })
			if tt.host != nil {
				if err := os.WriteFile(hostResolvConf, []byte(*tt.host), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			in := []File{{Path: "/var/lib/reconcile/endpoints.json", Content: []byte("{}")},
				File{Path: "/var/lib/reconcile/resolv/default-abc.conf", Content: []byte(pod), HostSearchAt: tt.at}.WithDigest()}
			out, warnings, err := withHostSearches(in)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(out[1].Content); got != tt.want {
				t.Errorf("resolv.conf:\n%s\nwant:\n%s", got, tt.want)
			}
			if string(out[0].Content) != "{}" || string(in[1].Content) != pod {
				t.Errorf("other files or the config changed: %q, %q", out[0].Content, in[1].Content)
			}
			if tt.at != 0 && out[1].SHA256 != "" {
				t.Errorf("merged file keeps the CLI's digest %s", out[1].SHA256)
			}
			if len(warnings) != tt.warnings {
				t.Errorf("warnings %q, want %d", warnings, tt.warnings)
			}
		})
	}
}

func TestValidateHostSearchFile(t *testing.T) {
	f := File{Path: "/var/lib/reconcile/resolv/default-abc.conf", Content: []byte("nameserver 198.19.0.10\n"), HostSearchAt: 3}
	if err := Validate(NodeConfig{Files: []File{f}}); err != nil {
		t.Errorf("valid: %v", err)
	}
	for _, bad := range []File{f.Withheld(), {Path: f.Path, Content: f.Content, HostSearchAt: -1}} {
		if err := Validate(NodeConfig{Files: []File{bad}}); err == nil || !strings.Contains(err.Error(), "host's search domains") {
			t.Errorf("%+v: err %v", bad, err)
		}
	}
}
