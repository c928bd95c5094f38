package repeat

import (
	"context"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/experiments/runner"
)

const file = `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: flaky}
seed: 40
repeat: 3
workload: {rate: 10, duration: 5s}
slos: [{name: avail, sli: availability, objective: 99%}]
checks: [linearizable]
`

// fakeRun judges run seed by verdicts[seed], writes its result.json where
// the runner would, and calls during (when set) while "running".
type fakeRun struct {
	verdicts map[int64]string
	seeds    []int64
	during   func(seed int64)
}

func (f *fakeRun) run(ctx context.Context, e *experiments.Experiment, opts runner.RunOptions) (*runner.Outcome, error) {
	seed := *opts.Seed
	f.seeds = append(f.seeds, seed)
	if f.during != nil {
		f.during(seed)
	}
	v := f.verdicts[seed]
	consumed := map[string]float64{report.Pass: 0.2, report.Fail: 1.5, report.Inconclusive: 0}[v]
	res := &report.Result{Experiment: e.Metadata.Name, Header: report.Header{Verdict: v, Reason: "seed says " + v, Seed: seed, Runtime: "process"},
		SLOs:   []report.SLOResult{{Name: "avail", Verdict: v, Consumed: consumed + float64(seed-40)/100}},
		Checks: []report.CheckResult{{Name: "linearizable", Verdict: report.Pass}},
		Probes: []report.ProbeResult{{Name: "p99", Phase: "before", Verdict: report.Pass}}}
	var err error
	if ctx.Err() != nil {
		res.Interrupted, res.Verdict, res.Reason, err = true, report.Inconclusive, "interrupted", runner.ErrInterrupted
	}
	if werr := os.MkdirAll(opts.OutDir, 0o755); werr != nil {
		return nil, werr
	}
	if werr := res.WriteJSON(opts.OutDir); werr != nil {
		return nil, werr
	}
	return &runner.Outcome{Result: res, Dir: opts.OutDir}, err
}

func load(t *testing.T) *experiments.Experiment {
	t.Helper()
	e, err := experiments.Decode("flaky.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// A repeat whose runs differ is flaky; every output agrees on the figures.
func TestARepeatWhoseRunsDifferIsFlaky(t *testing.T) {
	e := load(t)
	fake := &fakeRun{verdicts: map[int64]string{40: report.Pass, 41: report.Fail, 42: report.Pass}}
	dir := filepath.Join(t.TempDir(), "rep")
	var seen []int64
	out, err := Repeat(context.Background(), e, Options{File: "flaky.yaml", Runs: e.Repeat, Required: 0.6, Run: fake.run,
		Settings: runner.Settings{OutDir: dir}, OnRun: func(r Run) { seen = append(seen, r.Seed) }})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{40, 41, 42}; !reflect.DeepEqual(fake.seeds, want) || !reflect.DeepEqual(seen, want) {
		t.Fatalf("seeds run %v, reported %v; want %v", fake.seeds, seen, want)
	}
	r := out.Result
	s := r.Repeat
	if r.Verdict != report.Pass || !s.Flaky || s.Runs != 3 || s.Passed != 2 || s.Failed != 1 || s.Planned != 3 ||
		!strings.Contains(s.Rule, "pass rate 2/3 = 67 % (95 % CI 21–94 %) meets the required 60 %") || r.Reason != s.Rule {
		t.Fatalf("aggregate %+v: %s", s, r.Reason)
	}
	if len(r.SLOs) != 1 || r.SLOs[0].Pass != 2 || r.SLOs[0].Fail != 1 || r.SLOs[0].Consumed != (report.Spread{Median: 0.22, Min: 0.2, Max: 1.51}) {
		t.Errorf("SLOs %+v", r.SLOs)
	}
	if len(r.Checks) != 1 || r.Checks[0] != (report.VerdictCounts{Name: "linearizable", Pass: 3}) ||
		len(r.Probes) != 1 || r.Probes[0].Name != "p99/before" {
		t.Errorf("checks %+v, probes %+v", r.Checks, r.Probes)
	}
	for i, run := range r.Runs {
		if run.Dir != RunDir(i+1, int64(40+i)) {
			t.Errorf("run %d folder %q", i+1, run.Dir)
		}
		if _, err := report.ReadJSON(filepath.Join(dir, run.Dir)); err != nil {
			t.Errorf("run %d: %v", i+1, err)
		}
	}
	back, ok, err := report.ReadRepeatJSON(dir)
	if err != nil || !ok || !reflect.DeepEqual(back.Repeat, s) {
		t.Fatalf("result.json: %v %v %+v", ok, err, back)
	}
	md, _ := os.ReadFile(filepath.Join(dir, report.FileMarkdown))
	for _, want := range []string{"PASS", "2/3 = 67 %", "21–94 %", "Flaky:** yes", "runs/002-seed-41", "| avail | 2 | 1 | 0 |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	var term strings.Builder
	if err := report.RepeatTerminal(&term, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"repeat flaky  3 of 3 runs  seeds 40–42  flaky: yes", "verdict: pass — " + s.Rule, "avail", "22.0% (20.0%–151.0%)", "linearizable"} {
		if !strings.Contains(term.String(), want) {
			t.Errorf("the terminal table lacks %q:\n%s", want, term.String())
		}
	}
	var doc struct {
		Tests  int `xml:"tests,attr"`
		Suites []struct {
			Name     string `xml:"name,attr"`
			Failures int    `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, report.FileJUnit))
	if err := xml.Unmarshal(b, &doc); err != nil || len(doc.Suites) != 4 || doc.Suites[0].Name != "flaky repeat" ||
		doc.Suites[0].Failures != 0 || doc.Suites[2].Name != "flaky run 2 seed 41" || doc.Suites[2].Failures != 1 {
		t.Fatalf("junit.xml (%v): %+v\n%s", err, doc, b)
	}
	// Re-rendering from the folder gives the same files.
	if err := report.RenderRepeat(dir); err != nil {
		t.Fatal(err)
	}
	if b2, _ := os.ReadFile(filepath.Join(dir, report.FileJUnit)); string(b2) != string(b) {
		t.Errorf("RenderRepeat wrote another junit.xml")
	}

	// The same runs against every run passing: fail, and the rule says so.
	out, err = Repeat(context.Background(), e, Options{Runs: 3, Run: (&fakeRun{verdicts: fake.verdicts}).run, Settings: runner.Settings{OutDir: t.TempDir()}})
	if err != nil || out.Result.Verdict != report.Fail || !strings.Contains(out.Result.Reason, "below the required 100 %") {
		t.Fatalf("required 100 %%: %v %+v", err, out.Result)
	}
}

// A cancelled repeat ends the current run and starts no other; the
// aggregate is written and says interrupted.
func TestAnInterruptedRepeatStartsNoFurtherRun(t *testing.T) {
	e := load(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fake := &fakeRun{verdicts: map[int64]string{7: report.Pass, 8: report.Pass, 9: report.Pass}, during: func(seed int64) {
		if seed == 8 {
			cancel() // Ctrl-C during the second run
		}
	}}
	dir := t.TempDir()
	seed := int64(7)
	out, err := Repeat(ctx, e, Options{Runs: 3, Run: fake.run, Settings: runner.Settings{OutDir: dir, Seed: &seed}})
	if !errors.Is(err, runner.ErrInterrupted) {
		t.Fatalf("err %v, want ErrInterrupted", err)
	}
	if !reflect.DeepEqual(fake.seeds, []int64{7, 8}) {
		t.Fatalf("seeds run %v, want 7 and 8 only", fake.seeds)
	}
	r := out.Result
	if !r.Interrupted || len(r.Runs) != 2 || !r.Runs[1].Interrupted || r.Repeat.Runs != 1 || r.Verdict != report.Inconclusive {
		t.Fatalf("aggregate %+v", r)
	}
	back, ok, err := report.ReadRepeatJSON(dir)
	if err != nil || !ok || !back.Interrupted {
		t.Fatalf("result.json: %v %v %+v", ok, err, back)
	}
}

func TestBadOptionsAreUsageErrors(t *testing.T) {
	e := load(t)
	for _, o := range []Options{{Runs: 0}, {Runs: experiments.MaxRepeat + 1}, {Runs: 2, Required: 1.5}, {Runs: 2, Required: -1}} {
		o.Run = (&fakeRun{}).run
		o.OutDir = filepath.Join(t.TempDir(), "never")
		if _, err := Repeat(context.Background(), e, o); !errors.Is(err, runner.ErrUsage) {
			t.Errorf("%+v: err %v, want ErrUsage", o, err)
		}
		if _, err := os.Stat(o.OutDir); err == nil {
			t.Errorf("%+v: the folder was made", o)
		}
	}
}

// The aggregate shows no secret the experiment holds.
func TestTheAggregateIsRedacted(t *testing.T) {
	const secret = "hunter2-repeat-secret"
	t.Setenv("REPEAT_SECRET", secret)
	src := strings.Replace(file, "metadata: {name: flaky}", "metadata: {name: flaky, description: \"token ${secret:REPEAT_SECRET}\"}", 1)
	e, err := experiments.Decode("flaky.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, err := Repeat(context.Background(), e, Options{Runs: 2, Run: (&fakeRun{verdicts: map[int64]string{40: report.Pass, 41: report.Pass}}).run,
		Settings: runner.Settings{OutDir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Result.Description, "[REDACTED]") {
		t.Errorf("description %q", out.Result.Description)
	}
	for _, name := range []string{report.FileResult, report.FileMarkdown, report.FileJUnit} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || strings.Contains(string(b), secret) {
			t.Errorf("%s (%v) shows the secret", name, err)
		}
	}
}
