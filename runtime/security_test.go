package runtime

import (
	"net/netip"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/reconcile-dev/reconcile/resources"
)

func ptr[T any](v T) *T { return &v }

func TestSecurityContextMapping(t *testing.T) {
	ip := netip.MustParseAddr("198.18.1.2")
	tests := []struct {
		name     string
		pod      *resources.PodSecurityContext
		c        *resources.SecurityContext
		wantCfg  func(*container.Config)
		wantHost func(*container.HostConfig)
	}{
		{name: "none"},
		{
			name:    "pod user and groups, container user wins",
			pod:     &resources.PodSecurityContext{RunAsUser: ptr[int64](1000), RunAsGroup: ptr[int64](3000), FSGroup: ptr[int64](2000), SupplementalGroups: []int64{4000}},
			c:       &resources.SecurityContext{RunAsUser: ptr[int64](1001)},
			wantCfg: func(c *container.Config) { c.User = "1001:3000" },
			wantHost: func(h *container.HostConfig) {
				h.GroupAdd = []string{"2000", "4000"}
			},
		},
		{
			name: "read-only, no escalation, capabilities, seccomp",
			c: &resources.SecurityContext{ReadOnlyRootFilesystem: ptr(true), AllowPrivilegeEscalation: ptr(false),
				Capabilities:   &resources.Capabilities{Add: []string{"NET_BIND_SERVICE"}, Drop: []string{"ALL"}},
				SeccompProfile: &resources.SeccompProfile{Type: "Unconfined"}},
			wantHost: func(h *container.HostConfig) {
				h.ReadonlyRootfs = true
				h.SecurityOpt = []string{"seccomp=unconfined", "no-new-privileges:true"}
				h.CapAdd = []string{"NET_BIND_SERVICE"}
				h.CapDrop = []string{"ALL"}
			},
		},
		{
			name:     "privileged",
			c:        &resources.SecurityContext{Privileged: ptr(true)},
			wantHost: func(h *container.HostConfig) { h.Privileged = true },
		},
		{
			name: "sysctls on the container that owns the network namespace",
			pod:  &resources.PodSecurityContext{Sysctls: []resources.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}}},
			wantHost: func(h *container.HostConfig) {
				h.Sysctls = map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := basePodSpec()
			spec.Security = tt.pod
			spec.Container.SecurityContext = tt.c
			// The base is what a pod without securityContext gets.
			wantCfg, wantHost, _, err := containerConfig(basePodSpec(), ip)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantCfg != nil {
				tt.wantCfg(wantCfg)
			}
			if tt.wantHost != nil {
				tt.wantHost(wantHost)
			}
			cfg, host, _, err := containerConfig(spec, ip)
			if err != nil {
				t.Fatal(err)
			}
			assertEqualJSON(t, "config", cfg, wantCfg)
			assertEqualJSON(t, "host config", host, wantHost)
		})
	}
}
