package main

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// TestCheckerDetectionRates is the guard that the consistency checkers catch
// what they must, over many seeds: the linearizable example must pass and the
// eventual, clock-skew and write-behind examples must fail their checks. It
// runs only with CHAOSCTL_LONG=1 (`make test-long`: 20 seeds × 4 experiments,
// about 35 minutes); CHAOSCTL_LONG_SEEDS changes the number of seeds.
func TestCheckerDetectionRates(t *testing.T) {
	if os.Getenv("CHAOSCTL_LONG") != "1" {
		t.Skip("long test: run with CHAOSCTL_LONG=1 (make test-long)")
	}
	seeds := 20
	if n, err := strconv.Atoi(os.Getenv("CHAOSCTL_LONG_SEEDS")); err == nil && n > 0 {
		seeds = n
	}
	cases := []struct {
		file, check string
		wantFail    bool
	}{
		{"cap-cp.yaml", "linearizable", false},
		{"cap-ap.yaml", "linearizable", true},
		{"lww-clock-skew.yaml", "no-lost-writes", true},
		{"write-behind-crash.yaml", "no-lost-writes", true},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			as := 0
			for seed := 1; seed <= seeds; seed++ {
				res, _, _, _ := runExperiment(t, "../../examples/"+tc.file, "--seed", fmt.Sprint(seed))
				verdict := ""
				if res != nil {
					for _, c := range res.Checks {
						if c.Name == tc.check {
							verdict = c.Verdict
						}
					}
				}
				if (tc.wantFail && verdict == report.Fail) || (!tc.wantFail && verdict == report.Pass) {
					as++
				} else {
					t.Logf("seed %d: %s %q", seed, tc.check, verdict)
				}
			}
			rate := float64(as) / float64(seeds)
			what := "detection rate"
			if !tc.wantFail {
				what = "pass rate"
			}
			t.Logf("%s: %s %s %d/%d = %.0f%%", tc.file, tc.check, what, as, seeds, 100*rate)
			if rate < 0.9 {
				t.Errorf("%s %s %.0f%%, want at least 90%%", tc.check, what, 100*rate)
			}
		})
	}
}
