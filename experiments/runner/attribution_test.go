package runner

import (
	"reflect"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/slo/judge"
)

// The attribution's windows are the faults' applied and reverted times, as
// offsets from the end of warmup.
func TestAppliedWindows(t *testing.T) {
	const s = time.Second
	measured := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := measured.Add(d); return &t }
	r := &runState{
		plan: &experiments.Plan{Warmup: 2 * s, Duration: 30 * s, Faults: []experiments.PlannedFault{
			{Name: "cut", Start: 7 * s, End: 12 * s},
			{Name: "bounce", Start: 15 * s, End: 15 * s},
			{Name: "stuck", Start: 17 * s, End: 22 * s},
			{Name: "failed", Start: 20 * s, End: 25 * s},
		}},
		faults: map[string]*report.FaultResult{
			"cut":    {Applied: at(5*s + 300*time.Millisecond), Reverted: at(10*s + 20*time.Millisecond)},
			"bounce": {Applied: at(13 * s)},
			"stuck":  {Applied: at(15 * s), RevertError: "refused"},
			"failed": {Error: "no such member"},
		},
	}
	want := []judge.FaultWindow{
		{Name: "cut", Start: 5*s + 300*time.Millisecond, End: 10*s + 20*time.Millisecond},
		{Name: "bounce", Start: 13 * s, End: 13 * s},
		{Name: "stuck", Start: 15 * s, End: 30 * s},
	}
	if got := r.appliedWindows(measured); !reflect.DeepEqual(got, want) {
		t.Errorf("windows %+v, want %+v", got, want)
	}
}
