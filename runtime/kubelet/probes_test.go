package kubelet

import (
	"errors"
	"testing"

	"github.com/reconcile-dev/reconcile/runtime"
)

// Results count in a row, as kubelet's prober counts them: a success
// resets the failures and the other way round.
func TestThresholds(t *testing.T) {
	bad := errors.New("HTTP 500")
	tests := []struct {
		name    string
		pc      runtime.ProbeCheck
		results []error
		want    []verdict
	}{
		{"fails on the third failure in a row", runtime.ProbeCheck{SuccessThreshold: 1, FailureThreshold: 3},
			[]error{bad, bad, nil, bad, bad, bad}, []verdict{undecided, undecided, passed, undecided, undecided, failed}},
		{"passes on successThreshold in a row", runtime.ProbeCheck{SuccessThreshold: 2, FailureThreshold: 3},
			[]error{nil, bad, nil, nil}, []verdict{undecided, undecided, undecided, passed}},
		{"zero thresholds mean one", runtime.ProbeCheck{},
			[]error{bad}, []verdict{failed}},
	}
	for _, tt := range tests {
		var th thresholds
		for i, err := range tt.results {
			if got := th.observe(&tt.pc, err); got != tt.want[i] {
				t.Errorf("%s: result %d: verdict %d, want %d", tt.name, i, got, tt.want[i])
			}
		}
	}
}
