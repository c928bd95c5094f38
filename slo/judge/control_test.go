package judge

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// latencySeries is n seconds of a latency SLO whose per-second p99 is base
// plus up to 10 ms of seeded noise, at 100 requests a second with bad of
// them failing.
func latencySeries(seed uint64, n int, base time.Duration, bad int64) []SLISecond {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]SLISecond, n)
	for i := range out {
		out[i] = SLISecond{Index: i, Quantile: base + time.Duration(r.IntN(10_000))*time.Microsecond, HaveQuantile: true, Bad: bad, Total: 100}
	}
	return out
}

var (
	latencySLO = SLO{Name: "fast", SLI: SLILatency, Objective: 0.99, Threshold: 50 * time.Millisecond}
	availSLO   = SLO{Name: "up", SLI: SLIAvailability, Objective: 0.99}
	ratioSLO   = SLO{Name: "prom", SLI: SLIRatio, Objective: 0.99}
)

func durPtr(d time.Duration) *time.Duration { return &d }

func controlInput(control, experiment []SLISecond, controlSLO, experimentSLO string) ControlInput {
	return ControlInput{
		SLOs:           []SLO{latencySLO, ratioSLO},
		Control:        map[string][]SLISecond{"fast": control},
		Experiment:     map[string][]SLISecond{"fast": experiment},
		ControlSLOs:    []report.SLOResult{{Name: "fast", Verdict: controlSLO}},
		ExperimentSLOs: []report.SLOResult{{Name: "fast", Verdict: experimentSLO}},
		Limits:         Limits{Latency: durPtr(20 * time.Millisecond)},
		Dir:            "control", ControlVerdict: controlSLO,
	}
}

// decide is Decide of an experiment whose only judgement is the latency
// SLO (verdict) and the comparison c.
func decide(c *report.ControlResult, verdict string) (string, string) {
	return Decide(Outcome{SLOs: []report.SLOResult{{Name: "fast", Verdict: verdict, Reason: "budget spent"}}, Requests: 3000, Control: c})
}

// A slowdown of the whole machine hits the control run and the experiment
// alike: the latency SLO fails in both, the comparison finds no
// significant degradation beyond 20 ms, and the experiment passes.
func TestControlSlowdownOfBothRunsPasses(t *testing.T) {
	c := CompareControl(controlInput(latencySeries(1, 30, 60*time.Millisecond, 0), latencySeries(2, 30, 60*time.Millisecond, 0), report.Fail, report.Fail))
	if c.Verdict != report.Pass || len(c.SLIs) != 1 {
		t.Fatalf("comparison %+v", c)
	}
	s := c.SLIs[0]
	if s.Kind != report.ControlLatency || s.Series != "p99 latency per second" || s.ControlN != 30 || s.ExperimentN != 30 ||
		!s.Excused || s.Verdict != report.Pass || s.Low > 0.005 || s.High < -0.005 || s.Limit == nil || *s.Limit != 0.02 {
		t.Fatalf("SLI %+v", s)
	}
	if v, why := decide(c, report.Fail); v != report.Pass || !strings.Contains(why, "SLO fast failed in the control run too") {
		t.Fatalf("verdict %s: %s", v, why)
	}
}

// A fault that adds 100 ms to the experiment alone fails it on the
// degradation rule, whatever its SLO says.
func TestControlSlowdownOfTheExperimentOnlyFails(t *testing.T) {
	c := CompareControl(controlInput(latencySeries(1, 30, 10*time.Millisecond, 0), latencySeries(2, 30, 110*time.Millisecond, 0), report.Pass, report.Pass))
	s := c.SLIs[0]
	if c.Verdict != report.Fail || s.Verdict != report.Fail || !s.Significant || s.P > 1e-6 || s.Low < 0.09 || s.High > 0.11 || s.Excused {
		t.Fatalf("comparison %+v\nSLI %+v", c, s)
	}
	if !strings.Contains(s.Reason, "the whole interval lies above the 20ms limit") || !strings.Contains(s.Reason, "p99 latency shifted +") {
		t.Errorf("reason %q", s.Reason)
	}
	v, why := decide(c, report.Pass)
	if v != report.Fail || !strings.Contains(why, "SLO fast degraded against the control run") {
		t.Fatalf("verdict %s: %s", v, why)
	}
	// Its own SLO failing too is not excused: the control run passed it.
	if v, _ := decide(c, report.Fail); v != report.Fail {
		t.Fatalf("verdict %s", v)
	}
}

// A shift that is significant but whose interval reaches below the limit
// passes; so does one that is not significant.
func TestControlSignificantWithinTheLimitPasses(t *testing.T) {
	c := CompareControl(controlInput(latencySeries(1, 30, 10*time.Millisecond, 0), latencySeries(2, 30, 25*time.Millisecond, 0), report.Pass, report.Pass))
	s := c.SLIs[0]
	if c.Verdict != report.Pass || !s.Significant || s.Low > 0.02 || !strings.Contains(s.Reason, "within the 20ms limit") {
		t.Fatalf("SLI %+v", s)
	}
}

// The SLO failing in both runs is excused only where its kind has a limit:
// without one the comparison is reported and decides nothing.
func TestControlWithoutLimitsReportsOnly(t *testing.T) {
	in := controlInput(latencySeries(1, 30, 10*time.Millisecond, 0), latencySeries(2, 30, 110*time.Millisecond, 0), report.Fail, report.Fail)
	in.Limits = Limits{}
	c := CompareControl(in)
	s := c.SLIs[0]
	if c.Verdict != "" || s.Verdict != "" || s.Limit != nil || s.Excused || !s.Significant || !strings.HasPrefix(c.Reason, "reported only") {
		t.Fatalf("comparison %+v\nSLI %+v", c, s)
	}
	if v, why := decide(c, report.Pass); v != report.Pass {
		t.Fatalf("verdict %s: %s", v, why)
	}
	if v, _ := decide(c, report.Fail); v != report.Fail {
		t.Fatalf("verdict %s: an SLO failing in both runs without a limit still fails", v)
	}
}

// Error ratios: 5 % against 1 % fails a 0.5 % limit; 1 % against 1 % does
// not.
func TestControlErrorRatio(t *testing.T) {
	in := func(bad int64) ControlInput {
		return ControlInput{
			SLOs:    []SLO{availSLO},
			Control: map[string][]SLISecond{"up": errorSeries(1, 30, 1)}, Experiment: map[string][]SLISecond{"up": errorSeries(2, 30, bad)},
			Limits: Limits{Errors: ptr(0.005)},
		}
	}
	c := CompareControl(in(5))
	s := c.SLIs[0]
	if c.Verdict != report.Fail || s.Kind != report.ControlErrors || s.ControlTotal != 3000 || s.ExperimentTotal != 3000 ||
		s.Shift < 0.03 || s.Low < 0.02 || s.High > 0.06 || !strings.Contains(s.Reason, "error ratio changed +") {
		t.Fatalf("SLI %+v", s)
	}
	c = CompareControl(in(1))
	if s := c.SLIs[0]; c.Verdict != report.Pass || s.Low > 0.005 {
		t.Fatalf("SLI %+v", s)
	}
}

// errorSeries is n seconds of 100 requests, about bad of them bad (±1,
// seeded).
func errorSeries(seed uint64, n int, bad int64) []SLISecond {
	r := rand.New(rand.NewPCG(seed, 2))
	out := make([]SLISecond, n)
	for i := range out {
		b := max(0, bad+int64(r.IntN(3))-1)
		out[i] = SLISecond{Index: i, Bad: b, Total: 100}
	}
	return out
}

// Fewer than MinControlSeconds seconds is inconclusive, never a pass.
func TestControlTooFewSecondsIsInconclusive(t *testing.T) {
	c := CompareControl(controlInput(latencySeries(1, 4, 10*time.Millisecond, 0), latencySeries(2, 30, 10*time.Millisecond, 0), report.Pass, report.Pass))
	if c.Verdict != report.Inconclusive || !strings.Contains(c.SLIs[0].Reason, "too few seconds") {
		t.Fatalf("comparison %+v", c)
	}
	if v, _ := decide(c, report.Pass); v != report.Inconclusive {
		t.Fatalf("verdict %s", v)
	}
}

// An SLO with judge: faults compares only the seconds the experiment's
// faults caused, in both runs: a slowdown outside them does not count, one
// inside does. The series come from the judge's own seconds.
func TestControlJudgeFaultsComparesTheFaultSeconds(t *testing.T) {
	slo := latencySLO
	slo.Judge = JudgeFaults
	spec := Spec{SLOs: []SLO{slo}, Measured: 40 * time.Second, RecoveryWithin: 10 * time.Second,
		Faults: []FaultWindow{{Name: "slow", Start: 20 * time.Second, End: 30 * time.Second}}}
	feed := func(j *Judge, slowFrom, slowTo int) {
		for i := -2; i < 40; i++ {
			q := 10 * time.Millisecond
			if i >= slowFrom && i < slowTo {
				q = 200 * time.Millisecond
			}
			q += time.Duration(i%7) * time.Millisecond
			j.AddSecond(Second{Index: i, Warmup: i < 0, Length: time.Second, SLOs: map[string]Tally{slo.Name: {Total: 100, OK: 100, Quantile: q}}})
		}
	}
	compare := func(slowFrom, slowTo int) report.ControlSLI {
		control, experiment := New(spec), New(spec)
		feed(control, -1, -1)
		feed(experiment, slowFrom, slowTo)
		c := CompareControl(ControlInput{SLOs: []SLO{slo},
			Control: map[string][]SLISecond{slo.Name: control.Series(slo)}, Experiment: map[string][]SLISecond{slo.Name: experiment.Series(slo)},
			CausedByFaults: experiment.CausedByFaults, Limits: Limits{Latency: durPtr(20 * time.Millisecond)}})
		return c.SLIs[0]
	}
	// Seconds 20..29 the fault's, 30..34 its settle margin, then recovery
	// (10 s from its end) to 39: 20 seconds.
	if s := compare(0, 15); s.Verdict != report.Pass || s.ExperimentN != 20 || s.ControlN != 20 || s.Seconds != JudgeFaults {
		t.Fatalf("slow before the fault: %+v", s)
	}
	if s := compare(20, 40); s.Verdict != report.Fail {
		t.Fatalf("slow in the fault's seconds: %+v", s)
	}
}

func TestQuantileName(t *testing.T) {
	for obj, want := range map[float64]string{0.99: "p99", 0.999: "p99.9", 0.95: "p95", 0.5: "p50"} {
		if got := quantileName(obj); got != want {
			t.Errorf("%g: %s, want %s", obj, got, want)
		}
	}
}
