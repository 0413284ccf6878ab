package reconcile

import (
	"testing"
	"time"

	"github.com/reconcile-dev/reconcile/resources"
)

// A LoadBalancer Service gets node ports as a NodePort one does, unless
// allocateLoadBalancerNodePorts is false: then only the ones it names.
func TestAllocateLoadBalancerNodePorts(t *testing.T) {
	no := false
	tests := []struct {
		name     string
		nodePort int32
		allocate *bool
		want     string // "" none, "*" one in range, or the port
	}{
		{"allocated by default", 0, nil, "*"},
		{"explicit kept", 30123, nil, "30123"},
		{"not allocated when false", 0, &no, ""},
		{"explicit kept when false", 30124, &no, "30124"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := svc("lb", "", resources.ServiceTypeLoadBalancer, tt.nodePort)
			s.Spec.AllocateLoadBalancerNodePorts = tt.allocate
			got, err := allocate([]*resources.Service{s}, "198.19.0.0/16", Allocations{}, time.Unix(1700000000, 0))
			if err != nil {
				t.Fatal(err)
			}
			np, ok := got.Services["default/lb"].NodePorts["80/TCP"]
			switch {
			case tt.want == "" && ok:
				t.Errorf("nodePort %d, want none", np)
			case tt.want == "*" && (np < nodePortMin || np > nodePortMax):
				t.Errorf("nodePort %d, want one in %d-%d", np, nodePortMin, nodePortMax)
			case tt.want != "" && tt.want != "*" && itoa(int(np)) != tt.want:
				t.Errorf("nodePort %d, want %s", np, tt.want)
			}
			// The next pass keeps what this one gave out.
			again, err := allocate([]*resources.Service{s}, "198.19.0.0/16", got, time.Unix(1700000100, 0))
			if err != nil {
				t.Fatal(err)
			}
			if np2 := again.Services["default/lb"].NodePorts["80/TCP"]; np2 != np {
				t.Errorf("second pass nodePort %d, first %d", np2, np)
			}
		})
	}
}
