package injectors_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/childproc"
	"github.com/chaosctl/chaosctl/targets/external"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

// groupLeft lists the live processes bearing the member's cookie (every
// process of its group does), each as "pid state".
func groupLeft(cookie string) []string {
	return testkit.ProcessesWithEnv(targets.EnvMemberCookie + "=" + cookie)
}

// A command member of the external target is recorded before any fault,
// with its group and cookie; after chaosctl died mid-pause, Recover thaws
// and kills the whole group — with its leader still there, and with its
// leader killed by the parent-death signal and a child that ignores SIGHUP
// (which the kernel thaws when the group is orphaned, and which would run on
// forever).
func TestRecoverEndsACommandMembersWholeGroup(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		killLeader   bool
		unrecorded   bool // the member record is lost: the intent's is used
	}{
		{"paused group", "sleep 600 & wait", false, false},
		{"leader gone, orphan ignores SIGHUP", `trap "" HUP; sleep 600 & wait`, true, false},
		{"member record lost", "sleep 600 & wait", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stateDir, dir := t.TempDir(), t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ledger, err := injectors.CreateLedger(stateDir, injectors.RunInfo{Run: "ext", Runtime: "external", Dir: dir, PID: deadPID(t)})
			if err != nil {
				t.Fatal(err)
			}
			onStarted := ledger.OnStarted
			if tc.unrecorded {
				onStarted = nil
			}
			tg, err := external.Start(ctx, external.Spec{
				Members: []external.MemberSpec{{Name: "app", Command: []string{"sh", "-c", tc.script}}},
			}, external.Options{Run: "ext", Dir: dir, Log: processtest.Log(t), OnStarted: onStarted})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = tg.Close(context.Background()) })
			m := member(t, tg, "app")
			if m.PGID != m.PID || m.Cookie == "" {
				t.Fatalf("member %+v: want its own group and a cookie", m)
			}
			testkit.Eventually(t, 10*time.Second, "the member's sleep runs", func() bool { return len(groupLeft(m.Cookie)) == 2 })
			tr := injectors.NewTracker(injectors.DefaultRegistry(), tg, ledger, processtest.Log(t))
			if err := tr.Apply(ctx, injectors.Fault{Name: "freeze", Kind: injectors.KindPause, Targets: []string{"app"}}); err != nil {
				t.Fatal(err)
			}
			testkit.Eventually(t, 5*time.Second, "the whole group is stopped", func() bool {
				left := groupLeft(m.Cookie)
				return len(left) == 2 && strings.HasSuffix(left[0], " T") && strings.HasSuffix(left[1], " T")
			})
			if err := ledger.Close(); err != nil { // chaosctl dies: no end record
				t.Fatal(err)
			}
			if tc.killLeader { // the parent-death signal reaches the leader only
				if err := syscall.Kill(m.PID, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				testkit.Eventually(t, 5*time.Second, "the orphan runs on, thawed by the kernel", func() bool {
					left := groupLeft(m.Cookie)
					return len(left) == 1 && !strings.HasSuffix(left[0], " T")
				})
			}

			rep, err := injectors.Recover(ctx, stateDir, processtest.Log(t))
			if err != nil {
				t.Fatalf("Recover: %v\n%s", err, rep)
			}
			if left := groupLeft(m.Cookie); len(left) > 0 {
				t.Fatalf("processes of the member left after Recover: %v\n%s", left, rep)
			}
			if len(rep.Runs) != 1 || !rep.Runs[0].Done || len(rep.Runs[0].Processes) != 1 {
				t.Fatalf("report:\n%s", rep)
			}
			if p := rep.Runs[0].Processes[0]; p.Action != injectors.ActionKilled || !strings.Contains(p.Detail, "process group "+strconv.Itoa(m.PGID)) {
				t.Fatalf("member action %+v", p)
			}
		})
	}
}

// A recorded command member whose pid now belongs to another process (in
// another group, or started at another time) and whose cookie no process
// bears is never signalled, nor is its group.
func TestRecoverLeavesAReusedPidOfACommandMemberAlone(t *testing.T) {
	stateDir := t.TempDir()
	ledger, err := injectors.CreateLedger(stateDir, injectors.RunInfo{Run: "reused", Runtime: "external", PID: deadPID(t)})
	if err != nil {
		t.Fatal(err)
	}
	// A stranger in this process's group, and one leading its own.
	plain := exec.Command("sleep", "600")
	if err := plain.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = plain.Process.Kill(); _ = plain.Wait() })
	tg, err := external.Start(context.Background(), external.Spec{
		Members: []external.MemberSpec{{Name: "leader", Command: []string{"sleep", "600"}}},
	}, external.Options{Run: "reused", Dir: t.TempDir(), Log: processtest.Log(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tg.Close(context.Background()) })
	leader := member(t, tg, "leader")
	if err := ledger.Members([]targets.Member{{ID: "a", PID: plain.Process.Pid, PGID: plain.Process.Pid, Cookie: "not-borne"}}); err != nil {
		t.Fatal(err)
	}
	if err := ledger.Close(); err != nil {
		t.Fatal(err)
	}
	// The leader on record started at another time (one tick after boot)
	// than the process now at its pid.
	rec, err := json.Marshal(injectors.Record{Time: time.Now().UTC(), Type: injectors.RecordMember, Run: "reused",
		Member: &injectors.ProcessRef{ID: "b", PID: leader.PID, PGID: leader.PID, Start: 1, Cookie: "not-borne-either"}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(ledger.Path(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(append(rec, '\n')); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	rep, err := injectors.Recover(context.Background(), stateDir, processtest.Log(t))
	if err != nil {
		t.Fatalf("Recover: %v\n%s", err, rep)
	}
	if p := rep.Runs[0].Processes; len(p) != 2 || p[0].Action != injectors.ActionLeftOver || p[1].Action != injectors.ActionLeftOver {
		t.Fatalf("member actions %+v, want both left alone", p)
	}
	for _, pid := range []int{plain.Process.Pid, leader.PID} {
		if st := childproc.StateOf(pid); st == "" || st == "Z" {
			t.Fatalf("pid %d was killed (state %q)", pid, st)
		}
	}
}

// fakeEngine records what Recover asks of the container engine.
type fakeEngine struct {
	calls map[string]injectors.ContainerUndo // by container id
}

func (f *fakeEngine) RecoverContainer(_ context.Context, c targets.ContainerRef, undo injectors.ContainerUndo) (string, error) {
	if f.calls == nil {
		f.calls = map[string]injectors.ContainerUndo{}
	}
	f.calls[c.ID] = undo
	return "undone", nil
}

// Recover asks the engine to undo, on the containers the ledger records
// only, what the faults never reverted did: unpause after a pause, start
// after a crash or restart that began at its intent; a reverted fault and a
// container the ledger does not record are left alone.
func TestRecoverUndoesOnlyUnrevertedFaultsOnRecordedContainers(t *testing.T) {
	stateDir := t.TempDir()
	ledger, err := injectors.CreateLedger(stateDir, injectors.RunInfo{Run: "boxes", Runtime: "external", PID: deadPID(t)})
	if err != nil {
		t.Fatal(err)
	}
	box := func(id string) *targets.ContainerRef {
		return &targets.ContainerRef{ID: id, Name: id, Host: "unix:///test.sock"}
	}
	if err := ledger.Members([]targets.Member{
		{ID: "frozen", Container: box("c-frozen")}, {ID: "dead", Container: box("c-dead")},
		{ID: "thawed", Container: box("c-thawed")}, {ID: "idle", Container: box("c-idle")},
	}); err != nil {
		t.Fatal(err)
	}
	faults := []injectors.Fault{
		{Name: "freeze", Kind: injectors.KindPause, Targets: []string{"frozen", "unrecorded"}},
		{Name: "kill", Kind: injectors.KindCrash, Targets: []string{"dead"}},
		{Name: "thaw", Kind: injectors.KindPause, Targets: []string{"thawed"}},
	}
	for _, f := range faults {
		if err := ledger.Intent(f, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := ledger.Reverted("thaw"); err != nil {
		t.Fatal(err)
	}
	if err := ledger.Close(); err != nil {
		t.Fatal(err)
	}
	recs, _, err := injectors.ReadLedger(ledger.Path())
	if err != nil {
		t.Fatal(err)
	}
	var killAt time.Time
	for _, r := range recs {
		if r.Type == injectors.RecordFaultIntent && r.FaultName == "kill" {
			killAt = r.Time
		}
	}

	// Without an engine the run stays unrecovered, saying why.
	rep, err := injectors.Recover(context.Background(), stateDir, processtest.Log(t))
	if err == nil || !strings.Contains(err.Error(), "no container engine") || rep.Runs[0].Done {
		t.Fatalf("Recover without an engine: %v\n%s", err, rep)
	}
	engine := &fakeEngine{}
	rep, err = injectors.RecoverWith(context.Background(), stateDir, processtest.Log(t), injectors.RecoverOptions{Containers: engine})
	if err != nil {
		t.Fatalf("Recover: %v\n%s", err, rep)
	}
	want := map[string]injectors.ContainerUndo{"c-frozen": {Unpause: true}, "c-dead": {StoppedSince: killAt}}
	if len(engine.calls) != len(want) || engine.calls["c-frozen"] != want["c-frozen"] || !engine.calls["c-dead"].StoppedSince.Equal(killAt) {
		t.Fatalf("engine asked %+v, want %+v", engine.calls, want)
	}
	if !strings.Contains(rep.String(), "member frozen (container c-frozen c-frozen on unix:///test.sock): undone") {
		t.Fatalf("report:\n%s", rep)
	}
}
