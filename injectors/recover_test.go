package injectors_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
	"github.com/chaosctl/chaosctl/targets/processdemo"
)

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestRecoverFinishesARunWhoseChaosctlDied(t *testing.T) {
	stateDir := t.TempDir()
	runDir, suffix, err := injectors.CreateTempRunDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(runDir) })
	ctx := context.Background()

	// The run of a chaosctl that is gone: its pid is dead, its ledger unlocked
	// and without an end record; its members (started here) still run, one
	// of them paused, and its proxies still exist.
	ledger, err := injectors.CreateLedger(stateDir, injectors.RunInfo{Run: "crashed", Runtime: "process", Dir: runDir, TempDirSuffix: suffix, PID: deadPID(t)})
	if err != nil {
		t.Fatal(err)
	}
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 2, Gateways: 1}, processdemo.Options{Run: "crashed", Dir: runDir, OnStarted: ledger.OnStarted})
	if err := ledger.Plane(d.Plane().URL(), true); err != nil {
		t.Fatal(err)
	}
	if err := ledger.PlaneToken(d.Plane().Token()); err != nil {
		t.Fatal(err)
	}
	tr := injectors.NewTracker(injectors.DefaultRegistry(), d, ledger, processtest.Log(t))
	if err := tr.Apply(ctx, injectors.Fault{Name: "freeze", Kind: injectors.KindPause, Targets: []string{"n1"}}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Apply(ctx, injectors.Fault{Name: "slow", Kind: injectors.KindLatency, Targets: []string{"n2"}, Delay: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	// An unrelated process that has (as if by pid reuse) a member's pid on record.
	stranger := exec.Command("sleep", "60")
	if err := stranger.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stranger.Process.Kill(); _ = stranger.Wait() })
	if err := ledger.Members([]targets.Member{{ID: "n7", Role: "node", PID: stranger.Process.Pid}}); err != nil {
		t.Fatal(err)
	}
	members := d.Members()
	if err := ledger.Close(); err != nil { // chaosctl dies: no end record
		t.Fatal(err)
	}

	// A run whose chaosctl still runs (this process holds its ledger).
	live, err := injectors.CreateLedger(stateDir, injectors.RunInfo{Run: "live", Runtime: "process"})
	if err != nil {
		t.Fatal(err)
	}
	defer live.End(injectors.OutcomeCompleted)
	// A finished run.
	done, err := injectors.CreateLedger(stateDir, injectors.RunInfo{Run: "done", Runtime: "process", PID: deadPID(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := done.End(injectors.OutcomeCompleted); err != nil {
		t.Fatal(err)
	}

	rep, err := injectors.Recover(ctx, stateDir, processtest.Log(t))
	if err != nil {
		t.Fatalf("Recover: %v\n%s", err, rep)
	}
	t.Logf("report:\n%s", rep)
	if len(rep.Runs) != 1 || rep.Runs[0].Run != "crashed" {
		t.Fatalf("recovered runs %+v, want only crashed", rep.Runs)
	}
	if len(rep.Live) != 1 || rep.Live[0].Run != "live" {
		t.Errorf("live runs %+v, want only live", rep.Live)
	}
	rr := rep.Runs[0]
	if !rr.Done || len(rr.Errors) > 0 {
		t.Errorf("run not fully recovered: %+v", rr)
	}
	if !slices.Equal(rr.OpenFaults, []string{"freeze", "slow"}) {
		t.Errorf("open faults %v, want [freeze slow]", rr.OpenFaults)
	}
	actions := map[string]string{}
	for _, p := range rr.Processes {
		actions[p.ID] = p.Action
	}
	for _, m := range members {
		if actions[m.ID] != injectors.ActionKilled {
			t.Errorf("member %s: %q, want %q", m.ID, actions[m.ID], injectors.ActionKilled)
		}
		if alive(m.PID) {
			t.Errorf("member %s (pid %d) still runs after the recovery", m.ID, m.PID)
		}
	}
	if actions["n7"] != injectors.ActionLeftOver || !alive(stranger.Process.Pid) {
		t.Errorf("the stranger at n7's pid: %q, alive %v; want left alone and alive", actions["n7"], alive(stranger.Process.Pid))
	}
	proxies, err := d.Plane().Client().Proxies()
	if err != nil {
		t.Fatal(err)
	}
	for name := range proxies {
		if strings.HasPrefix(name, faultplane.NamePrefix+"crashed-") {
			t.Errorf("proxy %s remains after the recovery", name)
		}
	}
	if !strings.HasPrefix(rr.Proxies, "deleted") {
		t.Errorf("proxies: %q, want them deleted", rr.Proxies)
	}
	if _, err := os.Stat(runDir); !os.IsNotExist(err) || rr.DirAction != "removed" {
		t.Errorf("run directory: %q, stat %v; want removed", rr.DirAction, err)
	}
	recs, _, err := injectors.ReadLedger(filepath.Join(injectors.LedgerDir(stateDir), "crashed.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	if last := recs[len(recs)-1]; last.Type != injectors.RecordRunEnd || last.Outcome != injectors.OutcomeRecovered {
		t.Errorf("last record %+v, want a run-end with outcome recovered", last)
	}

	again, err := injectors.Recover(ctx, stateDir, processtest.Log(t))
	if err != nil {
		t.Fatalf("second Recover: %v", err)
	}
	if len(again.Runs) != 0 {
		t.Errorf("the second Recover did something: %+v", again.Runs)
	}
	if !strings.Contains(again.String(), "live") {
		t.Errorf("the second report does not mention the live run:\n%s", again)
	}
}
