package ramp

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// threshold is a deterministic target: values milder than t hold.
func threshold(t int64, dir int64) func(int64) string {
	return func(x int64) string {
		if (x-t)*dir < 0 {
			return report.Pass
		}
		return report.Fail
	}
}

// fake adapts a verdict function to a Probe, counting the probes.
func fake(f func(int64) string) (Probe, *int) {
	n := 0
	return func(_ context.Context, x int64) (string, error) { n++; return f(x), nil }, &n
}

// backed fails the test when a figure of b is not a value its probes
// judged so: Holds passed, Breaks failed, Unknown was inconclusive twice.
func backed(t *testing.T, b Bracket) {
	t.Helper()
	seen := func(v *int64, verdict string, times int) bool {
		n := 0
		for _, p := range b.Probes {
			if p.Value == *v && p.Verdict == verdict {
				n++
			}
		}
		return n >= times
	}
	if b.Holds != nil && !seen(b.Holds, report.Pass, 1) {
		t.Errorf("holds %d was never judged pass: %+v", *b.Holds, b.Probes)
	}
	if b.Breaks != nil && !seen(b.Breaks, report.Fail, 1) {
		t.Errorf("breaks %d was never judged fail: %+v", *b.Breaks, b.Probes)
	}
	if b.Unknown != nil && !seen(b.Unknown, report.Inconclusive, 2) {
		t.Errorf("unknown %d was not inconclusive twice: %+v", *b.Unknown, b.Probes)
	}
}

func TestSearchFindsAKnownBreakingPointWithinOneStep(t *testing.T) {
	for _, tc := range []struct {
		name          string
		from, to, at  int64
		steps         int
		width, probes int64
	}{
		// 20..400 ms, 6 steps: 380/64 = 5.9, so the bracket is at most 6 wide.
		{"delay", 20, 400, 213, 6, 6, 8},
		{"delay at a probe", 20, 400, 210, 6, 6, 8},
		{"enough steps to reach the grid", 20, 400, 213, 20, 1, 2 + 8},
		{"a count", 1, 5, 3, 6, 1, 2 + 2},
		{"bandwidth: less is harsher", 1000, 16, 100, 6, 16, 8},
		{"break just above from", 20, 400, 21, 6, 6, 2 + 6},
		{"break at to", 20, 400, 400, 6, 6, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := int64(1)
			if tc.to < tc.from {
				dir = -1
			}
			probe, n := fake(threshold(tc.at, dir))
			b, err := Search(context.Background(), Space{From: tc.from, To: tc.to, Steps: tc.steps}, probe)
			if err != nil || b.Status != StatusBracketed || b.Holds == nil || b.Breaks == nil || b.Unknown != nil {
				t.Fatalf("Search = %+v, %v", b, err)
			}
			backed(t, b)
			holds, breaks := *b.Holds, *b.Breaks
			if (tc.at-holds)*dir <= 0 || (breaks-tc.at)*dir < 0 || (breaks-holds)*dir > tc.width {
				t.Errorf("bracket %d..%d does not hold the point %d within %d", holds, breaks, tc.at, tc.width)
			}
			if int64(*n) != tc.probes {
				t.Errorf("%d probes, want %d: %+v", *n, tc.probes, b.Probes)
			}
		})
	}
}

func TestSearchEnds(t *testing.T) {
	probe, n := fake(threshold(10, 1))
	b, _ := Search(context.Background(), Space{From: 20, To: 400, Steps: 6}, probe)
	if b.Status != StatusBreaksAtFrom || *b.Breaks != 20 || b.Holds != nil || *n != 1 {
		t.Errorf("breaking below from: %+v after %d probes", b, *n)
	}
	probe, n = fake(threshold(500, 1))
	b, _ = Search(context.Background(), Space{From: 20, To: 400, Steps: 6}, probe)
	if b.Status != StatusHoldsToTo || *b.Holds != 400 || b.Breaks != nil || *n != 2 {
		t.Errorf("holding past to: %+v after %d probes", b, *n)
	}
	if _, err := Search(context.Background(), Space{From: 5, To: 5}, probe); err == nil {
		t.Error("an empty range was searched")
	}
}

// An inconclusive probe is rerun once; one that stays inconclusive stops
// the narrowing on its harsh side, and the search says so.
func TestSearchInconclusive(t *testing.T) {
	at := threshold(213, 1)
	stuck := func(bad int64) func(int64) string {
		return func(x int64) string {
			if x == bad {
				return report.Inconclusive
			}
			return at(x)
		}
	}
	// The first midpoint, 210, stays inconclusive: the search narrows
	// below it and names it.
	probe, _ := fake(stuck(210))
	b, err := Search(context.Background(), Space{From: 20, To: 400, Steps: 6}, probe)
	if err != nil || b.Status != StatusInconclusive || *b.Unknown != 210 || *b.Breaks != 400 || *b.Holds < 200 || *b.Holds >= 210 {
		t.Fatalf("Search = %+v (holds %v), %v", b, b.Holds, err)
	}
	backed(t, b)
	// The mild end inconclusive: nothing to bisect.
	probe, n := fake(stuck(20))
	b, _ = Search(context.Background(), Space{From: 20, To: 400, Steps: 6}, probe)
	if b.Status != StatusInconclusive || *b.Unknown != 20 || b.Holds != nil || *n != 2 {
		t.Errorf("from inconclusive: %+v after %d probes", b, *n)
	}
	// The harsh end inconclusive and nothing breaks below it: the margin
	// held to the step below to, and to is unknown.
	probe, _ = fake(func(x int64) string {
		if x == 400 {
			return report.Inconclusive
		}
		return report.Pass
	})
	b, _ = Search(context.Background(), Space{From: 20, To: 400, Steps: 20}, probe)
	if b.Status != StatusInconclusive || *b.Unknown != 400 || *b.Holds != 399 || b.Breaks != nil {
		t.Errorf("to inconclusive: %+v", b)
	}
	// An unknown value above a break no longer matters.
	probe, _ = fake(stuck(400))
	b, _ = Search(context.Background(), Space{From: 20, To: 400, Steps: 20}, probe)
	if b.Status != StatusBracketed || *b.Holds != 212 || *b.Breaks != 213 || b.Unknown != nil {
		t.Errorf("to inconclusive, a break below: %+v", b)
	}
	// A rerun that decides is taken.
	calls := map[int64]int{}
	probe, _ = fake(func(x int64) string {
		calls[x]++
		if x == 210 && calls[x] == 1 {
			return report.Inconclusive
		}
		return at(x)
	})
	b, _ = Search(context.Background(), Space{From: 20, To: 400, Steps: 20}, probe)
	if b.Status != StatusBracketed || *b.Holds != 212 || *b.Breaks != 213 || b.Probes[3].Try != 2 {
		t.Errorf("rerun: %+v", b)
	}
}

// A noisy target, with a seeded RNG: probes come out inconclusive at
// random, and verdicts flip near the point. Whatever happens, every figure
// is a probed one, the search ends within its budget of probes, and a
// bracket over inconclusive noise alone still holds the point.
func TestSearchNoisyTarget(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		rng := rand.New(rand.NewPCG(seed, 18))
		flip := seed%2 == 0
		probe, n := fake(func(x int64) string {
			switch {
			case rng.Float64() < 0.3:
				return report.Inconclusive
			case flip && x > 190 && x < 240 && rng.Float64() < 0.3:
				return map[bool]string{true: report.Fail, false: report.Pass}[x < 213]
			}
			return threshold(213, 1)(x)
		})
		b, err := Search(context.Background(), Space{From: 20, To: 400, Steps: 6}, probe)
		if err != nil || b.Status == "" {
			t.Fatalf("seed %d: %+v, %v", seed, b, err)
		}
		backed(t, b)
		if *n > 2*(6+2) {
			t.Errorf("seed %d: %d probes", seed, *n)
		}
		if !flip && b.Status == StatusBracketed && (*b.Holds >= 213 || *b.Breaks < 213) {
			t.Errorf("seed %d: bracket %d..%d misses 213 with only inconclusive noise", seed, *b.Holds, *b.Breaks)
		}
	}
}

// A non-monotone target (it breaks between 100 and 200, holds again to
// 300): bisection finds a breaking point it measured, not necessarily the
// first, and claims nothing it did not probe.
func TestSearchNonMonotoneTargetIsReportedAsMeasured(t *testing.T) {
	dip := func(x int64) string {
		if x <= 100 || (x >= 200 && x <= 300) {
			return report.Pass
		}
		return report.Fail
	}
	probe, _ := fake(dip)
	b, err := Search(context.Background(), Space{From: 0, To: 400, Steps: 20}, probe)
	if err != nil || b.Status != StatusBracketed {
		t.Fatalf("%+v, %v", b, err)
	}
	backed(t, b)
	if dip(*b.Holds) != report.Pass || dip(*b.Breaks) != report.Fail || *b.Breaks-*b.Holds != 1 {
		t.Errorf("bracket %d..%d is not a measured transition", *b.Holds, *b.Breaks)
	}
	t.Logf("dip target: holds to %d, breaks at %d (the first break is 101: bisection assumes monotone)", *b.Holds, *b.Breaks)
}

func TestSearchStopsAtAProbeError(t *testing.T) {
	stop := errors.New("interrupted")
	calls := 0
	b, err := Search(context.Background(), Space{From: 20, To: 400, Steps: 6}, func(_ context.Context, x int64) (string, error) {
		calls++
		if calls == 4 {
			return "", stop
		}
		return threshold(213, 1)(x), nil
	})
	if !errors.Is(err, stop) || len(b.Probes) != 3 || *b.Holds != 210 || *b.Breaks != 400 {
		t.Errorf("Search = %+v, %v", b, err)
	}
}
