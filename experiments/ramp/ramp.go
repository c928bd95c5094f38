package ramp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/explore"
	"github.com/chaosctl/chaosctl/experiments/repeat"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/experiments/runner"
)

// RunFunc runs one experiment: runner.Run, or a fake in tests.
type RunFunc = runner.RunFunc

// Options configure Ramp.
type Options struct {
	// File is the experiment file's path and Source its bytes; each step's
	// experiment is Source with the ramped value written in
	// (Experiment.RampStep).
	File   string
	Source []byte
	// Settings are the runner's. OutDir is the ramp's parent folder
	// (default chaosctl-out/<name>-ramp-<UTC time>); each step's folder is
	// StepDir inside it. Settings.Seed, when set, is every step's seed
	// (else the file's, else one random seed for them all).
	runner.Settings
	// Runs is how many runs judge each step (0: ramp.repeat); above 1 each
	// step is a repeat, judged by Required (0: repeat.DefaultRequired).
	Runs     int
	Required float64
	// Run runs one experiment (nil: runner.Run).
	Run RunFunc
	// OnStep, when set, is called after each step with its record.
	OnStep func(report.RampStep)
}

// Outcome is what Ramp produced: the result and the parent folder.
type Outcome struct {
	Result *report.RampResult
	Dir    string
}

// StepDir is the folder of step i (from 1) at value inside the parent
// folder: steps/03-95ms.
func StepDir(i int, value string) string {
	slug := strings.NewReplacer("/", "p", " ", "").Replace(value)
	return filepath.Join(report.FileRampSteps, fmt.Sprintf("%02d-%s", i, slug))
}

// rampRun is one ramp in progress.
type rampRun struct {
	e    *experiments.Experiment
	opts Options
	dir  string
	seed int64
	log  *logrus.Entry
	res  *report.RampResult
}

// Ramp searches e's ramp for the breaking point (Search), each step a real
// run (or, with Runs above 1, a repeat) of e with the ramped value written
// in, all with one seed, in a folder of its own inside one parent folder,
// which also gets result.json (report.RampResult: the margin and every
// step), summary.md, junit.xml and report.html. Both ends of the ramp are
// written and planned before anything starts (a file that cannot take
// them is bad input, runner.ErrUsage). A cancelled context ends the
// current step (its faults reverted) and starts no further one; the result
// is written all the same and says interrupted. The returned error is nil
// whatever the verdict; otherwise it wraps the runner's
// (runner.ErrInterrupted, ErrEnvironment, ErrCrashed, ErrUsage).
func Ramp(ctx context.Context, e *experiments.Experiment, opts Options) (*Outcome, error) {
	r := e.Ramp
	if r == nil {
		return nil, fmt.Errorf("%s has no ramp section: %w", opts.File, runner.ErrUsage)
	}
	if opts.Runs == 0 {
		opts.Runs = r.Repeat
	}
	if opts.Runs < 1 || opts.Runs > experiments.MaxRepeat {
		return nil, fmt.Errorf("ramp: %d runs per step: allowed are 1 to %d: %w", opts.Runs, experiments.MaxRepeat, runner.ErrUsage)
	}
	if opts.Required == 0 {
		opts.Required = repeat.DefaultRequired
	}
	if opts.Run == nil {
		opts.Run = runner.Run
	}
	seed := opts.SeedFor(e.Seed)
	from, to := r.Bounds()
	for _, g := range []int64{from, to} {
		_, step, err := e.RampStep(opts.File, opts.Source, g, opts.Runs, "")
		if err == nil {
			_, err = step.Plan(seed)
		}
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %w: %w", r.Param, r.Show(g), err, runner.ErrUsage)
		}
	}
	started := time.Now().UTC()
	dir, err := opts.MakeOutDir(e.Metadata.Name+"-ramp", started)
	if err != nil {
		return nil, err
	}
	x := &rampRun{e: e, opts: opts, dir: dir, seed: seed,
		log: opts.Logger().WithFields(logrus.Fields{"component": "ramp", "dir": dir, "param": r.Param})}
	x.res = &report.RampResult{Experiment: e.Metadata.Name, Header: report.Header{Description: e.Metadata.Description, File: opts.File,
		Seed: seed, Started: started, ChaosctlVersion: opts.Version, Runtime: opts.RuntimeFor(string(e.Target.Runtime))},
		Margin: report.Margin{Param: r.Param, Fault: r.Fault, Subject: e.RampSubject(seed), From: r.Show(from), To: r.Show(to),
			Unit: r.GridUnit(), Bisect: r.Steps, RunsPerStep: opts.Runs, BrokenBy: []string{}, Steps: []report.RampStep{}}}
	if g, ok := r.Required(); ok {
		s := r.Show(g)
		x.res.Margin.Require = &s
	}
	x.log.WithFields(logrus.Fields{"from": r.Show(from), "to": r.Show(to), "steps": r.Steps, "seed": seed}).Info("ramp starting")

	b, runErr := Search(ctx, Space{From: from, To: to, Steps: r.Steps}, x.probe)
	x.judge(b, runErr)
	x.res.Ended = time.Now().UTC()
	res := redacted(x.res, e.Redactor())
	if err := res.WriteJSON(dir); err != nil {
		return &Outcome{Result: res, Dir: dir}, errors.Join(runErr, fmt.Errorf("%w: %w", runner.ErrEnvironment, err))
	}
	if err := report.WriteRampReports(dir, res); err != nil {
		x.log.WithError(err).Error("write the ramp's reports")
		if runErr == nil {
			runErr = fmt.Errorf("%w: %w", runner.ErrEnvironment, err)
		}
	} else if md, err := os.ReadFile(filepath.Join(dir, report.FileMarkdown)); err == nil {
		if path, err := report.AppendGitHubStepSummary(md); err != nil {
			x.log.WithError(err).Warn("append to the GitHub step summary")
		} else if path != "" {
			x.log.WithField("file", path).Info("summary appended to the GitHub step summary")
		}
	}
	x.log.WithFields(logrus.Fields{"verdict": res.Verdict}).Info(res.Reason)
	return &Outcome{Result: res, Dir: dir}, runErr
}

// probe runs the step at grid value g: Search's Probe.
func (x *rampRun) probe(ctx context.Context, g int64) (string, error) {
	m := &x.res.Margin
	n := len(m.Steps) + 1
	if ctx.Err() != nil {
		return "", fmt.Errorf("interrupted before step %d: %w", n, runner.ErrInterrupted)
	}
	r := x.e.Ramp
	value := r.Show(g)
	try := 1
	if k := len(m.Steps); k > 0 && m.Steps[k-1].Value == value {
		try = m.Steps[k-1].Try + 1
	}
	step, err := x.runStep(ctx, n, g, try)
	m.Steps = append(m.Steps, step)
	if step.Error != "" {
		x.res.Errors = append(x.res.Errors, fmt.Sprintf("step %d (%s): %s", n, value, step.Error))
	}
	x.log.WithFields(logrus.Fields{"step": n, "value": value, "verdict": step.Verdict}).Info(step.Reason)
	if x.opts.OnStep != nil {
		x.opts.OnStep(step)
	}
	return step.Verdict, err
}

// runStep makes step n at grid value g in its folder. The error is the
// runner's when the step could not be judged, wrapped in ErrEnvironment
// when it is none of the runner's own.
func (x *rampRun) runStep(ctx context.Context, n int, g int64, try int) (report.RampStep, error) {
	r, file := x.e.Ramp, x.opts.File
	value := r.Show(g)
	rel := StepDir(n, value)
	st := report.RampStep{Step: n, Value: value, X: r.Number(g), Dir: rel, Seed: x.seed, Try: try, Budgets: []report.StepBudget{},
		Verdict: report.Inconclusive, Reason: "the step ended without a result"}
	header := fmt.Sprintf("Step %d of the ramp of %s: %s = %s, seed %d.", n, file, r.Param, value, x.seed)
	src, exp, err := x.e.RampStep(file, x.opts.Source, g, x.opts.Runs, header)
	if err != nil {
		st.Error = err.Error()
		return st, fmt.Errorf("%w: %w", err, runner.ErrUsage)
	}
	settings := x.opts.Settings
	settings.OutDir = filepath.Join(x.dir, rel)
	seed := x.seed
	settings.Seed = &seed
	settings.Log = x.opts.Logger().WithFields(logrus.Fields{"step": n, "value": value})
	began := time.Now()
	if x.opts.Runs == 1 {
		var out *runner.Outcome
		out, err = x.opts.Run(ctx, exp, runner.RunOptions{File: file, Source: src, Settings: settings, NoStepSummary: true})
		if out != nil && out.Result != nil {
			res := out.Result
			st.Verdict, st.Reason, st.Interrupted = res.Verdict, res.Reason, res.Interrupted
			st.BrokenBy = explore.Failed(res)
			for _, o := range res.SLOs {
				st.Budgets = append(st.Budgets, report.StepBudget{Name: o.Name, Verdict: o.Verdict, Consumed: o.Consumed})
			}
			x.res.Runtime = res.Runtime
		}
	} else {
		var out *repeat.Outcome
		out, err = repeat.Repeat(ctx, exp, repeat.Options{File: file, Source: src, Settings: settings, Runs: x.opts.Runs,
			Required: x.opts.Required, Run: x.opts.Run, NoStepSummary: true})
		if out != nil && out.Result != nil {
			agg := out.Result
			st.Verdict, st.Reason, st.Interrupted = agg.Verdict, agg.Reason, agg.Interrupted
			summary := agg.Repeat
			st.Repeat = &summary
			for _, o := range agg.SLOs {
				st.Budgets = append(st.Budgets, report.StepBudget{Name: o.Name, Verdict: countsVerdict(o.VerdictCounts), Consumed: o.Consumed.Median})
			}
			st.BrokenBy = failedIn(agg)
			x.res.Runtime = agg.Runtime
		}
	}
	st.Took = time.Since(began).Round(time.Millisecond).String()
	if err == nil {
		return st, nil
	}
	st.Error = err.Error()
	if errors.Is(err, runner.ErrInterrupted) {
		st.Interrupted = true
	}
	for _, known := range []error{runner.ErrInterrupted, runner.ErrCrashed, runner.ErrEnvironment, runner.ErrUsage} {
		if errors.Is(err, known) {
			return st, fmt.Errorf("step %d (%s): %w", n, value, err)
		}
	}
	return st, fmt.Errorf("step %d (%s): %w: %w", n, value, runner.ErrEnvironment, err)
}

// countsVerdict is one verdict for an SLO over a repeat's runs: fail when
// a run failed it, inconclusive when one could not judge it, else pass.
func countsVerdict(c report.VerdictCounts) string {
	switch {
	case c.Fail > 0:
		return report.Fail
	case c.Inconclusive > 0:
		return report.Inconclusive
	}
	return report.Pass
}

// failedIn names what failed in any run of a repeat, in explore.Failed's
// order: checks, SLOs, probes.
func failedIn(agg *report.RepeatResult) []string {
	var names []string
	for _, part := range [][]report.VerdictCounts{agg.Checks, sloCounts(agg.SLOs), agg.Probes} {
		for _, c := range part {
			if c.Fail > 0 {
				names = append(names, c.Name)
			}
		}
	}
	return names
}

func sloCounts(slos []report.RepeatSLO) []report.VerdictCounts {
	out := make([]report.VerdictCounts, len(slos))
	for i, s := range slos {
		out[i] = s.VerdictCounts
	}
	return out
}

// judge writes the bracket into the margin and decides the verdict: with
// ramp.require, pass when a value at least as harsh held, fail when a value
// no harsher broke, else inconclusive; without, pass when the search
// completed (whatever the margin), inconclusive when it did not.
func (x *rampRun) judge(b Bracket, runErr error) {
	r, m := x.e.Ramp, &x.res.Margin
	show := func(g *int64) *string {
		if g == nil {
			return nil
		}
		s := r.Show(*g)
		return &s
	}
	m.Holds, m.Breaks, m.Unknown, m.Status = show(b.Holds), show(b.Breaks), show(b.Unknown), b.Status
	if m.Breaks != nil {
		for _, s := range m.Steps {
			if s.Value == *m.Breaks && s.Verdict == report.Fail {
				m.BrokenBy = append([]string{}, s.BrokenBy...)
			}
		}
	}
	broken := ""
	if len(m.BrokenBy) > 0 {
		broken = ": " + strings.Join(m.BrokenBy, ", ")
	}
	switch {
	case b.Status == StatusHoldsToTo:
		m.Text = fmt.Sprintf("holds to %s, the harsh end of the ramp: nothing broke", *m.Holds)
	case b.Status == StatusBreaksAtFrom:
		m.Text = fmt.Sprintf("breaks at %s, the mild end of the ramp%s", *m.Breaks, broken)
	case m.Holds == nil:
		m.Text = "no margin: the mild end " + m.From + " was inconclusive twice"
		if m.Unknown == nil {
			m.Text = "no margin: the search ended before the mild end " + m.From + " was judged"
		}
	default:
		m.Text = "holds to " + *m.Holds
		if m.Unknown != nil {
			m.Text += fmt.Sprintf("; %s was inconclusive twice", *m.Unknown)
		}
		if m.Breaks != nil {
			m.Text += fmt.Sprintf(", breaks at %s%s", *m.Breaks, broken)
		}
	}
	complete := runErr == nil && b.Status != StatusInconclusive
	var verdict, why string
	if req, ok := r.Required(); ok {
		switch {
		case b.Holds != nil && !r.Harsher(req, *b.Holds):
			verdict, why = report.Pass, "meets the required "+*m.Require
		case b.Breaks != nil && !r.Harsher(*b.Breaks, req):
			verdict, why = report.Fail, "below the required "+*m.Require
		default:
			verdict, why = report.Inconclusive, "cannot tell whether it meets the required "+*m.Require
		}
		meets := verdict == report.Pass
		if verdict != report.Inconclusive {
			m.Meets = &meets
		}
	} else if complete {
		verdict, why = report.Pass, "the search completed (no require)"
	} else {
		verdict, why = report.Inconclusive, "the search did not complete"
	}
	if runErr != nil {
		x.res.Interrupted = errors.Is(runErr, runner.ErrInterrupted)
		if !x.res.Interrupted {
			x.res.Errors = append(x.res.Errors, runErr.Error())
		}
	}
	x.res.Verdict, x.res.Reason = verdict, fmt.Sprintf("%s %s; %s", m.Subject, m.Text, why)
}

// redacted is res with every sensitive value of the experiment replaced;
// res itself when there is none or it cannot be encoded.
func redacted(res *report.RampResult, red *experiments.Redactor) *report.RampResult {
	if red.Empty() {
		return res
	}
	b, err := json.Marshal(res)
	if err != nil {
		return res
	}
	var out report.RampResult
	if err := json.Unmarshal(red.Bytes(b), &out); err != nil {
		return res
	}
	return &out
}

// Describe writes what --dry-run shows of a ramp: its range, seed and
// runs, the first probes of the bisection, the resolution its steps reach
// and require, as comment lines, then the plan of its first step (file
// and src are the experiment's path and bytes). Nothing is run.
func Describe(w io.Writer, e *experiments.Experiment, file string, src []byte, seed int64, runs int) error {
	r := e.Ramp
	if r == nil {
		return fmt.Errorf("%s has no ramp section: %w", file, runner.ErrUsage)
	}
	from, to := r.Bounds()
	_, step, err := e.RampStep(file, src, from, runs, "")
	if err != nil {
		return fmt.Errorf("%w: %w", err, runner.ErrUsage)
	}
	plan, err := step.Plan(seed)
	if err != nil {
		return fmt.Errorf("%s=%s: %w: %w", r.Param, r.Show(from), err, runner.ErrUsage)
	}
	mid := func(lo, hi int64) int64 { return lo + (hi-lo)/2 }
	m := mid(from, to)
	res := max(to-from, from-to)
	for range r.Steps {
		res -= res / 2 // the wider half, rounded up
	}
	runsText := "1 run per step"
	if runs > 1 {
		runsText = fmt.Sprintf("%d runs per step (a repeat, judged by its pass rate)", runs)
	}
	p := func(format string, a ...any) { fmt.Fprintf(w, "# "+format+"\n", a...) }
	p("ramp: %s, from %s (the mild end) to %s (the harsh end)", e.RampSubject(seed), r.Show(from), r.Show(to))
	p("every step runs with seed %d, %s; at most %d steps, %d if each is rerun once as inconclusive", seed, runsText, r.Steps+2, 2*(r.Steps+2))
	p("probes: %s; if it holds, %s; if that breaks, %s; then %s if it holds or %s if it breaks, and so on",
		r.Show(from), r.Show(to), r.Show(m), r.Show(mid(m, to)), r.Show(mid(from, m)))
	p("after %d bisection steps the margin is known to within %d %s", r.Steps, max(res, 1), r.GridUnit())
	if g, ok := r.Required(); ok {
		p("require: the margin must hold at least %s (exit 0), else exit 1", r.Show(g))
	}
	p("the plan of the first step, %s = %s:", r.Param, r.Show(from))
	return plan.Format(w)
}
