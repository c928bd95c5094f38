package judge

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
)

const s = time.Second

// feed adds n measured seconds of 100 requests, bad[i] of second i failing
// (0 past the end of bad), and returns the seconds' total bad and eligible
// events.
func feed(j *Judge, n int, bad map[int]int64) (sumBad, total int64) {
	for i := 0; i < n; i++ {
		b := bad[i]
		t := Tally{Total: 100, OK: 100 - b, Bad: b, SlowerThan: map[time.Duration]int64{}}
		j.AddSecond(Second{Index: i, Length: time.Second, Total: 100, OK: 100 - b, Bad: b, SLOs: map[string]Tally{"avail": t}})
		sumBad += b
		total += 100
	}
	return sumBad, total
}

func attribution(before int64, faults map[string]int64, recovery, other int64) *report.Attribution {
	return &report.Attribution{BeforeFaults: before, Faults: faults, Recovery: recovery, Other: other}
}

func TestAttributionPlacesEverySecond(t *testing.T) {
	// Faults a [10 s, 14 s) and b [12 s, 20 s) overlap; each window runs on
	// 5 s past its end (a to 19 s, b to 25 s); recovery lasts from 20 s to
	// 20 s + recoveryWithin 12 s = 32 s, less b's settle margin.
	spec := Spec{SLOs: []SLO{availability}, RecoveryWithin: 12 * s, Measured: 40 * s,
		Faults: []FaultWindow{{"a", 10 * s, 14 * s}, {"b", 12 * s, 20 * s}}}
	for _, tc := range []struct {
		name   string
		second int
		want   *report.Attribution
	}{
		{"before the first fault", 9, attribution(1, map[string]int64{"a": 0, "b": 0}, 0, 0)},
		{"the first second of a", 10, attribution(0, map[string]int64{"a": 1, "b": 0}, 0, 0)},
		{"a and b overlap: b started last", 12, attribution(0, map[string]int64{"a": 0, "b": 1}, 0, 0)},
		{"a's settle margin inside b: still b", 18, attribution(0, map[string]int64{"a": 0, "b": 1}, 0, 0)},
		{"b's settle margin", 24, attribution(0, map[string]int64{"a": 0, "b": 1}, 0, 0)},
		{"past the settle margin: recovery", 25, attribution(0, map[string]int64{"a": 0, "b": 0}, 1, 0)},
		{"the last second of recovery", 31, attribution(0, map[string]int64{"a": 0, "b": 0}, 1, 0)},
		{"after recoveryWithin: other", 32, attribution(0, map[string]int64{"a": 0, "b": 0}, 0, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := New(spec)
			feed(j, 40, map[int]int64{tc.second: 1})
			got := j.Budget(availability, Tally{Total: 4000, OK: 3999, Bad: 1})
			if !reflect.DeepEqual(got.Attribution, tc.want) {
				t.Errorf("second %d: %+v, want %+v", tc.second, got.Attribution, tc.want)
			}
			if got.Judge != JudgeRun {
				t.Errorf("judge %q, want run by default", got.Judge)
			}
		})
	}
}

func TestAttributionBetweenFaultsAndAtEqualStarts(t *testing.T) {
	// Two faults far apart: the gap after a's settle margin is other; two
	// faults starting together: the one later in the list takes the second.
	j := New(Spec{SLOs: []SLO{availability}, RecoveryWithin: 10 * s, Measured: 60 * s,
		Faults: []FaultWindow{{"a", 5 * s, 10 * s}, {"b", 30 * s, 35 * s}, {"c", 30 * s, 32 * s}}})
	feed(j, 60, map[int]int64{20: 3, 30: 2})
	got := j.Budget(availability, Tally{Total: 6000, Bad: 5}).Attribution
	if want := attribution(0, map[string]int64{"a": 0, "b": 0, "c": 2}, 0, 3); !reflect.DeepEqual(got, want) {
		t.Errorf("%+v, want %+v", got, want)
	}
}

func TestAttributionOfAnInstantFault(t *testing.T) {
	// A restart has no duration: its window is its settle margin.
	j := New(Spec{SLOs: []SLO{availability}, RecoveryWithin: 8 * s, Measured: 30 * s,
		Faults: []FaultWindow{{"bounce", 10 * s, 10 * s}}})
	feed(j, 30, map[int]int64{10: 1, 14: 2, 15: 4, 17: 8, 18: 16})
	got := j.Budget(availability, Tally{Total: 3000, Bad: 31}).Attribution
	if want := attribution(0, map[string]int64{"bounce": 3}, 12, 16); !reflect.DeepEqual(got, want) {
		t.Errorf("%+v, want %+v", got, want)
	}
}

func TestAttributionSkipsWarmupAndUsesAppliedWindows(t *testing.T) {
	j := New(Spec{SLOs: []SLO{availability}, RecoveryWithin: 10 * s, Measured: 30 * s,
		Faults: []FaultWindow{{"cut", 10 * s, 15 * s}, {"never", 20 * s, 22 * s}}})
	all := Tally{Total: 100, Bad: 100, SlowerThan: map[time.Duration]int64{}}
	for i := -2; i < 0; i++ {
		j.AddSecond(Second{Index: i, Warmup: true, Length: time.Second, Total: 100, Bad: 100, SLOs: map[string]Tally{"avail": all}})
	}
	feed(j, 30, map[int]int64{8: 1, 11: 2, 16: 4, 21: 8})
	// cut landed 3 s late and was reverted on time; never was not applied.
	j.UseAppliedFaults([]FaultWindow{{"cut", 13 * s, 15 * s}})
	got := j.Budget(availability, Tally{Total: 3000, Bad: 15}).Attribution
	if want := attribution(3, map[string]int64{"cut": 4, "never": 0}, 8, 0); !reflect.DeepEqual(got, want) {
		t.Errorf("%+v, want %+v (warmup's 200 bad events nowhere, second 11 before cut landed)", got, want)
	}
	// No fault applied: everything is before the (first) fault.
	j.UseAppliedFaults(nil)
	if got := j.Budget(availability, Tally{Total: 3000, Bad: 15}).Attribution; !reflect.DeepEqual(got, attribution(15, map[string]int64{"cut": 0, "never": 0}, 0, 0)) {
		t.Errorf("no fault applied: %+v, want all before faults", got)
	}
}

func TestAttributionRemainderGoesToOther(t *testing.T) {
	spec := Spec{SLOs: []SLO{availability}, RecoveryWithin: 5 * s, Measured: 20 * s, Faults: []FaultWindow{{"cut", 5 * s, 10 * s}}}
	j := New(spec)
	feed(j, 20, map[int]int64{2: 4, 6: 10, 16: 3})
	// The summary counted 5 more than the closed seconds did.
	if got := j.Budget(availability, Tally{Total: 2000, Bad: 22}).Attribution; !reflect.DeepEqual(got, attribution(4, map[string]int64{"cut": 10}, 0, 8)) {
		t.Errorf("shortfall: %+v, want 5 more in other", got)
	}
	// Fewer than the seconds (not expected): taken from other, recovery,
	// the faults, then before.
	if got := j.Budget(availability, Tally{Total: 2000, Bad: 6}).Attribution; !reflect.DeepEqual(got, attribution(4, map[string]int64{"cut": 2}, 0, 0)) {
		t.Errorf("excess: %+v", got)
	}
}

// TestAttributionSumsToBad is the property: whatever the faults, seconds and
// final tally, the parts are never negative and sum to the SLO's bad events.
func TestAttributionSumsToBad(t *testing.T) {
	latency := SLO{Name: "fast", SLI: SLILatency, Objective: 0.9, Threshold: 100 * time.Millisecond}
	for seed := uint64(0); seed < 500; seed++ {
		rng := rand.New(rand.NewPCG(seed, 16))
		n := 1 + rng.IntN(90)
		spec := Spec{SLOs: []SLO{availability, latency}, RecoveryWithin: time.Duration(rng.IntN(20)) * s, Measured: time.Duration(n) * s}
		for f := range rng.IntN(6) {
			start := time.Duration(rng.Int64N(int64(spec.Measured)))
			end := start + time.Duration(rng.Int64N(int64(20*s)))
			if rng.IntN(4) == 0 {
				end = start // instantaneous
			}
			spec.Faults = append(spec.Faults, FaultWindow{Name: string(rune('a' + f)), Start: start, End: end})
		}
		j := New(spec)
		if rng.IntN(2) == 0 {
			var applied []FaultWindow
			for _, f := range spec.Faults {
				if rng.IntN(3) > 0 {
					late := time.Duration(rng.Int64N(int64(2 * s)))
					applied = append(applied, FaultWindow{Name: f.Name, Start: f.Start + late, End: f.End + late})
				}
			}
			j.UseAppliedFaults(applied)
		}
		var sum Tally
		for i := -rng.IntN(4); i < n; i++ {
			t := Tally{Total: int64(rng.IntN(50)), Dropped: int64(rng.IntN(3)), SlowerThan: map[time.Duration]int64{}}
			t.Bad = rng.Int64N(t.Total + 1)
			t.OK = t.Total - t.Bad
			t.SlowerThan[latency.Threshold] = rng.Int64N(t.OK + 1)
			j.AddSecond(Second{Index: i, Warmup: i < 0, Length: time.Second, SLOs: map[string]Tally{"avail": t, "fast": t}})
			if i >= 0 {
				sum.Total, sum.OK, sum.Bad, sum.Dropped = sum.Total+t.Total, sum.OK+t.OK, sum.Bad+t.Bad, sum.Dropped+t.Dropped
			}
		}
		for _, o := range []SLO{availability, latency} {
			final := Tally{Total: sum.Total, OK: sum.OK, Bad: sum.Bad, Dropped: sum.Dropped, SlowerThan: map[time.Duration]int64{}}
			// The summary's tally may differ from the seconds' either way.
			final.Bad = max(0, final.Bad+int64(rng.IntN(21)-10))
			res := j.Budget(o, final)
			a := res.Attribution
			if a == nil || a.Sum() != res.Bad {
				t.Fatalf("seed %d, %s: %+v does not sum to bad %d", seed, o.Name, a, res.Bad)
			}
			if a.BeforeFaults < 0 || a.Recovery < 0 || a.Other < 0 {
				t.Fatalf("seed %d, %s: negative part in %+v", seed, o.Name, a)
			}
			for name, v := range a.Faults {
				if v < 0 {
					t.Fatalf("seed %d, %s: fault %s has %d", seed, o.Name, name, v)
				}
			}
			if len(a.Faults) != len(spec.Faults) {
				t.Fatalf("seed %d: faults %v, want every fault of the spec named", seed, a.Faults)
			}
		}
	}
}

func TestJudgeFaultsFlipsTheVerdict(t *testing.T) {
	onFaults := SLO{Name: "avail", SLI: SLIAvailability, Objective: 0.99, Judge: JudgeFaults}
	spec := Spec{SLOs: []SLO{onFaults}, RecoveryWithin: 10 * s, Measured: 40 * s, Faults: []FaultWindow{{"kill-n2", 10 * s, 15 * s}}}
	// A cold start: 30 bad events in the first second, 12 in kill-n2's
	// window, 4 in recovery. The budget is 40 of 4000.
	bad := map[int]int64{0: 30, 11: 12, 22: 4}
	j := New(spec)
	sumBad, total := feed(j, 40, bad)
	tally := Tally{Total: total, OK: total - sumBad, Bad: sumBad}

	run := j.Budget(availability, tally)
	if run.Verdict != report.Fail || run.Judge != JudgeRun {
		t.Errorf("judge: run: %s (%s), want fail on 46 of 40 allowed", run.Verdict, run.Reason)
	}
	got := j.Budget(onFaults, tally)
	if got.Verdict != report.Pass || got.Judge != JudgeFaults || got.Bad != 46 || !near(got.Budget, 40) || !near(got.Consumed, 16.0/40) {
		t.Errorf("judge: faults: %+v, want pass on 16 of 40 allowed, bad still 46", got)
	}
	want := "judged on the 16 bad events the faults caused (12 in fault windows, 4 in recovery); 30 more before the first fault are not counted: 16 bad of 4000"
	if !strings.HasPrefix(got.Reason, want) {
		t.Errorf("reason %q, want it to start %q", got.Reason, want)
	}

	// Enough in the fault's window fails it either way.
	bad[12] = 40
	j = New(spec)
	sumBad, total = feed(j, 40, bad)
	got = j.Budget(onFaults, Tally{Total: total, OK: total - sumBad, Bad: sumBad})
	if got.Verdict != report.Fail || !strings.Contains(got.Reason, "judged on the 56 bad events the faults caused") || !strings.HasSuffix(got.Reason, "budget exhausted") {
		t.Errorf("judge: faults with 56 caused: %s (%s), want fail", got.Verdict, got.Reason)
	}

	// Bad events after the recovery are named as outside it.
	j = New(spec)
	sumBad, total = feed(j, 40, map[int]int64{12: 1, 35: 2})
	if got := j.Budget(onFaults, Tally{Total: total, Bad: sumBad}); !strings.Contains(got.Reason, "; 2 more outside the faults and their recovery are not counted") {
		t.Errorf("reason %q does not name the 2 others", got.Reason)
	}

	// No fault applied: nothing the faults caused to judge.
	j = New(spec)
	sumBad, total = feed(j, 40, bad)
	j.UseAppliedFaults(nil)
	if got := j.Budget(onFaults, Tally{Total: total, Bad: sumBad}); got.Verdict != report.Inconclusive || !strings.Contains(got.Reason, "no fault was applied") {
		t.Errorf("no fault applied: %s (%s), want inconclusive", got.Verdict, got.Reason)
	}
}

func TestRatioSLOsAreNotAttributed(t *testing.T) {
	r := RatioBudget(SLO{Name: "r", SLI: SLIRatio, Objective: 0.99}, 995, 1000)
	if r.Attribution != nil || r.Judge != JudgeRun {
		t.Errorf("ratio SLO: attribution %+v judge %q, want none and run", r.Attribution, r.Judge)
	}
}
