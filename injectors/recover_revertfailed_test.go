package injectors_test

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/procfs"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

// A run that could not revert a fault ends its ledger as revert-failed:
// recover takes that run up and finishes the revert (here: thaws the paused
// process), where a run that ended normally is left alone.
func TestRecoverFinishesARunWhoseRevertFailed(t *testing.T) {
	stateDir := t.TempDir()
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	pid := sleeper.Process.Pid
	proc, err := procfs.NewProc(pid)
	if err != nil {
		t.Fatal(err)
	}
	stat, err := proc.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitState(t, pid, "T")

	ledger, err := injectors.CreateLedger(stateDir, injectors.RunInfo{Run: "stuck", Runtime: "process", PID: deadPID(t)})
	if err != nil {
		t.Fatal(err)
	}
	f := injectors.Fault{Name: "freeze", Kind: injectors.KindPause, Targets: []string{"n1"}}
	for _, step := range []error{
		ledger.Intent(f, []injectors.ProcessRef{{ID: "n1", PID: pid, Start: stat.Starttime}}),
		ledger.Applied("freeze"),
		ledger.RevertFailed("freeze", errors.New("resume n1: operation not permitted")),
		ledger.End(injectors.OutcomeRevertFailed),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}

	rep, err := injectors.Recover(context.Background(), stateDir, processtest.Log(t))
	if err != nil {
		t.Fatalf("Recover: %v\n%s", err, rep)
	}
	if len(rep.Runs) != 1 || rep.Runs[0].Run != "stuck" {
		t.Fatalf("recovered runs %+v, want stuck", rep.Runs)
	}
	rr := rep.Runs[0]
	if !rr.Done || !slices.Equal(rr.OpenFaults, []string{"freeze"}) {
		t.Errorf("recovery %+v: want done with freeze open", rr)
	}
	waitState(t, pid, "S")
	// Done now: a second recover has nothing to do.
	rep, err = injectors.Recover(context.Background(), stateDir, processtest.Log(t))
	if err != nil || len(rep.Runs) != 0 {
		t.Errorf("second recover: %+v, %v; want nothing to do", rep.Runs, err)
	}
}

// waitState polls the process's state letter until it is want.
func waitState(t *testing.T, pid int, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for procState(pid) != want {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d in state %q, want %q", pid, procState(pid), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
