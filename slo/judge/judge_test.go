package judge

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/injectors"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func ptr(f float64) *float64 { return &f }

// run feeds n measured seconds of 100 requests each; bad(i) says how many of
// second i failed.
func run(j *Judge, n int, bad func(i int) int64) []Step {
	var steps []Step
	for i := 0; i < n; i++ {
		b := bad(i)
		t := Tally{Total: 100, OK: 100 - b, Bad: b, SlowerThan: map[time.Duration]int64{}}
		steps = append(steps, j.AddSecond(Second{
			Index: i, Length: time.Second, Total: 100, OK: 100 - b, Bad: b,
			P99: 10 * time.Millisecond, SLOs: map[string]Tally{"avail": t},
		}))
	}
	return steps
}

var availability = SLO{Name: "avail", SLI: SLIAvailability, Objective: 0.99}

func errorRatioProbe(during bool) Probe {
	return Probe{Name: "errors", Source: FromWorkload, Metric: MetricErrorRatio, Max: ptr(0.05), Bound: " <= 5%", During: during}
}

func TestNoDataIsInconclusive(t *testing.T) {
	j := New(Spec{SLOs: []SLO{availability}, Probes: []Probe{errorRatioProbe(true)}, Window: 5 * time.Second,
		RecoveryWithin: 10 * time.Second, Measured: 30 * time.Second, Faults: []FaultWindow{{"p", 10 * time.Second, 20 * time.Second}}})
	if got := j.Budget(availability, Tally{}); got.Verdict != report.Inconclusive {
		t.Errorf("budget of no events: %s (%s), want inconclusive", got.Verdict, got.Reason)
	}
	probes := j.Probes()
	if len(probes) != 3 {
		t.Fatalf("%d probe results, want before, after, during", len(probes))
	}
	for _, p := range probes {
		if p.Verdict != report.Inconclusive {
			t.Errorf("probe %s with no seconds: %s (%s), want inconclusive", p.Phase, p.Verdict, p.Reason)
		}
	}
	if !strings.Contains(probes[1].Reason, "no complete second of workload after the last fault") {
		t.Errorf("after reason %q does not say the workload ended too soon", probes[1].Reason)
	}
	if v, reason := Decide(Outcome{}); v != report.Inconclusive || !strings.Contains(reason, "nothing to judge") {
		t.Errorf("empty outcome: %s (%s)", v, reason)
	}
	if v, _ := Decide(Outcome{SLOs: []report.SLOResult{{Name: "a", Verdict: report.Pass}}, Probes: probes}); v != report.Inconclusive {
		t.Errorf("inconclusive probes with a passing SLO: %s, want inconclusive", v)
	}
}

func TestRecoveryWithin(t *testing.T) {
	for _, tc := range []struct {
		name      string
		badUntil  int // seconds before it are bad from second 10
		verdict   string
		afterFrom int // the window start the after result names (via its value)
	}{
		{"recovers at once", 20, report.Pass, 20},
		{"recovers within recoveryWithin", 26, report.Pass, 26},
		{"recovers too late", 36, report.Fail, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := New(Spec{Probes: []Probe{errorRatioProbe(false)}, Window: 3 * time.Second, RecoveryWithin: 10 * time.Second,
				Measured: 60 * time.Second, Faults: []FaultWindow{{"p", 10 * time.Second, 20 * time.Second}}})
			run(j, 60, func(i int) int64 {
				if i >= 10 && i < tc.badUntil {
					return 50
				}
				return 0
			})
			res := j.Probes()
			if len(res) != 2 || res[0].Phase != "before" || res[1].Phase != "after" {
				t.Fatalf("results %+v, want before and after", res)
			}
			if res[0].Verdict != report.Pass || res[0].Samples != 3 {
				t.Errorf("before: %s over %d samples (%s), want pass over 3", res[0].Verdict, res[0].Samples, res[0].Reason)
			}
			if res[1].Verdict != tc.verdict {
				t.Errorf("after: %s (%s), want %s", res[1].Verdict, res[1].Reason, tc.verdict)
			}
			if tc.verdict == report.Fail && !strings.Contains(res[1].Reason, "in every window starting within recoveryWithin 10s") {
				t.Errorf("after reason %q does not name recoveryWithin", res[1].Reason)
			}
		})
	}
}

func TestDuringJudgesEverySecondOfTheFaults(t *testing.T) {
	j := New(Spec{Probes: []Probe{errorRatioProbe(true)}, Window: 3 * time.Second, RecoveryWithin: 5 * time.Second,
		Measured: 30 * time.Second, Faults: []FaultWindow{{"a", 10 * time.Second, 14 * time.Second}, {"b", 12 * time.Second, 18 * time.Second}}})
	// One bad second inside the faults: a window average would hide it.
	run(j, 30, func(i int) int64 {
		if i == 15 {
			return 20
		}
		return 0
	})
	res := j.Probes()
	during := res[2]
	if during.Phase != "during" || during.Verdict != report.Fail || during.Samples != 8 || during.Value != 0.2 {
		t.Errorf("during: %+v; want fail at 0.2 over the 8 seconds from +10 s to +18 s", during)
	}
	// A bad second outside the span does not count.
	j = New(Spec{Probes: []Probe{errorRatioProbe(true)}, Window: 3 * time.Second, RecoveryWithin: 5 * time.Second,
		Measured: 30 * time.Second, Faults: []FaultWindow{{"a", 10 * time.Second, 14 * time.Second}}})
	run(j, 30, func(i int) int64 {
		if i == 14 {
			return 20
		}
		return 0
	})
	if d := j.Probes()[2]; d.Verdict != report.Pass || d.Samples != 4 {
		t.Errorf("during with a bad second after the span: %+v, want pass over 4", d)
	}
}

func TestSeriesProbesJudgeInSecondOrder(t *testing.T) {
	p := Probe{Name: "health", Source: FromSeries, Metric: "http_latency", Max: ptr(0.2), Bound: "status 200", During: true}
	j := New(Spec{Probes: []Probe{p}, Window: 2 * time.Second, RecoveryWithin: 4 * time.Second,
		Measured: 20 * time.Second, Faults: []FaultWindow{{"a", 6 * time.Second, 10 * time.Second}}})
	// Fed out of order, as concurrent scrapes may land; two bad seconds
	// during the faults, one answered wrong.
	for _, i := range []int{9, 3, 8, 4, 5, 6, 7, 10, 11, 12, 13} {
		s := Sample{Index: i, Have: true, Value: 0.01, OK: true}
		switch i {
		case 7:
			s.OK, s.Note = false, "status 503"
		case 8:
			s.Value = 0.5
		}
		j.AddSample("health", s)
	}
	j.AddSample("health", Sample{Index: 2, Note: "connection refused"})
	res := j.Probes()
	if res[0].Verdict != report.Pass || res[0].Samples != 2 {
		t.Errorf("before: %+v, want pass over seconds 4 and 5", res[0])
	}
	if res[1].Verdict != report.Pass {
		t.Errorf("after: %+v, want pass", res[1])
	}
	if d := res[2]; d.Verdict != report.Fail || d.Reason != "second 7: status 503" {
		t.Errorf("during: %+v, want the first bad second (7) named", d)
	}
	j2 := New(Spec{Probes: []Probe{p}, Window: 2 * time.Second, Measured: 20 * time.Second})
	j2.AddSample("health", Sample{Index: 18, Note: "connection refused"})
	if b := j2.Probes()[0]; b.Verdict != report.Inconclusive || !strings.Contains(b.Reason, "connection refused") {
		t.Errorf("before with no value: %+v, want inconclusive naming why", b)
	}
}

func TestBurnOverTheWindowStopsOnce(t *testing.T) {
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	j := New(Spec{SLOs: []SLO{availability}, BurnRate: 10, BurnWindow: 5 * time.Second, Now: func() time.Time { return clock }})
	// 20 % bad from second 10: the 5 s window burns 4×, 8×, 12× …
	steps := run(j, 20, func(i int) int64 {
		if i >= 10 {
			return 20
		}
		return 0
	})
	fired := -1
	for i, s := range steps {
		if s.Stop != nil {
			if fired >= 0 {
				t.Fatalf("stop fired twice (seconds %d and %d)", fired, i)
			}
			fired = i
		}
	}
	if fired != 12 {
		t.Fatalf("stop fired at second %d, want 12 (burn 12× over 5 s)", fired)
	}
	sc := j.Stopped()
	if sc == nil || sc.SLO != "avail" || !near(sc.Burn, 12) || !sc.At.Equal(clock) ||
		sc.Reason != "SLO avail: burn rate (last 5s) 12.0 above abort.burnRate 10" || sc.Window != "last 5s" {
		t.Errorf("stop condition %+v", sc)
	}
	if got := steps[11].Burns[0]; !near(got.BurnRate, 8) || !near(got.Consumed, 40.0/12) || got.Bad != 40 || got.Total != 1200 {
		t.Errorf("second 11: %+v, want burn 8 and 3.33 of the budget consumed (40 bad of 12 allowed), 40 bad of 1200 so far", got)
	}
	if v, reason := Decide(Outcome{SLOs: []report.SLOResult{{Name: "avail", Verdict: report.Pass}}, Stop: sc}); v != report.Fail || !strings.HasPrefix(reason, "stop condition: SLO avail") {
		t.Errorf("verdict with the stop condition: %s (%s)", v, reason)
	}
	// Without abort.burnRate nothing stops.
	j = New(Spec{SLOs: []SLO{availability}, BurnWindow: 5 * time.Second})
	for _, s := range run(j, 20, func(int) int64 { return 100 }) {
		if s.Stop != nil {
			t.Fatal("stop fired without abort.burnRate")
		}
	}
}

func TestWarmupCountsForNothing(t *testing.T) {
	j := New(Spec{SLOs: []SLO{availability}, Probes: []Probe{errorRatioProbe(false)}, Window: 3 * time.Second,
		Measured: 5 * time.Second, BurnRate: 2, BurnWindow: 2 * time.Second})
	all := Tally{Total: 100, Bad: 100, SlowerThan: map[time.Duration]int64{}}
	for i := -3; i < 0; i++ {
		if s := j.AddSecond(Second{Index: i, Warmup: true, Length: time.Second, Total: 100, Bad: 100, SLOs: map[string]Tally{"avail": all}}); s.Stop != nil || len(s.Burns) != 0 {
			t.Fatalf("warmup second %d burned: %+v", i, s)
		}
	}
	run(j, 5, func(int) int64 { return 0 })
	if j.Stopped() != nil {
		t.Error("stop condition fired on warmup seconds")
	}
	if p := j.Probes()[0]; p.Verdict != report.Pass || p.Value != 0 {
		t.Errorf("before after a failing warmup: %+v, want pass at 0", p)
	}
}

func TestDropsAreBadEvents(t *testing.T) {
	latency := SLO{Name: "fast", SLI: SLILatency, Objective: 0.9, Threshold: 100 * time.Millisecond}
	tally := Tally{Total: 90, OK: 80, Bad: 10, Dropped: 10, SlowerThan: map[time.Duration]int64{100 * time.Millisecond: 5}}
	if e := availability.Events(tally); e != (Events{Total: 100, Bad: 20}) {
		t.Errorf("availability events %+v, want 100 eligible (90 sent + 10 dropped) and 20 bad", e)
	}
	if e := latency.Events(tally); e != (Events{Total: 90, Bad: 15}) {
		t.Errorf("latency events %+v, want 90 eligible (80 ok + 10 dropped) and 15 bad", e)
	}
	j := New(Spec{SLOs: []SLO{latency}})
	got := j.Budget(latency, tally)
	if got.Total != 90 || got.Bad != 15 || got.Verdict != report.Fail || got.Threshold != "100ms" {
		t.Errorf("latency budget %+v, want 15 bad of 90 (budget 9): fail", got)
	}
	// A generator that could not send at all exhausts every budget.
	if got := j.Budget(availability, Tally{Dropped: 50}); got.Verdict != report.Fail || got.Total != 50 || got.Bad != 50 {
		t.Errorf("only drops: %+v, want fail with 50 bad of 50", got)
	}
	if got := j.Budget(SLO{Name: "r", SLI: SLIRatio, Objective: 0.99}, Tally{}); got.Verdict != report.Inconclusive {
		t.Errorf("ratio SLO judged from the workload: %+v", got)
	}
	if got := RatioBudget(SLO{Name: "r", SLI: SLIRatio, Objective: 0.99}, 995, 1000); got.Verdict != report.Pass || got.Bad != 5 ||
		!strings.HasSuffix(got.Reason, "(good 995 of 1000 from Prometheus)") {
		t.Errorf("ratio budget %+v", got)
	}
}

func TestAFaultWhoseRevertFailedIsNeverAPass(t *testing.T) {
	pass := []report.SLOResult{{Name: "avail", Verdict: report.Pass}}
	applied := time.Now()
	stuck := report.FaultResult{Name: "cut", Kind: "partition", Applied: &applied, StillApplied: true, RevertError: "toxiproxy: connection refused"}
	clean := report.FaultResult{Name: "slow", Kind: "latency", Applied: &applied, Reverted: &applied}
	for _, tc := range []struct {
		name string
		o    Outcome
	}{
		{"otherwise passing", Outcome{SLOs: pass, Faults: []report.FaultResult{clean, stuck}}},
		{"stopped", Outcome{SLOs: pass, Faults: []report.FaultResult{stuck}, Stop: &report.StopCondition{Reason: "burn"}}},
		{"interrupted", Outcome{SLOs: pass, Faults: []report.FaultResult{stuck}, Interrupted: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, reason := Decide(tc.o)
			if v != report.Inconclusive || !strings.Contains(reason, "fault cut (partition) was not reverted and may still be in place: toxiproxy: connection refused") ||
				!strings.Contains(reason, "chaosctl recover") || strings.Contains(reason, "every fault was reverted") {
				t.Errorf("%s (%s)", v, reason)
			}
		})
	}
	if v, _ := Decide(Outcome{SLOs: pass, Faults: []report.FaultResult{clean}}); v != report.Pass {
		t.Errorf("all reverted: %s, want pass", v)
	}
}

func TestDecideOrder(t *testing.T) {
	fail := report.SLOResult{Name: "a", Verdict: report.Fail, Reason: "budget exhausted"}
	inc := report.CheckResult{Name: "linearizable", Verdict: report.Inconclusive, Detail: "budget ran out"}
	notApplied := report.FaultResult{Name: "x", Error: "no such member"}
	for _, tc := range []struct {
		name, verdict, prefix string
		o                     Outcome
	}{
		{"fail beats inconclusive", report.Fail, "SLO a: budget exhausted", Outcome{SLOs: []report.SLOResult{fail}, Checks: []report.CheckResult{inc}}},
		{"inconclusive check", report.Inconclusive, "check linearizable: budget ran out", Outcome{Checks: []report.CheckResult{inc}}},
		{"fault not applied", report.Inconclusive, "fault x: no such member", Outcome{SLOs: []report.SLOResult{{Verdict: report.Pass}}, Faults: []report.FaultResult{notApplied}}},
		{"run error without requests", report.Inconclusive, "the run did not complete: boom", Outcome{SLOs: []report.SLOResult{fail}, RunError: "boom"}},
		{"run error after requests is judged", report.Fail, "SLO a", Outcome{SLOs: []report.SLOResult{fail}, RunError: "boom", Requests: 10}},
		{"pass", report.Pass, "1 SLOs within budget, 0 probe judgements and 1 checks held", Outcome{SLOs: []report.SLOResult{{Verdict: report.Pass}}, Checks: []report.CheckResult{{Verdict: report.Pass}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, reason := Decide(tc.o)
			if v != tc.verdict || !strings.HasPrefix(reason, tc.prefix) {
				t.Errorf("%s (%s), want %s (%s…)", v, reason, tc.verdict, tc.prefix)
			}
		})
	}
}

// A fault whose receipt contradicts it leaves the SLOs judging a fault the
// file does not describe: inconclusive, whatever they say, unless the file
// says receipts: warn. One whose revert receipt shows it still in place is
// reported like a failed revert.
func TestReceiptsDecide(t *testing.T) {
	applied := time.Now()
	notLanded := &injectors.Receipt{Summary: "1 of 2 checks contradict partition cut: link n1→n2: want cut, got works"}
	leftInPlace := &injectors.Receipt{Summary: "1 of 1 checks contradict partition cut reverted: link n1→n2: want works again, got fails"}
	skipped := &injectors.Receipt{Skipped: "no probe path", Summary: "not measured: no probe path"}
	verified := &injectors.Receipt{Verified: true, Summary: "partition cut: 2 checks hold"}
	fault := func(rec, back *injectors.Receipt) []report.FaultResult {
		return []report.FaultResult{{Name: "cut", Kind: "partition", Applied: &applied, Reverted: &applied, Receipt: rec, RevertReceipt: back}}
	}
	fail := []report.SLOResult{{Name: "a", Verdict: report.Fail, Reason: "exhausted"}}
	pass := []report.SLOResult{{Name: "a", Verdict: report.Pass}}
	for _, tc := range []struct {
		name, verdict, prefix string
		o                     Outcome
	}{
		{"did not land beats a fail", report.Inconclusive, "fault did not land: cut (partition): 1 of 2 checks contradict", Outcome{SLOs: fail, Faults: fault(notLanded, verified)}},
		{"did not land beats a pass", report.Inconclusive, "fault did not land: cut", Outcome{SLOs: pass, Faults: fault(notLanded, nil)}},
		{"left in place", report.Inconclusive, "FAULT LEFT IN PLACE: fault cut (partition) was reverted but its receipt says it is still in place", Outcome{SLOs: pass, Faults: fault(verified, leftInPlace)}},
		{"warn only reports", report.Pass, "1 SLOs within budget", Outcome{SLOs: pass, Faults: fault(notLanded, leftInPlace), ReceiptsWarn: true}},
		{"skipped decides nothing", report.Fail, "SLO a: exhausted", Outcome{SLOs: fail, Faults: fault(skipped, skipped)}},
		{"verified", report.Pass, "1 SLOs", Outcome{SLOs: pass, Faults: fault(verified, verified)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, reason := Decide(tc.o)
			if v != tc.verdict || !strings.HasPrefix(reason, tc.prefix) {
				t.Errorf("%s (%s), want %s (%s…)", v, reason, tc.verdict, tc.prefix)
			}
		})
	}
}

// The steady state is the baseline the faults are judged against: a run
// with faults whose steady state broke before the first of them was applied
// is inconclusive, naming why and the machine's load; a fault-free run's
// failure, a failure the faults caused and a failed consistency check stay
// failures.
func TestSteadyStateBrokenBeforeTheFirstFault(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	at := func(s float64) *time.Time { v := t0.Add(time.Duration(s * float64(time.Second))); return &v }
	applied := []report.FaultResult{{Name: "kill", Kind: "crash", Applied: at(5), Reverted: at(10)}}
	notYet := []report.FaultResult{{Name: "kill", Kind: "crash"}}
	stopAt := func(s float64) *report.StopCondition {
		return &report.StopCondition{Reason: "SLO availability: burn rate (last 5s) 99.0 above abort.burnRate 14.4", At: *at(s)}
	}
	slo := func(before, inFaults int64, judge string) report.SLOResult {
		return report.SLOResult{Name: "availability", Verdict: report.Fail, Reason: "budget exhausted", Budget: 30, Bad: before + inFaults, Judge: judge,
			Attribution: &report.Attribution{BeforeFaults: before, Faults: map[string]int64{"kill": inFaults}}}
	}
	beforeProbe := report.ProbeResult{Name: "low-errors", Phase: PhaseBefore, Verdict: report.Fail, Reason: "error_ratio = 0.94 exceeds max 0.01 over 2 s"}
	afterProbe := report.ProbeResult{Name: "low-errors", Phase: "after", Verdict: report.Fail, Reason: "error_ratio = 0.5"}
	lost := report.CheckResult{Name: "no-lost-writes", Verdict: report.Fail, Detail: "1 acknowledged write lost"}
	const broken = "STEADY STATE BROKEN BEFORE THE FIRST FAULT: "
	for _, tc := range []struct {
		name, verdict, prefix string
		o                     Outcome
	}{
		{"stopped before any fault was applied", report.Inconclusive, broken + "the stop condition fired before any fault was applied (SLO availability",
			Outcome{Faults: notYet, Stop: stopAt(2), SLOs: []report.SLOResult{slo(209, 0, "")}, Requests: 210}},
		{"stopped after a fault was applied", report.Fail, "stop condition: SLO availability",
			Outcome{Faults: applied, Stop: stopAt(7), SLOs: []report.SLOResult{slo(0, 300, "")}, Requests: 900}},
		{"budget spent before the first fault", report.Inconclusive, broken + "SLO availability spent its whole budget before the first fault (729 bad events before it; budget 30.0)",
			Outcome{Faults: applied, SLOs: []report.SLOResult{slo(729, 1600, "")}, Requests: 3000}},
		{"budget spent by the faults", report.Fail, "SLO availability: budget exhausted",
			Outcome{Faults: applied, SLOs: []report.SLOResult{slo(29, 1600, "")}, Requests: 3000}},
		{"judge: faults ignores the events before them", report.Fail, "SLO availability: budget exhausted",
			Outcome{Faults: applied, SLOs: []report.SLOResult{slo(729, 1600, JudgeFaults)}, Requests: 3000}},
		{"a probe failed before the first fault", report.Inconclusive, broken + "probe low-errors failed before the first fault: error_ratio = 0.94",
			Outcome{Faults: applied, Probes: []report.ProbeResult{beforeProbe, afterProbe}, Requests: 3000}},
		{"a probe failed after the faults only", report.Fail, "probe low-errors (after)",
			Outcome{Faults: applied, Probes: []report.ProbeResult{afterProbe}, Requests: 3000}},
		{"a failed check is evidence whatever the load", report.Fail, "SLO availability: budget exhausted",
			Outcome{Faults: applied, SLOs: []report.SLOResult{slo(729, 1600, "")}, Checks: []report.CheckResult{lost}, Requests: 3000}},
		{"a fault-free run's failure is the system's", report.Fail, "stop condition: SLO availability",
			Outcome{Stop: stopAt(2), SLOs: []report.SLOResult{slo(209, 0, "")}, Requests: 210}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Host = "load average 24.0 on 2 CPUs"
			v, reason := Decide(tc.o)
			if v != tc.verdict || !strings.HasPrefix(reason, tc.prefix) {
				t.Fatalf("%s (%s), want %s (%s…)", v, reason, tc.verdict, tc.prefix)
			}
			if v == report.Inconclusive && !strings.HasSuffix(reason, "(this machine: load average 24.0 on 2 CPUs)") {
				t.Fatalf("reason %q does not name the machine's load", reason)
			}
		})
	}
}
