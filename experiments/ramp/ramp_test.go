package ramp

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/experiments/runner"
)

const file = `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: margin}
seed: 21
workload: {rate: 10, duration: 5s}
faults:
  - {name: slow-n1, at: 0s, latency: {nodes: [n1], delay: 100ms}}
slos:
  - {name: fast-reads, sli: latency, threshold: 100ms, objective: 90%}
  - {name: availability, sli: availability, objective: 99%}
ramp: {fault: slow-n1, param: latency.delay, from: 20ms, to: 400ms, steps: 4}
`

// fakeTarget judges a run by the delay its experiment carries: the fast
// reads SLO consumes delay/breakAt of its budget, and fails from 1. It
// writes result.json where the runner would, records every run's delay,
// seed and source, and calls during (when set) while "running".
type fakeTarget struct {
	breakAt  time.Duration
	inconcl  map[time.Duration]int // delays to judge inconclusive this many times
	delays   []time.Duration
	seeds    []int64
	sources  []string
	during   func(run int)
	interrup bool
}

func (f *fakeTarget) run(ctx context.Context, e *experiments.Experiment, opts runner.RunOptions) (*runner.Outcome, error) {
	d := e.Faults[0].Latency.Delay
	f.delays, f.seeds, f.sources = append(f.delays, d), append(f.seeds, *opts.Seed), append(f.sources, string(opts.Source))
	if f.during != nil {
		f.during(len(f.delays))
	}
	consumed := float64(d) / float64(f.breakAt)
	v := report.Pass
	if consumed >= 1 {
		v = report.Fail
	}
	if f.inconcl[d] > 0 {
		f.inconcl[d]--
		v = report.Inconclusive
	}
	res := &report.Result{Experiment: e.Metadata.Name, Header: report.Header{Verdict: v, Reason: fmt.Sprintf("delay %s says %s", d, v), Seed: *opts.Seed, Runtime: "process"},
		SLOs: []report.SLOResult{{Name: "fast-reads", Verdict: v, Consumed: consumed}, {Name: "availability", Verdict: report.Pass, Consumed: 0.01}}}
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

func load(t *testing.T, src string) *experiments.Experiment {
	t.Helper()
	e, err := experiments.Decode("margin.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// A ramp over a target whose breaking point is known finds it within one
// step, every step with the same seed, and every output agrees.
func TestRampFindsTheKnownBreakingPoint(t *testing.T) {
	src := strings.Replace(file, "steps: 4}", "steps: 4, require: 150ms}", 1)
	e := load(t, src)
	target := &fakeTarget{breakAt: 213 * time.Millisecond}
	dir := filepath.Join(t.TempDir(), "ramp")
	var seen []string
	out, err := Ramp(context.Background(), e, Options{File: "margin.yaml", Source: []byte(src), Run: target.run,
		Settings: runner.Settings{OutDir: dir}, OnStep: func(s report.RampStep) { seen = append(seen, s.Value) }})
	if err != nil {
		t.Fatal(err)
	}
	// 20 holds, 400 breaks, 210 holds, 305, 257, 233 break: 380/16 = 24 wide.
	want := []string{"20ms", "400ms", "210ms", "305ms", "257ms", "233ms"}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("steps %v, want %v", seen, want)
	}
	for _, s := range target.seeds {
		if s != 21 {
			t.Errorf("a step ran with seed %d, want the file's 21 for every step", s)
		}
	}
	for i, src := range target.sources {
		if strings.Contains(src, "ramp:") || !strings.Contains(src, "delay: "+want[i]) || !strings.HasPrefix(src, fmt.Sprintf("# Step %d of the ramp of margin.yaml", i+1)) {
			t.Errorf("step %d's source:\n%s", i+1, src)
		}
	}
	r := out.Result
	m := r.Margin
	if r.Verdict != report.Pass || *m.Holds != "210ms" || *m.Breaks != "233ms" || fmt.Sprint(m.BrokenBy) != "[fast-reads]" || m.Meets == nil || !*m.Meets ||
		m.Status != StatusBracketed || m.Text != "holds to 210ms, breaks at 233ms: fast-reads" || m.Subject != "latency.delay of slow-n1 (n1)" {
		t.Fatalf("margin %+v: %s", m, r.Reason)
	}
	if !strings.Contains(r.Reason, "meets the required 150ms") || r.Seed != 21 || r.Runtime != "process" {
		t.Errorf("header %+v", r.Header)
	}
	for i, s := range m.Steps {
		if s.Dir != StepDir(i+1, want[i]) || s.Seed != 21 || len(s.Budgets) != 2 {
			t.Errorf("step %d: %+v", i+1, s)
		}
		if _, err := report.ReadJSON(filepath.Join(dir, s.Dir)); err != nil {
			t.Errorf("step %d: %v", i+1, err)
		}
	}
	back, ok, err := report.ReadRampJSON(dir)
	if err != nil || !ok || *back.Margin.Holds != "210ms" || len(back.Margin.Steps) != 6 {
		t.Fatalf("result.json: %v %v %+v", ok, err, back)
	}
	md, _ := os.ReadFile(filepath.Join(dir, report.FileMarkdown))
	for _, want := range []string{"PASS", "holds to 210ms, breaks at 233ms: fast-reads", "require `150ms`", "[steps/03-210ms](steps/03-210ms/report.html)", "fast-reads 98.6%"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	page, _ := os.ReadFile(filepath.Join(dir, report.FileHTML))
	for _, want := range []string{"<svg", "budget consumed against latency.delay", `href="steps/06-233ms/report.html"`, "holds to 210ms"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	var doc struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Failures int    `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, report.FileJUnit))
	if err := xml.Unmarshal(b, &doc); err != nil || len(doc.Suites) != 7 || doc.Suites[0].Name != "margin ramp" || doc.Suites[0].Failures != 0 ||
		doc.Suites[2].Name != "margin step 2 latency.delay=400ms" || doc.Suites[2].Failures == 0 {
		t.Fatalf("junit.xml (%v): %+v\n%s", err, doc, b)
	}
	var term strings.Builder
	if err := report.RampTerminal(&term, r); err != nil || !strings.Contains(term.String(), "margin: latency.delay of slow-n1 (n1) holds to 210ms") {
		t.Errorf("terminal (%v):\n%s", err, term.String())
	}
	// Re-rendering from the folder gives the same files.
	if err := report.RenderRamp(dir); err != nil {
		t.Fatal(err)
	}
	for name, before := range map[string][]byte{report.FileJUnit: b, report.FileMarkdown: md, report.FileHTML: page} {
		if after, _ := os.ReadFile(filepath.Join(dir, name)); string(after) != string(before) {
			t.Errorf("RenderRamp wrote another %s", name)
		}
	}

	// Against a require the margin misses: fail.
	src = strings.Replace(file, "steps: 4}", "steps: 4, require: 300ms}", 1)
	out, err = Ramp(context.Background(), load(t, src), Options{File: "m.yaml", Source: []byte(src), Run: (&fakeTarget{breakAt: 213 * time.Millisecond}).run,
		Settings: runner.Settings{OutDir: t.TempDir()}})
	if err != nil || out.Result.Verdict != report.Fail || !strings.Contains(out.Result.Reason, "below the required 300ms") || *out.Result.Margin.Meets {
		t.Fatalf("require 300ms: %v %+v", err, out.Result)
	}
}

// partitionFile cuts store nodes of five off with mode isolate and ramps
// how many.
const partitionFile = `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: cut-more}
seed: 5
target: {demo: {nodes: 5}}
workload: {rate: 10, duration: 5s}
faults:
  - {name: cut, at: 0s, partition: {mode: isolate}}
slos:
  - {name: quorum-writes, sli: availability, objective: 99%}
ramp: {fault: cut, param: partition.size, from: 1, to: 4}
`

// A ramp of partition.size over a target that fails once a majority of
// the five nodes is cut off (three) finds it, each step cutting off the
// nodes the previous sizes did and more, and the margin names the nodes
// the size is drawn from in every report.
func TestRampFindsThePartitionSizeThatBreaks(t *testing.T) {
	e := load(t, partitionFile)
	var sizes []int
	var cuts [][]string
	run := func(_ context.Context, e *experiments.Experiment, opts runner.RunOptions) (*runner.Outcome, error) {
		p, err := e.Plan(*opts.Seed)
		if err != nil {
			return nil, err
		}
		cut := p.Faults[0].Groups[0]
		sizes, cuts = append(sizes, e.Faults[0].Partition.Size), append(cuts, cut)
		v := report.Pass
		if len(cut) >= 3 {
			v = report.Fail
		}
		res := &report.Result{Experiment: e.Metadata.Name, Header: report.Header{Verdict: v, Reason: "cut " + strings.Join(cut, " "), Seed: *opts.Seed, Runtime: "process"},
			SLOs: []report.SLOResult{{Name: "quorum-writes", Verdict: v, Consumed: float64(len(cut)) / 3}}}
		if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
			return nil, err
		}
		return &runner.Outcome{Result: res, Dir: opts.OutDir}, res.WriteJSON(opts.OutDir)
	}
	dir := filepath.Join(t.TempDir(), "ramp")
	out, err := Ramp(context.Background(), e, Options{File: "cut-more.yaml", Source: []byte(partitionFile), Run: run, Settings: runner.Settings{OutDir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	m := out.Result.Margin
	const subject = "partition.size of cut (from n1, n2, n3, n4, n5)"
	if m.Status != StatusBracketed || *m.Holds != "2" || *m.Breaks != "3" || m.Text != "holds to 2, breaks at 3: quorum-writes" || m.Subject != subject || m.Unit != "nodes" {
		t.Fatalf("margin %+v", m)
	}
	for i, size := range sizes {
		if len(cuts[i]) != size {
			t.Errorf("step %d: size %d cut %v", i+1, size, cuts[i])
		}
		for j := range sizes {
			if sizes[j] < size && !isSubset(cuts[j], cuts[i]) {
				t.Errorf("size %d cuts %v, which leaves out some of size %d's %v", size, cuts[i], sizes[j], cuts[j])
			}
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, report.FileMarkdown))
	junit, _ := os.ReadFile(filepath.Join(dir, report.FileJUnit))
	var term strings.Builder
	if err := report.RampTerminal(&term, out.Result); err != nil {
		t.Fatal(err)
	}
	// The margin's own testcase says it, not only the suite's verdict.
	var doc struct {
		Suites []struct {
			Cases []struct {
				Name      string `xml:"name,attr"`
				SystemOut string `xml:"system-out"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(junit, &doc); err != nil || len(doc.Suites) == 0 || len(doc.Suites[0].Cases) == 0 || doc.Suites[0].Cases[0].Name != "margin" {
		t.Fatalf("junit.xml (%v):\n%s", err, junit)
	}
	sentence := subject + " holds to 2, breaks at 3: quorum-writes"
	for name, text := range map[string]string{"summary.md": strings.ReplaceAll(string(md), "`", ""), "junit.xml's margin case": doc.Suites[0].Cases[0].SystemOut,
		"terminal": term.String(), "reason": out.Result.Reason} {
		if !strings.Contains(text, sentence) {
			t.Errorf("%s lacks %q:\n%s", name, sentence, text)
		}
	}
}

func isSubset(small, big []string) bool {
	for _, n := range small {
		if !slices.Contains(big, n) {
			return false
		}
	}
	return true
}

// An inconclusive step is rerun once, in a step of its own; one that stays
// inconclusive leaves the ramp inconclusive, with what held named.
func TestRampInconclusiveSteps(t *testing.T) {
	e := load(t, file)
	target := &fakeTarget{breakAt: 213 * time.Millisecond, inconcl: map[time.Duration]int{210 * time.Millisecond: 1}}
	out, err := Ramp(context.Background(), e, Options{File: "m.yaml", Source: []byte(file), Run: target.run, Settings: runner.Settings{OutDir: t.TempDir()}})
	if err != nil || out.Result.Verdict != report.Pass {
		t.Fatalf("%v %+v", err, out.Result)
	}
	if s := out.Result.Margin.Steps; s[2].Value != "210ms" || s[2].Verdict != report.Inconclusive || s[3].Value != "210ms" || s[3].Try != 2 || s[3].Verdict != report.Pass {
		t.Errorf("steps %+v", s)
	}
	target = &fakeTarget{breakAt: 213 * time.Millisecond, inconcl: map[time.Duration]int{210 * time.Millisecond: 2}}
	out, err = Ramp(context.Background(), e, Options{File: "m.yaml", Source: []byte(file), Run: target.run, Settings: runner.Settings{OutDir: t.TempDir()}})
	m := out.Result.Margin
	if err != nil || out.Result.Verdict != report.Inconclusive || m.Status != StatusInconclusive || *m.Unknown != "210ms" || *m.Holds != "186ms" {
		t.Fatalf("%v %+v", err, m)
	}
	t.Log(m.Text)
}

// Every step of a ramp with repeat: 2 is a repeat of its own, judged by
// its pass rate, with both runs' seeds the same at every step.
func TestRampStepsRepeat(t *testing.T) {
	src := strings.Replace(file, "steps: 4}", "steps: 1, repeat: 2}", 1)
	target := &fakeTarget{breakAt: 213 * time.Millisecond}
	dir := t.TempDir()
	out, err := Ramp(context.Background(), load(t, src), Options{File: "m.yaml", Source: []byte(src), Run: target.run, Settings: runner.Settings{OutDir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(target.seeds) != "[21 22 21 22 21 22]" {
		t.Errorf("seeds %v", target.seeds)
	}
	s := out.Result.Margin.Steps
	if len(s) != 3 || s[0].Repeat == nil || s[0].Repeat.Runs != 2 || s[1].BrokenBy[0] != "fast-reads" || out.Result.Margin.RunsPerStep != 2 {
		t.Fatalf("steps %+v", s)
	}
	if agg, ok, err := report.ReadRepeatJSON(filepath.Join(dir, s[1].Dir)); err != nil || !ok || agg.Verdict != report.Fail {
		t.Errorf("step 2's folder is no repeat: %v %v", ok, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, report.FileMarkdown)); !strings.Contains(string(b), "steps/02-400ms/summary.md") {
		t.Errorf("summary.md does not link the repeat's summary:\n%s", b)
	}
}

// A cancelled ramp ends the current step and starts no other; the result
// is written and says interrupted.
func TestAnInterruptedRampStartsNoFurtherStep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	target := &fakeTarget{breakAt: 213 * time.Millisecond, during: func(run int) {
		if run == 3 {
			cancel()
		}
	}}
	dir := t.TempDir()
	out, err := Ramp(ctx, load(t, file), Options{File: "m.yaml", Source: []byte(file), Run: target.run, Settings: runner.Settings{OutDir: dir}})
	if !errors.Is(err, runner.ErrInterrupted) || len(target.delays) != 3 {
		t.Fatalf("err %v after %d steps", err, len(target.delays))
	}
	r := out.Result
	if !r.Interrupted || len(r.Margin.Steps) != 3 || !r.Margin.Steps[2].Interrupted || r.Verdict != report.Inconclusive {
		t.Fatalf("result %+v", r)
	}
	if back, ok, err := report.ReadRampJSON(dir); err != nil || !ok || !back.Interrupted {
		t.Fatalf("result.json: %v %v", ok, err)
	}
}

func TestRampBadInputStartsNothing(t *testing.T) {
	e := load(t, file)
	dir := filepath.Join(t.TempDir(), "never")
	for _, o := range []Options{{Runs: -1}, {Runs: experiments.MaxRepeat + 1}} {
		o.File, o.Source, o.Run, o.OutDir = "m.yaml", []byte(file), (&fakeTarget{}).run, dir
		if _, err := Ramp(context.Background(), e, o); !errors.Is(err, runner.ErrUsage) {
			t.Errorf("%+v: err %v, want ErrUsage", o.Runs, err)
		}
	}
	// A source the ramp cannot write into (its fault comes from an alias).
	if _, err := Ramp(context.Background(), e, Options{File: "m.yaml", Source: []byte("x: 1\n"), Run: (&fakeTarget{}).run,
		Settings: runner.Settings{OutDir: dir}}); !errors.Is(err, runner.ErrUsage) {
		t.Errorf("bad source: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("the folder was made")
	}
}

func TestDescribePrintsTheFirstProbes(t *testing.T) {
	e := load(t, strings.Replace(file, "steps: 4}", "steps: 4, require: 150ms}", 1))
	var b strings.Builder
	if err := Describe(&b, e, "m.yaml", []byte(file), 21, 1); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# ramp: latency.delay of slow-n1 (n1), from 20ms (the mild end) to 400ms (the harsh end)",
		"probes: 20ms; if it holds, 400ms; if that breaks, 210ms; then 305ms if it holds or 115ms if it breaks",
		"within 24 ms", "require: the margin must hold at least 150ms", "slow-n1"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Describe lacks %q:\n%s", want, b.String())
		}
	}
}
