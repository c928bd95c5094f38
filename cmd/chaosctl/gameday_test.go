//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chaosctl/chaosctl/experiments/gameday"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/internal/testkit"
)

// A short playbook run unattended: the manual step is recorded as skipped,
// the experiment's fault has wall-clock times inside its step, and both
// reports name every step and fault.
func TestGameDayUnattendedWritesTheReport(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	stdout, stderr, code := run(t, "gameday", "testdata/gameday-short.yaml", "--yes", "--out", out, "--state-dir", filepath.Join(t.TempDir(), "state"))
	noMembersLeft(t, out)
	if code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, tail(stderr, 30))
	}
	r, err := gameday.ReadJSON(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != report.Pass || !r.Unattended || r.Seed != 3 || len(r.Members) != 4 {
		t.Errorf("gameday = %s (%s), unattended %v, seed %d, %d members", r.Verdict, r.Reason, r.Unattended, r.Seed, len(r.Members))
	}
	want := []struct{ name, kind, verdict string }{
		{"brief", "manual", gameday.Skipped},
		{"baseline", "checkpoint", report.Pass},
		{"crash-one", "experiment", report.Pass},
		{"settle", "wait", report.Pass},
	}
	if len(r.Steps) != len(want) {
		t.Fatalf("%d steps, want %d: %+v", len(r.Steps), len(want), r.Steps)
	}
	var prevEnd time.Time
	for i, w := range want {
		s := r.Steps[i]
		if s.Name != w.name || s.Kind != w.kind || s.Verdict != w.verdict {
			t.Errorf("step %d = %s %s %s (%s), want %s %s %s", i+1, s.Name, s.Kind, s.Verdict, s.Reason, w.name, w.kind, w.verdict)
		}
		if s.Started == nil || s.Ended == nil || s.Ended.Before(*s.Started) || s.Started.Before(prevEnd) {
			t.Errorf("step %s: bad times %v – %v (previous ended %v)", s.Name, s.Started, s.Ended, prevEnd)
			continue
		}
		prevEnd = *s.Ended
	}
	brief := r.Steps[0]
	if !strings.Contains(brief.Instructions, "/metrics") || brief.Expect == "" || !strings.Contains(brief.Reason, "--yes") {
		t.Errorf("manual step = %+v", brief)
	}
	if cp := r.Steps[1].Experiment; cp == nil || len(cp.Faults) != 0 || len(cp.Probes) != 1 || cp.Probes[0].Name != "low-errors" || cp.Workload.Requests == 0 {
		t.Errorf("checkpoint = %+v", cp)
	}
	crash := r.Steps[2]
	e := crash.Experiment
	if e == nil || e.Verdict != report.Pass || !e.TargetReplaced || e.Report != "steps/03-crash-one/report.html" || len(e.Faults) != 1 || len(e.Probes) == 0 {
		t.Fatalf("experiment step = %+v", e)
	}
	// The checkpoint wrote keys; they were deleted before the experiment, so
	// its linearizability check judged its own history only.
	if crash.KeysReset != 1000 || len(e.Checks) != 1 || e.Checks[0].Verdict != report.Pass {
		t.Errorf("keys reset %d, checks %+v: want 1000 keys deleted and the linearizability check passed", crash.KeysReset, e.Checks)
	}
	f := e.Faults[0]
	if f.Name != "kill-n2" || f.Applied == nil || f.Reverted == nil || f.Applied.Before(*crash.Started) || f.Reverted.After(*crash.Ended) || !f.Reverted.After(*f.Applied) {
		t.Errorf("fault = %+v, want applied and reverted within the step %v – %v", f, crash.Started, crash.Ended)
	}
	for _, p := range e.Probes {
		if p.At == nil || p.Verdict == "" {
			t.Errorf("probe without a time or verdict: %+v", p)
		}
	}
	for _, f := range []string{"steps/03-crash-one/report.html", "steps/03-crash-one/result.json", "steps/02-baseline/report.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("step output: %v", err)
		}
	}
	htmlPage, err := os.ReadFile(filepath.Join(out, gameday.FileHTML))
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, gameday.FileMarkdown))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []struct {
		name string
		text string
	}{{"gameday.html", string(htmlPage)}, {"gameday.md", string(md)}} {
		for _, want := range []string{"brief", "baseline", "crash-one", "settle", "kill-n2", "SKIPPED", "steps/03-crash-one/report.html",
			f.Applied.UTC().Format("15:04:05.000"), "replaced by the shared target", "Requests keep succeeding"} {
			if !strings.Contains(doc.text, want) {
				t.Errorf("%s does not mention %q", doc.name, want)
			}
		}
	}
	if !strings.Contains(string(htmlPage), "<svg") || strings.Contains(string(htmlPage), "<script") {
		t.Error("gameday.html must draw its timeline as inline SVG and load no script")
	}
	if !strings.Contains(stdout, "GameDay gameday-short: PASS") || !strings.Contains(stdout, "gameday.html") {
		t.Errorf("stdout lacks the summary:\n%s", stdout)
	}
	// chaosctl report re-renders a GameDay's folder from gameday.json.
	if err := os.Remove(filepath.Join(out, gameday.FileHTML)); err != nil {
		t.Fatal(err)
	}
	if rout, rerr, code := run(t, "report", out); code != 0 || !strings.Contains(rout, gameday.FileHTML) {
		t.Fatalf("report %s: exit %d\n%s\n%s", out, code, rout, rerr)
	}
	if again, err := os.ReadFile(filepath.Join(out, gameday.FileHTML)); err != nil || !strings.Contains(string(again), "crash-one") {
		t.Fatalf("re-rendered gameday.html: %v", err)
	}
}

// An operator at a terminal adds a note and confirms the first manual step,
// then aborts at the second: exit 1, the rest not run, the note in both
// reports.
func TestGameDayInteractiveNoteAndAbort(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	master, slave := openPTY(t)
	// Typed ahead: the terminal's line discipline holds the lines until
	// chaosctl reads them at each prompt.
	if _, err := master.Write([]byte("n\nthe gateway looks fine\nc\na\n")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "gameday", "testdata/gameday-manual.yaml", "--out", out, "--state-dir", filepath.Join(t.TempDir(), "state"))
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, &stdout, &stderr
	go drain(master) // the terminal echoes what was typed
	err := cmd.Run()
	_ = slave.Close()
	noMembersLeft(t, out)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1 (aborted by the operator)\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), tail(stderr.String(), 20))
	}
	for _, want := range []string{"Manual step 1/4: brief", "Look at the gateway's /metrics.", "Expected observations: Every request succeeds.", "[c]onfirm / [n]ote / [a]bort", "noted.", "aborting the GameDay."} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	r, err := gameday.ReadJSON(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != report.Fail || !r.Aborted || r.Unattended || !strings.Contains(r.Reason, "aborted by the operator at step 3 (go-no-go)") {
		t.Errorf("gameday = %s: %s (aborted %v, unattended %v)", r.Verdict, r.Reason, r.Aborted, r.Unattended)
	}
	verdicts := []string{}
	for _, s := range r.Steps {
		verdicts = append(verdicts, s.Verdict)
	}
	if got := strings.Join(verdicts, ","); got != "pass,pass,aborted,not-run" {
		t.Errorf("step verdicts = %s, want pass,pass,aborted,not-run", got)
	}
	notes := r.Steps[0].Notes
	if len(notes) != 1 || notes[0].Text != "the gateway looks fine" || notes[0].Time.Before(*r.Steps[0].Started) || notes[0].Time.After(*r.Steps[0].Ended) {
		t.Fatalf("notes = %+v, want the one note within the step", notes)
	}
	for _, f := range []string{gameday.FileHTML, gameday.FileMarkdown} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"the gateway looks fine", notes[0].Time.Format("15:04:05.000"), "aborted by the operator", "never"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s does not mention %q", f, want)
			}
		}
	}
}

func TestGameDayManualStepsNeedATerminalOrYes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	_, stderr, code := run(t, "gameday", "testdata/gameday-manual.yaml", "--out", out) // stdin is /dev/null
	if code != 2 || !strings.Contains(stderr, "--yes") {
		t.Fatalf("exit %d, want 2 with a hint at --yes\n%s", code, stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an output folder was created (%v): nothing may start", err)
	}
}

func TestGameDayInvalidPlaybookExits2(t *testing.T) {
	dir := t.TempDir()
	pb := filepath.Join(dir, "pb.yaml")
	src := "apiVersion: chaosctl/v1\nkind: GameDay\nmetadata: {name: pb}\nsteps:\n  - {name: a, wiat: 1s}\n  - {name: b, experiment: {path: missing.yaml}}\n"
	if err := os.WriteFile(pb, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	_, stderr, code := run(t, "gameday", "--yes", pb, "--out", out)
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, stderr)
	}
	for _, want := range []string{pb + `:5:15: unknown field "wiat"`, `did you mean "wait"?`, pb + ":6:34: steps[1].experiment.path: cannot read", "nothing was started"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an output folder was created (%v): nothing may start", err)
	}
	_, stderr, code = run(t, "validate", pb)
	if code != 2 || !strings.Contains(stderr, "wiat") {
		t.Errorf("validate: exit %d, want 2\n%s", code, stderr)
	}
}

func TestValidateAcceptsPlaybooksAndRunPointsToGameDay(t *testing.T) {
	stdout, stderr, code := run(t, "validate", "../../examples/gameday", "testdata/gameday-short.yaml", "testdata/calm.yaml")
	if code != 0 || !strings.Contains(stdout, "2 GameDay playbooks") {
		t.Fatalf("validate: exit %d\n%s%s", code, stdout, stderr)
	}
	_, stderr, code = run(t, "run", "testdata/gameday-short.yaml")
	if code != 2 || !strings.Contains(stderr, "chaosctl gameday testdata/gameday-short.yaml") {
		t.Errorf("run on a playbook: exit %d, want 2 and a pointer to gameday\n%s", code, stderr)
	}
}

// startGameDay starts `chaosctl gameday --yes` on testdata/gameday-long.yaml
// and waits until its first step's fault is applied.
func startGameDay(t *testing.T) (cmd *exec.Cmd, out, state string, output *testkit.SyncBuffer) {
	t.Helper()
	out, state = filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "state")
	cmd, output = startChaosctl(t, "the fault applied", 60*time.Second,
		func() bool { return countApplied(filepath.Join(out, "steps", "01-pause-n1", "journal.ndjson")) >= 1 },
		"gameday", "--yes", "testdata/gameday-long.yaml", "--out", out, "--state-dir", state)
	return cmd, out, state, output
}

// The first SIGINT stops the GameDay mid-fault: the fault is reverted, the
// target stops, the report is written and chaosctl exits 3.
func TestGameDaySIGINTMidFaultWritesTheReportAndExits3(t *testing.T) {
	cmd, out, _, output := startGameDay(t)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	noMembersLeft(t, out)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit %v, want 3\n%s", err, tail(output.String(), 20))
	}
	r, err := gameday.ReadJSON(out)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Interrupted || r.Verdict != report.Inconclusive || r.Steps[0].Verdict != gameday.Interrupted || r.Steps[1].Verdict != gameday.NotRun {
		t.Errorf("gameday = %s (%s), steps %s, %s", r.Verdict, r.Reason, r.Steps[0].Verdict, r.Steps[1].Verdict)
	}
	e := r.Steps[0].Experiment
	if e == nil || len(e.Faults) != 1 || e.Faults[0].Applied == nil || e.Faults[0].Reverted == nil {
		t.Fatalf("the interrupted step's fault was not recorded as reverted: %+v", e)
	}
	if _, err := os.Stat(filepath.Join(out, gameday.FileHTML)); err != nil {
		t.Errorf("no report after SIGINT: %v", err)
	}
}

// After a SIGKILL, `chaosctl recover` finds the shared target's members in
// the GameDay's ledger.
func TestSIGKILLedGameDayIsRecovered(t *testing.T) {
	cmd, out, state, _ := startGameDay(t)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = cmd.Process.Wait()
	recoverState(t, state)
	noMembersLeft(t, out)
}

// openPTY opens a pseudo-terminal: what is written to master is read from
// slave as typed at a terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { _ = master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pseudo-terminal number: %v", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { _ = slave.Close() })
	return master, slave
}

func drain(f *os.File) {
	buf := make([]byte, 4096)
	for {
		if _, err := f.Read(buf); err != nil {
			return
		}
	}
}
