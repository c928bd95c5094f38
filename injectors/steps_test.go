package injectors_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/probes"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

// A killed chaosctl's pending rollbacks run once, newest action first: a
// rollback the run already did is left alone, one that failed is retried,
// and a second recover runs none.
func TestRecoverRunsPendingRollbacksOnce(t *testing.T) {
	stateDir, out := t.TempDir(), t.TempDir()
	log := filepath.Join(out, "rollbacks.log")
	appendLine := func(word string) *injectors.Step {
		return &injectors.Step{Exec: &probes.ExecSpec{Command: []string{"sh", "-c", `echo "$W" >> "$LOG"`}, Env: map[string]string{"W": word, "LOG": log}}}
	}
	ledger, err := injectors.CreateLedger(stateDir, injectors.RunInfo{Run: "killed", Runtime: "process", PID: deadPID(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		ledger.ActionIntent("done-already", appendLine("never")),
		ledger.ActionDone("done-already", nil),
		ledger.RollbackDone("done-already", nil),
		ledger.ActionIntent("no-rollback", nil),
		ledger.ActionIntent("first", appendLine("first")),
		ledger.ActionDone("first", nil),
		ledger.ActionIntent("failed-before", appendLine("retried")),
		ledger.RollbackDone("failed-before", os.ErrDeadlineExceeded),
		ledger.ActionIntent("killed-mid-action", appendLine("mid")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := ledger.Close(); err != nil { // no end record: chaosctl was killed
		t.Fatal(err)
	}

	rep, err := injectors.Recover(context.Background(), stateDir, processtest.Log(t))
	if err != nil {
		t.Fatalf("recover: %v\n%s", err, rep)
	}
	b, _ := os.ReadFile(log)
	if got, want := string(b), "mid\nretried\nfirst\n"; got != want {
		t.Errorf("rollbacks ran as %q; want %q (newest first, each once, none already done)", got, want)
	}
	if len(rep.Runs) != 1 || len(rep.Runs[0].Rollbacks) != 3 || !rep.Runs[0].Done {
		t.Fatalf("report: %+v; want one run done with 3 rollbacks", rep.Runs)
	}
	if s := rep.String(); !strings.Contains(s, "rollback of action killed-mid-action: ran: exec sh -c") {
		t.Errorf("report text lacks the rollback:\n%s", s)
	}
	recs, _, err := injectors.ReadLedger(ledger.Path())
	if err != nil {
		t.Fatal(err)
	}
	done := 0
	for _, r := range recs {
		if r.Type == injectors.RecordRollbackDone {
			done++
		}
	}
	if done != 4 {
		t.Errorf("%d rollback-done records; want 4 (one by the run, three by recover)", done)
	}

	if _, err := injectors.Recover(context.Background(), stateDir, processtest.Log(t)); err != nil {
		t.Fatal(err)
	}
	if b2, _ := os.ReadFile(log); string(b2) != string(b) {
		t.Errorf("a second recover ran rollbacks again: %q", b2)
	}
}

// A rollback that fails in recover stays pending: the run is not done,
// and the next recover tries it again.
func TestRecoverRetriesAFailedRollback(t *testing.T) {
	stateDir, out := t.TempDir(), t.TempDir()
	flag := filepath.Join(out, "may-succeed")
	ledger, err := injectors.CreateLedger(stateDir, injectors.RunInfo{Run: "killed", Runtime: "process", PID: deadPID(t)})
	if err != nil {
		t.Fatal(err)
	}
	step := &injectors.Step{Exec: &probes.ExecSpec{Command: []string{"test", "-e", flag}}}
	if err := ledger.ActionIntent("a", step); err != nil {
		t.Fatal(err)
	}
	_ = ledger.Close()
	rep, err := injectors.Recover(context.Background(), stateDir, processtest.Log(t))
	if err == nil || rep.Runs[0].Done || rep.Runs[0].Rollbacks[0].OK {
		t.Fatalf("err %v, report %+v: want the failed rollback to leave the run unrecovered", err, rep.Runs)
	}
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err = injectors.Recover(context.Background(), stateDir, processtest.Log(t))
	if err != nil || !rep.Runs[0].Done || !rep.Runs[0].Rollbacks[0].OK {
		t.Fatalf("err %v, report %+v: want the retried rollback to succeed", err, rep.Runs)
	}
}
