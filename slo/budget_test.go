package slo

import (
	"math"
	"testing"
)

func TestBudgetArithmetic(t *testing.T) {
	cases := []struct {
		name                    string
		b                       Budget
		allowed, consumed, burn float64
		verdict                 Verdict
	}{
		// The SRE workbook's worked example: 99.9 %, 300 bad of 20,000 in an hour.
		{"workbook", Budget{0.999, 20000, 300}, 20, 15, 15, Fail},
		{"within", Budget{0.99, 10000, 50}, 100, 0.5, 0.5, Pass},
		{"exactly spent", Budget{0.99, 10000, 100}, 100, 1, 1, Pass},
		{"one over", Budget{0.99, 10000, 101}, 100, 1.01, 1.01, Fail},
		{"no events", Budget{0.99, 0, 0}, 0, 0, 0, Inconclusive},
		{"perfect", Budget{0.995, 4000, 0}, 20, 0, 0, Pass},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }
			if got := tc.b.Allowed(); !near(got, tc.allowed) {
				t.Errorf("allowed %v, want %v", got, tc.allowed)
			}
			if got := tc.b.Consumed(); !near(got, tc.consumed) {
				t.Errorf("consumed %v, want %v", got, tc.consumed)
			}
			if got := tc.b.BurnRate(); !near(got, tc.burn) {
				t.Errorf("burn rate %v, want %v", got, tc.burn)
			}
			if v, reason := tc.b.Verdict(); v != tc.verdict {
				t.Errorf("verdict %s (%s), want %s", v, reason, tc.verdict)
			}
		})
	}
}
