package runner

import (
	"context"
	"path/filepath"
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

// A run reports each SLO's attribution, summing to its bad events, with the
// rule that judged it. The pause's revert fails, so its window lasts to the
// end of the workload.
func TestARunAttributesItsBadEvents(t *testing.T) {
	target := startStuckTarget(t)
	src := []byte(`apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: attributed}
target: {demo: {nodes: 1}}
workload: {rate: 20, warmup: 0s, duration: 3s}
faults:
  - {name: freeze, at: 1s, duration: 1s, pause: {nodes: [n1]}}
slos:
  - {name: availability, sli: availability, objective: 90%}
  - {name: caused, sli: availability, objective: 90%, judge: faults}
seed: 1
`)
	e, err := experiments.Decode("attributed.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, _ := Run(context.Background(), e, RunOptions{File: "attributed.yaml", Settings: Settings{OutDir: filepath.Join(dir, "out"), StateDir: filepath.Join(dir, "state")}, Target: target})
	if out == nil {
		t.Fatal("no outcome")
	}
	saved, err := report.ReadJSON(out.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(saved.SLOs) != 2 {
		t.Fatalf("slos %+v", saved.SLOs)
	}
	for i, want := range []string{judge.JudgeRun, judge.JudgeFaults} {
		s := saved.SLOs[i]
		a := s.Attribution
		if s.Judge != want || a == nil || a.Sum() != s.Bad || len(a.Faults) != 1 {
			t.Errorf("SLO %s: judge %q, attribution %+v, bad %d; want judge %s and every bad event attributed, freeze named", s.Name, s.Judge, a, s.Bad, want)
		}
	}
}
