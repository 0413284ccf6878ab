package reconcile

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/reconcile-dev/reconcile/resources"
)

func svc(name, clusterIP, typ string, nodePort int32) *resources.Service {
	return &resources.Service{ObjectMeta: resources.ObjectMeta{Name: name, Namespace: "default"},
		Source: resources.Source{File: name + ".yaml", Line: 1},
		Spec: resources.ServiceSpec{Type: typ, ClusterIP: clusterIP,
			Ports: []resources.ServicePort{{Port: 80, Protocol: "TCP", NodePort: nodePort}}}}
}

func TestAllocate(t *testing.T) {
	now := time.Unix(1700000000, 0).UTC()
	earlier := now.Add(-time.Hour)
	prev := Allocations{Services: map[string]Allocation{
		"default/kept":  {ClusterIP: "198.19.7.7", Created: earlier},
		"default/gone":  {ClusterIP: "198.19.8.8", Created: earlier},
		"default/moved": {ClusterIP: "198.19.9.9", Created: earlier},
	}}
	tests := []struct {
		name    string
		svcs    []*resources.Service
		want    map[string]string // name → clusterIP ("*" = any in range)
		wantErr string
	}{
		{"kept allocation survives", []*resources.Service{svc("kept", "", "ClusterIP", 0)}, map[string]string{"kept": "198.19.7.7"}, ""},
		{"deleted service is freed", []*resources.Service{svc("new", "", "ClusterIP", 0)}, map[string]string{"new": "*"}, ""},
		{"explicit IP honoured", []*resources.Service{svc("fixed", "198.19.1.1", "ClusterIP", 0)}, map[string]string{"fixed": "198.19.1.1"}, ""},
		{"explicit IP change wins over record", []*resources.Service{svc("moved", "198.19.3.3", "ClusterIP", 0)}, map[string]string{"moved": "198.19.3.3"}, ""},
		{"explicit IP taken", []*resources.Service{svc("kept", "", "ClusterIP", 0), svc("thief", "198.19.7.7", "ClusterIP", 0)}, nil,
			"thief.yaml:1: Service/thief: spec.clusterIP: 198.19.7.7 is already allocated to Service default/kept"},
		{"nodePort taken", []*resources.Service{svc("a", "", "NodePort", 30080), svc("b", "", "NodePort", 30080)}, nil, "nodePort 30080 is already allocated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := allocate(tt.svcs, "198.19.0.0/16", prev, now)
			if tt.wantErr != "" {
				var ae *AllocationError
				if !errors.As(err, &ae) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Services) != len(tt.want) {
				t.Errorf("allocations %v, want %d", got.Services, len(tt.want))
			}
			for name, ip := range tt.want {
				a := got.Services["default/"+name]
				if ip == "*" {
					addr, err := netip.ParseAddr(a.ClusterIP)
					if err != nil || !netip.MustParsePrefix("198.19.0.0/16").Contains(addr) {
						t.Errorf("%s got %q, want an address in 198.19.0.0/16", name, a.ClusterIP)
					}
					continue
				}
				if a.ClusterIP != ip {
					t.Errorf("%s got %q, want %q", name, a.ClusterIP, ip)
				}
			}
		})
	}
}

func TestAllocateIsDeterministic(t *testing.T) {
	// Two runners with no record pick the same address for the same Service.
	s := []*resources.Service{svc("web", "", "NodePort", 0)}
	a, _ := allocate(s, "198.19.0.0/16", Allocations{}, time.Now())
	b, _ := allocate(s, "198.19.0.0/16", Allocations{}, time.Now())
	if a.Services["default/web"].ClusterIP != b.Services["default/web"].ClusterIP ||
		a.Services["default/web"].NodePorts["80/TCP"] != b.Services["default/web"].NodePorts["80/TCP"] {
		t.Errorf("allocations differ: %v vs %v", a, b)
	}
	if np := a.Services["default/web"].NodePorts["80/TCP"]; np < 30000 || np > 32767 {
		t.Errorf("nodePort %d outside 30000-32767", np)
	}
}

func TestMergeAllocationsOldestWins(t *testing.T) {
	a := []byte(`{"services":{"default/web":{"clusterIP":"198.19.0.5","created":"2026-01-01T00:00:00Z"}}}`)
	b := []byte(`{"services":{"default/web":{"clusterIP":"198.19.0.9","created":"2026-02-01T00:00:00Z"},"default/db":{"clusterIP":"198.19.0.7","created":"2026-02-01T00:00:00Z"}}}`)
	m, err := mergeAllocations([][]byte{b, nil, a})
	if err != nil {
		t.Fatal(err)
	}
	if m.Services["default/web"].ClusterIP != "198.19.0.5" || m.Services["default/db"].ClusterIP != "198.19.0.7" {
		t.Errorf("merged %v", m.Services)
	}
}
