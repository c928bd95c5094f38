package runner

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/crash"
)

// pausableTarget is a stuckTarget whose paused member can be resumed.
type pausableTarget struct{ *stuckTarget }

func (t pausableTarget) Resume(context.Context, string) error {
	t.resumes.Add(1)
	t.paused.Store(false)
	return nil
}

// A panic in a goroutine the run started — a live probe's, a workload
// worker's — while a fault is applied ends the run, not the process: the
// fault is reverted, the ledger closes the run, the verdict is never a
// pass, and Run returns ErrCrashed with the goroutine named.
func TestAPanicInAGoroutineOfTheRunRevertsAndEndsItAsCrashed(t *testing.T) {
	for _, tc := range []struct{ point, goroutine string }{
		{"probe", "probe home"},
		{"workload", "a workload worker"},
	} {
		t.Run(tc.point, func(t *testing.T) {
			target := pausableTarget{startStuckTarget(t)}
			var panicked atomic.Bool
			panicHook = func(where string) {
				// Once, while the pause is applied.
				if where == tc.point && target.paused.Load() && panicked.CompareAndSwap(false, true) {
					panic("injected by the test at " + where)
				}
			}
			t.Cleanup(func() { panicHook = nil })

			src := []byte(`apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: crash}
target: {demo: {nodes: 1}}
workload: {rate: 20, warmup: 0s, duration: 8s}
steadyState:
  probes:
    - {name: home, http: {url: "http://` + target.addr + `/kv/x", status: 404}}
faults:
  - {name: freeze, at: 1s, duration: 5s, pause: {nodes: [n1]}}
slos:
  - {name: availability, sli: availability, objective: 50%}
seed: 1
`)
			e, err := experiments.Decode("crash.yaml", src)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			state := filepath.Join(dir, "state")
			out, err := Run(context.Background(), e, RunOptions{File: "crash.yaml", Settings: Settings{OutDir: filepath.Join(dir, "out"), StateDir: state}, Target: target})
			if !panicked.Load() {
				t.Fatalf("the hook never panicked; Run returned %v", err)
			}
			p, ok := errors.AsType[*crash.Panic](err)
			if !errors.Is(err, ErrCrashed) || errors.Is(err, ErrEnvironment) || !ok || p.Where != tc.goroutine || len(p.Stack) == 0 {
				t.Fatalf("Run returned %v, want ErrCrashed from %q with its stack", err, tc.goroutine)
			}
			if target.paused.Load() || target.resumes.Load() != 1 {
				t.Fatalf("paused %v after %d resumes: the pause was not reverted", target.paused.Load(), target.resumes.Load())
			}
			res := out.Result
			if f := res.Faults[0]; f.Applied == nil || f.Reverted == nil || f.StillApplied {
				t.Errorf("fault record %+v: want applied and reverted", f)
			}
			if res.Verdict != report.Inconclusive || !strings.Contains(res.Reason, "chaosctl crashed") {
				t.Errorf("verdict %s (%s), want inconclusive for the crash", res.Verdict, res.Reason)
			}
			if last := lastLedgerRecord(t, state); last.Type != injectors.RecordRunEnd || last.Outcome == injectors.OutcomeRevertFailed {
				t.Errorf("the ledger ends with %+v, want the run ended with its faults reverted", last)
			}
		})
	}
}
