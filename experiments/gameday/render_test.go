package gameday

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/experiments/runner"
)

// sampleResult is a GameDay that exercises every part of the reports: a
// skipped and a noted manual step, an experiment with a fault and probes, a
// wait, a failed checkpoint and a step that did not run.
func sampleResult() *Result {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	at := func(s float64) *time.Time { t := t0.Add(time.Duration(s * float64(time.Second))); return &t }
	return &Result{
		GameDay: "sample",
		Header: report.Header{Description: "every part of the report", File: "pb.yaml", Verdict: report.Fail,
			Reason: "step 4 (healthy-again): probe low-errors (before): error_ratio = 0.2 exceeds max 0.01 over 3 s",
			Seed:   7, Started: t0, Ended: *at(40), ChaosctlVersion: "test", Runtime: "process"},
		Target: "demo cluster on process: 3 store nodes", Unattended: false,
		Steps: []StepResult{
			{Index: 1, Name: "brief", Kind: "manual", Verdict: report.Pass, Reason: "confirmed by the operator", Started: at(1), Ended: at(5),
				Instructions: "Open the dashboards.\nWatch | pipes <b>", Expect: "nothing moves",
				Notes: []Note{{Time: *at(3), Text: "dashboards | ready <ok>"}}},
			{Index: 2, Name: "crash-one", Kind: "experiment", Verdict: report.Pass, Reason: "held", Started: at(5), Ended: at(20), KeysReset: 100,
				Experiment: &ExperimentSummary{Name: "crash-one", File: "crash.yaml", TargetReplaced: true, Seed: 9, Verdict: report.Pass, Reason: "held",
					Dir: "steps/02-crash-one", Report: "steps/02-crash-one/report.html",
					Faults: []report.FaultResult{{Name: "kill-n2", Kind: "crash", Targets: []string{"n2"}, Applied: at(8), Reverted: at(10)}},
					Probes: []TimedProbe{
						{ProbeResult: report.ProbeResult{Name: "low-errors", Phase: "before", Verdict: report.Pass, Reason: "0 errors"}, At: at(8)},
						{ProbeResult: report.ProbeResult{Name: "low-errors", Phase: "after", Verdict: report.Pass, Reason: "0 errors"}, At: at(19)},
					}}},
			{Index: 3, Name: "settle", Kind: "wait", Verdict: report.Pass, Reason: "waited 5s", Wait: "5s", Started: at(20), Ended: at(25)},
			{Index: 4, Name: "healthy-again", Kind: "checkpoint", Verdict: report.Fail, Reason: "probe failed", Started: at(25), Ended: at(40),
				Experiment: &ExperimentSummary{Name: "healthy-again", Verdict: report.Fail, Reason: "probe failed", Dir: "steps/04-healthy-again", Report: "steps/04-healthy-again/report.html",
					Probes: []TimedProbe{{ProbeResult: report.ProbeResult{Name: "low-errors", Phase: "before", Verdict: report.Fail, Reason: "0.2 > 0.01"}, At: at(39)}}}},
			{Index: 5, Name: "debrief", Kind: "manual", Verdict: NotRun, Reason: "not run: step 4 failed"},
		},
	}
}

func TestTimelineIsInWallClockOrder(t *testing.T) {
	events := Timeline(sampleResult())
	var kinds []string
	for i, e := range events {
		if i > 0 && e.Time.Before(events[i-1].Time) {
			t.Errorf("event %d (%s) before event %d", i, e.Text, i-1)
		}
		kinds = append(kinds, e.Kind)
	}
	want := "step-started,note,step-ended,step-started,fault-applied,probe,fault-reverted,probe,step-ended,step-started,step-ended,step-started,probe,step-ended"
	if got := strings.Join(kinds, ","); got != want {
		t.Errorf("kinds:\n got %s\nwant %s", got, want)
	}
	for _, e := range events {
		if e.Name == "debrief" {
			t.Errorf("a step that did not run has an event: %+v", e)
		}
	}
}

func TestWriteHTML(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, sampleResult()); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		"<svg", "Verdict: FAIL", "fault kill-n2 (crash) on n2: applied 10:00:08.000, reverted 10:00:10.000",
		"note at 10:00:03.000: dashboards | ready &lt;ok&gt;", `href="steps/02-crash-one/report.html"`,
		"replaced by the shared target", "the workload's 100 keys were deleted", "Expected observations:", "nothing moves",
		"Closing table", "debrief", "NOT-RUN", "Watch | pipes &lt;b&gt;", "probe low-errors (before) at 10:00:39.000: FAIL",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("gameday.html lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "<b>", "<ok>", "http://", "https://"} {
		if strings.Contains(strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("gameday.html contains %q: it must be self-contained and escaped", bad)
		}
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, sampleResult()); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"## chaosctl GameDay `sample`: FAIL", "| 2 | crash-one | experiment | 10:00:05.000 | 15s | **PASS** | held | [report.html](steps/02-crash-one/report.html) |",
		"| 10:00:03.000 | +3s | 1. brief | note: dashboards \\| ready &lt;ok&gt; |", "> Watch | pipes &lt;b&gt;",
		"- fault `kill-n2` (crash) on n2: applied 10:00:08.000, reverted 10:00:10.000", "100 keys were deleted",
		"#### 5. debrief (manual): NOT-RUN",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("gameday.md lacks %q:\n%s", want, md)
		}
	}
}

func TestRenderFromTheOutputFolder(t *testing.T) {
	dir := t.TempDir()
	r := sampleResult()
	if err := r.WriteJSON(dir); err != nil {
		t.Fatal(err)
	}
	if err := Render(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{FileHTML, FileMarkdown} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || !bytes.Contains(b, []byte("kill-n2")) {
			t.Errorf("%s: %v", f, err)
		}
	}
	back, err := ReadJSON(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Steps) != 5 || back.Steps[1].Experiment.Probes[0].At == nil || back.Steps[0].Notes[0].Text != r.Steps[0].Notes[0].Text {
		t.Errorf("gameday.json did not round-trip: %+v", back.Steps)
	}
	if err := Render(t.TempDir()); err == nil {
		t.Error("Render of a folder without gameday.json succeeded")
	}
}

func TestTimelineWithoutSteps(t *testing.T) {
	r := &Result{GameDay: "empty", Header: report.Header{Verdict: report.Inconclusive}}
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No step ran") {
		t.Error("an empty GameDay must say that nothing ran")
	}
}

// Bad options are usage errors and start nothing.
func TestRunRejectsBadInputBeforeStarting(t *testing.T) {
	gd, err := experiments.DecodeGameDay("gd.yaml", []byte("apiVersion: chaosctl/v1\nkind: GameDay\nmetadata: {name: gd}\nsteps: [{name: w, wait: 1s}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if _, err := Run(context.Background(), gd, Options{Settings: runner.Settings{Runtime: "nomad", OutDir: out}}); !errors.Is(err, runner.ErrUsage) {
		t.Errorf("runtime nomad: got %v, want ErrUsage", err)
	}
	unresolved := *gd
	unresolved.Steps = []experiments.Step{{Name: "x", Checkpoint: &experiments.Checkpoint{}}}
	if _, err := Run(context.Background(), &unresolved, Options{Settings: runner.Settings{OutDir: out}}); !errors.Is(err, runner.ErrUsage) {
		t.Errorf("unresolved step: got %v, want ErrUsage", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the output folder was created: %v", err)
	}
}
