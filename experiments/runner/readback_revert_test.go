package runner

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

// A fault still applied when the workload ends (its window ends with the
// workload, so the schedule may not get to its revert) is reverted before
// the read-back of no-lost-writes, and its
// result says when: not reverted in silence, which a shared target's next
// run would take for a fault that may still be in place.
func TestAFaultLastingToTheEndIsRecordedAsRevertedBeforeTheReadBack(t *testing.T) {
	if testing.Short() {
		t.Skip("real member processes")
	}
	src := []byte(`apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: to-the-end}
seed: 1
target: {demo: {nodes: 3}}
workload: {rate: 50, warmup: 0s, duration: 2s, keys: 20}
steadyState: {recoveryWithin: 2s}
faults:
  - {name: crash-n2, at: 1200ms, crash: {nodes: [n2], restartAfter: 800ms}}
slos:
  - {name: availability, sli: availability, objective: 50%}
checks: [no-lost-writes]
`)
	e, err := experiments.Decode("to-the-end.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lg := logrus.New()
	lg.SetOutput(testWriter{t})
	out, err := Run(context.Background(), e, RunOptions{File: "to-the-end.yaml", Settings: Settings{
		OutDir: filepath.Join(dir, "out"), StateDir: filepath.Join(dir, "state"), Binary: processtest.Binary(t), Log: logrus.NewEntry(lg)}})
	if err != nil {
		t.Fatal(err)
	}
	f := out.Result.Faults[0]
	if f.Applied == nil || f.Reverted == nil || f.StillApplied || f.RevertError != "" {
		t.Fatalf("fault record %+v: want applied and reverted, nothing left", f)
	}
	if f.RevertReceipt == nil {
		t.Errorf("no revert receipt for %s", f.Name)
	}
}

// testWriter sends log lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
