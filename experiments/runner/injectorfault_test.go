package runner

import (
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
)

// A planned fault's parameters reach the injector: a reset's timeout, a
// latency's delay and jitter.
func TestInjectorFaultCarriesTheParameters(t *testing.T) {
	r := &runState{res: &report.Result{}}
	reset := r.injectorFault(experiments.PlannedFault{Name: "rst", Kind: experiments.FaultReset, Targets: []string{"n1"},
		Fault: &experiments.Fault{Name: "rst", Reset: &experiments.Reset{Timeout: 250 * time.Millisecond}}})
	if reset.Kind != "reset" || reset.ResetTimeout != 250*time.Millisecond {
		t.Errorf("reset: %+v, want a timeout of 250ms", reset)
	}
	slow := r.injectorFault(experiments.PlannedFault{Name: "slow", Kind: experiments.FaultLatency, Targets: []string{"n1"},
		Fault: &experiments.Fault{Name: "slow", Latency: &experiments.Latency{Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond}}})
	if slow.Delay != 20*time.Millisecond || slow.Jitter != 5*time.Millisecond || slow.ResetTimeout != 0 {
		t.Errorf("latency: %+v", slow)
	}
}
