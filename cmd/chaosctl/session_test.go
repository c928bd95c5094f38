package main

import (
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// The session examples end to end, shortened (a 5 s partition in 9 s of
// load): without stickiness eventual mode loses read-your-writes and
// monotonic reads, naming the reads; with sticky sessions both hold and were
// judged on reads (not inconclusive). `make test-long` holds their promises
// at full length on every seed.
func TestSessionExamplesReachTheirVerdicts(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end runs")
	}
	short := []string{"--set", "workload.duration=9s", "--set", "faults[0].duration=5s"}
	for _, tc := range []struct {
		file    string
		code    int
		verdict string
	}{
		{"session-no-sticky.yaml", 1, report.Fail},
		{"session-sticky.yaml", 0, report.Pass},
	} {
		t.Run(tc.file, func(t *testing.T) {
			res, stdout, _, code := runExperiment(t, "../../examples/"+tc.file, short...)
			if res == nil || code != tc.code || res.Verdict != tc.verdict || len(res.Checks) != 2 {
				t.Fatalf("exit %d, want %d (%s)\n%s", code, tc.code, tc.verdict, stdout)
			}
			for _, c := range res.Checks {
				if c.Verdict != tc.verdict || c.Operations == 0 {
					t.Errorf("%s: %s on %d judged reads, want %s on some", c.Name, c.Verdict, c.Operations, tc.verdict)
				}
				if tc.verdict == report.Fail && (c.Anomalies == 0 || len(c.Listed) == 0 || !strings.Contains(c.Listed[0], "older than op")) {
					t.Errorf("%s: %d anomalies, listed %q: want the stale reads named", c.Name, c.Anomalies, c.Listed)
				}
			}
			if t.Failed() {
				t.Logf("%s", stdout)
			}
		})
	}
}
