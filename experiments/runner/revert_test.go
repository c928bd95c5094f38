package runner

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// stuckTarget is a one-member target whose member can be paused but never
// resumed: every revert of a pause fails. Its "gateway" is an in-memory
// key-value server, so the workload runs for real.
type stuckTarget struct {
	plane   *faultplane.Plane
	addr    string
	paused  atomic.Bool
	resumes atomic.Int32
}

func (t *stuckTarget) Runtime() string { return string(experiments.RuntimeProcess) }
func (t *stuckTarget) Members() []targets.Member {
	return []targets.Member{{ID: "n1", Role: "node", Addr: t.addr}}
}
func (t *stuckTarget) ClientAddrs() []string               { return []string{t.addr} }
func (t *stuckTarget) Plane() *faultplane.Plane            { return t.plane }
func (t *stuckTarget) Kill(context.Context, string) error  { return targets.ErrUnsupported }
func (t *stuckTarget) Start(context.Context, string) error { return targets.ErrUnsupported }
func (t *stuckTarget) Stop(context.Context, string) error  { return targets.ErrUnsupported }
func (t *stuckTarget) Pause(context.Context, string) error {
	t.paused.Store(true)
	return nil
}
func (t *stuckTarget) Resume(context.Context, string) error {
	t.resumes.Add(1)
	return errors.New("the member's process cannot be signalled")
}
func (t *stuckTarget) Control(context.Context, string, string, any, any) error {
	return targets.ErrUnsupported
}
func (t *stuckTarget) Close(context.Context) error { return nil }

// startStuckTarget starts a stuckTarget, its key-value server and its
// fault plane; the test's end stops them.
func startStuckTarget(t *testing.T) *stuckTarget {
	t.Helper()
	kv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(kv.Close)
	log := logrus.New()
	log.SetOutput(&bytes.Buffer{})
	plane, err := faultplane.StartEmbedded(context.Background(), "stuck", logrus.NewEntry(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = plane.Close() })
	return &stuckTarget{plane: plane, addr: strings.TrimPrefix(kv.URL, "http://")}
}

// lastLedgerRecord is the last record of the one ledger in stateDir.
func lastLedgerRecord(t *testing.T, stateDir string) injectors.Record {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(injectors.LedgerDir(stateDir), "*.ndjson"))
	if err != nil || len(files) != 1 {
		t.Fatalf("ledger files %v (%v), want one", files, err)
	}
	recs, _, err := injectors.ReadLedger(files[0])
	if err != nil {
		t.Fatal(err)
	}
	return recs[len(recs)-1]
}

// A fault whose revert fails is reported as still in place everywhere —
// result.json, the terminal, JUnit, the verdict and the error the CLI turns
// into exit 5 — and never as reverted.
func TestAFaultThatCouldNotBeRevertedIsReportedAsStillApplied(t *testing.T) {
	ctx := context.Background()
	target := startStuckTarget(t)

	src := []byte(`apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: stuck}
target: {demo: {nodes: 1}}
workload: {rate: 20, warmup: 0s, duration: 3s}
faults:
  - {name: freeze, at: 1s, duration: 1s, pause: {nodes: [n1]}}
slos:
  - {name: availability, sli: availability, objective: 90%}
seed: 1
`)
	e, err := experiments.Decode("stuck.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, err := Run(ctx, e, RunOptions{File: "stuck.yaml", Settings: Settings{OutDir: filepath.Join(dir, "out"), StateDir: filepath.Join(dir, "state")}, Target: target})
	if !errors.Is(err, ErrEnvironment) || !strings.Contains(err.Error(), "revert fault freeze") {
		t.Fatalf("Run returned %v, want an environment error naming the fault", err)
	}
	if !target.paused.Load() || target.resumes.Load() < 2 {
		t.Fatalf("paused %v, %d resume attempts; want the pause applied and the revert tried on schedule and again at the end", target.paused.Load(), target.resumes.Load())
	}
	res := out.Result
	if len(res.Faults) != 1 {
		t.Fatalf("faults %+v", res.Faults)
	}
	f := res.Faults[0]
	if f.Applied == nil || f.Reverted != nil || !f.StillApplied || !strings.Contains(f.RevertError, "cannot be signalled") {
		t.Errorf("fault record %+v: want applied, not reverted, still applied with the error", f)
	}
	if res.Verdict != report.Inconclusive || !strings.Contains(res.Reason, "fault freeze (pause) was not reverted and may still be in place") {
		t.Errorf("verdict %s (%s), want inconclusive naming the fault left in place", res.Verdict, res.Reason)
	}
	saved, err := report.ReadJSON(out.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if sf := saved.Faults[0]; sf.Reverted != nil || !sf.StillApplied {
		t.Errorf("result.json says %+v", sf)
	}
	var term bytes.Buffer
	if err := report.Terminal(&term, res, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(term.String(), "NOT REVERTED") {
		t.Errorf("terminal report does not say the fault was not reverted:\n%s", term.String())
	}
	junit, err := os.ReadFile(filepath.Join(out.Dir, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(junit, []byte(`type="revert-failed"`)) {
		t.Errorf("junit.xml has no revert-failed error:\n%s", junit)
	}
	// The ledger ends the run as revert-failed, which recover takes as
	// unfinished: it retries the fault.
	last := lastLedgerRecord(t, filepath.Join(dir, "state"))
	if last.Type != injectors.RecordRunEnd || last.Outcome != injectors.OutcomeRevertFailed {
		t.Errorf("the ledger ends with %+v, want a run-end record with outcome %s", last, injectors.OutcomeRevertFailed)
	}
}
