package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/probes/workload"
)

// The lock examples, shortened to one pause, on the process runtime: without
// fencing the paused holder's late write is accepted and mutual-exclusion
// fails naming a stale write; with fencing the store refuses it (409, a put
// of outcome fail under the old token in the history) and the check passes.
// `chaosctl check --checker mutual-exclusion` reads both histories back to
// the same verdicts. `make test-long` holds the full examples on 20 seeds.
func TestLockExamplesReachTheirVerdicts(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end runs")
	}
	short := []string{"--set", "workload.duration=7s", "--set", "workload.lock.pauseEvery=3s"}
	for _, tc := range []struct {
		file    string
		verdict string
		code    int
	}{
		{"lock-no-fencing.yaml", report.Fail, 1},
		{"lock-fencing.yaml", report.Pass, 0},
	} {
		t.Run(tc.file, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"run", "../../examples/" + tc.file, "--out", out, "--state-dir", filepath.Join(t.TempDir(), "state")}, short...)
			stdout, _, code := run(t, args...)
			noMembersLeft(t, out)
			res, err := report.ReadJSON(out)
			if err != nil || code != tc.code || res.Verdict != tc.verdict {
				t.Fatalf("exit %d (want %d), result %v\n%s", code, tc.code, err, stdout)
			}
			if len(res.Checks) != 1 || res.Checks[0].Name != "mutual-exclusion" || res.Checks[0].Verdict != tc.verdict {
				t.Fatalf("checks %+v, want mutual-exclusion %s", res.Checks, tc.verdict)
			}
			c := res.Checks[0]
			refused := refusedStaleWrites(t, filepath.Join(out, "history.ndjson"))
			switch tc.verdict {
			case report.Fail:
				if c.ByKind["stale-write"] == 0 || len(c.Listed) == 0 || !strings.HasPrefix(c.Listed[0], "stale-write") {
					t.Fatalf("no stale write named: %+v", c)
				}
			case report.Pass:
				if c.Operations == 0 || refused == 0 {
					t.Fatalf("%d accepted writes and %d refused: the pause did not bring a stale write to the store", c.Operations, refused)
				}
			}
			hstdout, _, hcode := run(t, "check", "--checker", "mutual-exclusion", filepath.Join(out, "history.ndjson"))
			if hcode != tc.code || !strings.Contains(hstdout, tc.verdict) {
				t.Fatalf("check --checker mutual-exclusion: exit %d, want %d\n%s", hcode, tc.code, hstdout)
			}
		})
	}
}

// refusedStaleWrites counts the fenced puts the store refused.
func refusedStaleWrites(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	err = workload.ReadHistory(f, func(h workload.HistoryOp) error {
		if h.Op == workload.OpPut && h.Fenced && h.Token != nil && h.Outcome == workload.OutcomeFail {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
