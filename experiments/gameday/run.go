package gameday

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/experiments/runner"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/runtimes"
)

// Options configure Run.
type Options struct {
	// Settings are passed on to every experiment step; Seed overrides the
	// playbook's seed and every experiment's own (--seed), Runtime is the
	// shared target's runtime when set (--target).
	runner.Settings
	// Operator answers manual steps; nil runs the GameDay unattended: manual
	// steps are recorded as skipped.
	Operator Operator
	// OnStep, when set, is called when a step starts (Ended nil) and when it
	// ends, with a copy of its result.
	OnStep func(StepResult)
	// OnTarget, when set, is called once the shared target is ready, before
	// the first step (the CLI prints where the team can watch it).
	OnTarget func(targets.Target)
}

// Operator is the person running the GameDay.
type Operator interface {
	// Manual shows a manual step (its instructions and what to observe) and
	// waits for the operator to confirm it or abort the GameDay, with any
	// notes taken on the way. It returns when ctx is cancelled.
	Manual(ctx context.Context, p Prompt) (Decision, error)
}

// Prompt is a manual step as shown to the operator.
type Prompt struct {
	Index, Total int // 1-based position among the steps
	Name         string
	Instructions string
	Expect       string
}

// Decision is the operator's answer to a manual step.
type Decision struct {
	Abort bool
	Notes []Note
}

// Outcome is what Run produced.
type Outcome struct {
	Result *Result
	Dir    string // the output folder
}

// Run runs a GameDay: it starts the shared target once, runs the steps in
// order against it, stops the target and writes the output folder
// (gameday.json, gameday.html, gameday.md, and steps/<nn>-<name>/ per
// experiment and checkpoint). Every fault is reverted on every path out.
// The error is nil whatever the verdict; it wraps runner.ErrUsage
// (nothing was started), runner.ErrInterrupted or
// runner.ErrEnvironment, and Outcome is set whenever the output folder
// was written.
func Run(ctx context.Context, gd *experiments.GameDay, opts Options) (out *Outcome, err error) {
	// The playbook's secrets never show in what the GameDay writes; each
	// step's run redacts its own folder.
	red := gd.Redactor()
	opts.Log = runner.RedactLog(opts.Logger(), red)
	defer func() { err = runner.RedactError(err, red) }()
	seed := opts.SeedFor(gd.Seed)
	runtime := opts.RuntimeFor(string(gd.Target.Runtime))
	if _, err := runtimes.Default().Demo(runtime); err != nil {
		return nil, fmt.Errorf("%w: %w", err, runner.ErrUsage)
	}
	if gd.Target.Demo == nil {
		return nil, fmt.Errorf("a GameDay's shared target is the demo cluster: %w", runner.ErrUsage)
	}
	if _, err := gd.Target.Demo.ClusterSpec(); err != nil {
		return nil, fmt.Errorf("%w: %w", err, runner.ErrUsage)
	}
	for _, s := range gd.Steps {
		if s.Kind() != experiments.StepManual && s.Kind() != experiments.StepWait && s.Resolved == nil {
			return nil, fmt.Errorf("step %s was not resolved: decode the playbook with experiments.DecodeGameDay: %w", s.Name, runner.ErrUsage)
		}
		if err := checkPrometheus(s, opts.PrometheusURL); err != nil {
			return nil, err
		}
	}

	started := time.Now().UTC()
	dir, err := opts.MakeOutDir(gd.Metadata.Name, started)
	if err != nil {
		return nil, err
	}
	g := &gameDay{gd: gd, opts: opts, dir: dir, seed: seed, runID: runner.RunID(gd.Metadata.Name, started)}
	g.log = opts.Logger().WithFields(logrus.Fields{"component": "gameday", "run": g.runID})
	g.res = &Result{
		GameDay: gd.Metadata.Name,
		Header:  report.Header{Description: red.String(gd.Metadata.Description), File: gd.File, Seed: seed, Started: started, ChaosctlVersion: opts.Version, Runtime: runtime},
		Target:  targetLine(gd.Target.Demo, runtime), Unattended: opts.Operator == nil,
	}
	for i := range gd.Steps {
		s := &gd.Steps[i]
		sr := StepResult{Index: i + 1, Name: s.Name, Kind: s.Kind(), Verdict: NotRun, Reason: "not run",
			Expect: red.String(s.Expect), ContinueOnFail: s.ContinueOnFail}
		if s.Manual != nil {
			sr.Instructions = red.String(s.Manual.Instructions)
		}
		if s.Wait != nil {
			sr.Wait = s.Wait.String()
		}
		g.res.Steps = append(g.res.Steps, sr)
	}
	g.save()

	runErr := g.run(ctx, runtime)

	g.res.Ended = time.Now().UTC()
	if runErr != nil && !errors.Is(runErr, runner.ErrInterrupted) {
		g.res.Errors = append(g.res.Errors, red.String(runErr.Error()))
	}
	g.judge(runErr)
	g.save()
	if err := WriteReports(dir, g.res); err != nil {
		g.log.WithError(err).Warn("render the GameDay reports")
	}
	return &Outcome{Result: g.res, Dir: dir}, runErr
}

// gameDay is one GameDay in progress.
type gameDay struct {
	gd    *experiments.GameDay
	opts  Options
	dir   string
	seed  int64
	runID string
	log   *logrus.Entry
	res   *Result
	// stoppedAt is the 1-based step that ended the GameDay early (0: none).
	stoppedAt int
	shared    *runner.SharedTarget
}

// save writes gameday.json, so a GameDay in progress can be followed.
func (g *gameDay) save() {
	if err := g.res.WriteJSON(g.dir); err != nil {
		g.log.WithError(err).Warn("write " + FileJSON)
	}
}

// run starts the shared target, runs the steps and stops the target.
func (g *gameDay) run(ctx context.Context, runtime string) (err error) {
	settings := g.opts.Settings
	settings.Log = g.log
	sh, err := runner.StartShared(ctx, runner.ShareOptions{
		Settings: settings, Run: g.runID, Dir: g.dir, Runtime: runtime, Seed: g.seed, Target: g.gd.Target,
	})
	if err != nil {
		if errors.Is(err, runner.ErrInterrupted) {
			g.stop(0, Interrupted, "interrupted while the shared target started")
			return runner.ErrInterrupted
		}
		g.stop(0, NotRun, "the shared target did not start")
		return err
	}
	g.shared = sh
	target := sh.Target()
	g.res.Members, g.res.ClientAddrs = target.Members(), target.ClientAddrs()
	g.save()
	if g.opts.OnTarget != nil {
		g.opts.OnTarget(target)
	}
	defer func() {
		rec := recover()
		cleanup, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if cerr := sh.Close(cleanup, err != nil || rec != nil); cerr != nil {
			g.log.WithError(cerr).Warn("stop the shared target")
		}
		if rec != nil {
			panic(rec)
		}
	}()
	return g.steps(ctx, target)
}

// steps runs the steps in order until one ends the GameDay.
func (g *gameDay) steps(ctx context.Context, target targets.Target) error {
	for i := range g.gd.Steps {
		s := &g.gd.Steps[i]
		sr := &g.res.Steps[i]
		now := time.Now().UTC()
		sr.Started, sr.Verdict, sr.Reason = &now, "", "running"
		g.notify(*sr)
		g.save()
		g.log.WithFields(logrus.Fields{"step": s.Name, "kind": s.Kind()}).Info("step starting")

		var err error
		switch s.Kind() {
		case experiments.StepManual:
			g.manual(ctx, i, s, sr)
		case experiments.StepWait:
			g.wait(ctx, s, sr)
		default:
			err = g.experiment(ctx, i, s, sr, target)
		}
		end := time.Now().UTC()
		sr.Ended = &end
		g.notify(*sr)
		g.save()
		switch {
		case sr.Verdict == Interrupted:
			g.stop(i+1, NotRun, fmt.Sprintf("not run: the GameDay was interrupted at step %d (%s)", i+1, s.Name))
			return runner.ErrInterrupted
		case sr.Verdict == Aborted:
			g.stop(i+1, NotRun, fmt.Sprintf("not run: the operator aborted the GameDay at step %d (%s)", i+1, s.Name))
			return nil
		case sr.Verdict == Error:
			g.stop(i+1, NotRun, fmt.Sprintf("not run: step %d (%s) hit an environment error", i+1, s.Name))
			return err
		case sr.Verdict == report.Fail && !s.ContinueOnFail:
			g.stop(i+1, NotRun, fmt.Sprintf("not run: step %d (%s) failed and the GameDay stops at a failure (continueOnFail: true goes on)", i+1, s.Name))
			return nil
		}
	}
	return nil
}

// stop marks every step after the first `after` steps that has not started
// with verdict and reason.
func (g *gameDay) stop(after int, verdict, reason string) {
	if g.stoppedAt == 0 && after > 0 {
		g.stoppedAt = after
	}
	for i := after; i < len(g.res.Steps); i++ {
		if g.res.Steps[i].Started == nil {
			g.res.Steps[i].Verdict, g.res.Steps[i].Reason = verdict, reason
		}
	}
}

func (g *gameDay) notify(sr StepResult) {
	if g.opts.OnStep != nil {
		g.opts.OnStep(sr)
	}
}

func (g *gameDay) manual(ctx context.Context, i int, s *experiments.Step, sr *StepResult) {
	if g.opts.Operator == nil {
		sr.Verdict, sr.Reason = Skipped, "unattended run (--yes): the manual step was skipped"
		return
	}
	d, err := g.opts.Operator.Manual(ctx, Prompt{Index: i + 1, Total: len(g.gd.Steps), Name: s.Name, Instructions: s.Manual.Instructions, Expect: s.Expect})
	sr.Notes = append(sr.Notes, d.Notes...)
	switch {
	case ctx.Err() != nil:
		sr.Verdict, sr.Reason = Interrupted, "interrupted while waiting for the operator"
	case err != nil:
		sr.Verdict, sr.Reason = Aborted, "no answer from the operator: "+err.Error()
	case d.Abort:
		sr.Verdict, sr.Reason = Aborted, "aborted by the operator"
	default:
		sr.Verdict, sr.Reason = report.Pass, "confirmed by the operator"
	}
}

func (g *gameDay) wait(ctx context.Context, s *experiments.Step, sr *StepResult) {
	t := time.NewTimer(*s.Wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		sr.Verdict, sr.Reason = Interrupted, "interrupted during the wait"
	case <-t.C:
		sr.Verdict, sr.Reason = report.Pass, "waited "+s.Wait.String()
	}
}

// experiment runs an experiment or checkpoint step against the shared
// target, in its own output folder.
func (g *gameDay) experiment(ctx context.Context, i int, s *experiments.Step, sr *StepResult, target targets.Target) error {
	e := s.Resolved
	seed := g.seed
	if e.Seed != nil {
		seed = *e.Seed
	}
	if g.opts.Seed != nil {
		seed = *g.opts.Seed
	}
	if len(e.Checks) > 0 && e.Target.Demo != nil {
		began := time.Now()
		if err := g.shared.ResetKeys(ctx, e.Workload.Keys); err != nil {
			if ctx.Err() != nil {
				sr.Verdict, sr.Reason = Interrupted, "interrupted while the workload's keys were deleted"
				return nil
			}
			sr.Verdict, sr.Reason = report.Inconclusive, "not run: the workload's keys could not be deleted before the consistency checks: "+err.Error()
			return nil
		}
		sr.KeysReset = e.Workload.Keys
		g.log.WithFields(logrus.Fields{"step": s.Name, "keys": e.Workload.Keys, "took": time.Since(began).Round(time.Millisecond)}).Info("workload keys deleted before the consistency checks")
	}
	rel := filepath.Join(StepsDir, fmt.Sprintf("%02d-%s", i+1, s.Name))
	file := s.File
	if file == "" {
		file = g.gd.File
	}
	settings := g.opts.Settings
	settings.Seed, settings.Runtime = &seed, ""
	settings.OutDir, settings.Log = filepath.Join(g.dir, rel), g.log.WithField("step", s.Name)
	out, err := runner.Run(ctx, e, runner.RunOptions{File: file, Source: s.Source, Settings: settings, Target: target})
	if out != nil && out.Result != nil {
		sr.Experiment = summarize(out.Result, rel, s)
		sr.Verdict, sr.Reason = out.Result.Verdict, out.Result.Reason
	}
	switch {
	case errors.Is(err, runner.ErrInterrupted):
		sr.Verdict, sr.Reason = Interrupted, "interrupted; every fault was reverted"
		return nil
	case err != nil:
		sr.Verdict, sr.Reason = Error, err.Error()
		return fmt.Errorf("step %s: %w", s.Name, err)
	case sr.Verdict == "":
		sr.Verdict, sr.Reason = report.Inconclusive, "the experiment produced no result"
	}
	return nil
}

// summarize keeps what the GameDay report shows of an experiment's run.
func summarize(r *report.Result, rel string, s *experiments.Step) *ExperimentSummary {
	sum := &ExperimentSummary{
		Name: r.Experiment, File: s.File, TargetReplaced: s.TargetReplaced, Seed: r.Seed,
		Verdict: r.Verdict, Reason: r.Reason, Dir: filepath.ToSlash(rel),
		Report:   filepath.ToSlash(filepath.Join(rel, report.FileHTML)),
		Workload: r.Workload, Faults: r.Faults, SLOs: r.SLOs, Checks: r.Checks,
		StopCondition: r.StopCondition, Errors: r.Errors,
	}
	var firstApplied, lastReverted *time.Time
	for _, f := range r.Faults {
		if f.Applied != nil && (firstApplied == nil || f.Applied.Before(*firstApplied)) {
			firstApplied = f.Applied
		}
		if f.Reverted != nil && (lastReverted == nil || f.Reverted.After(*lastReverted)) {
			lastReverted = f.Reverted
		}
	}
	ended := r.Ended
	for _, p := range r.Probes {
		at := &ended
		switch {
		case p.Phase == "before" && firstApplied != nil:
			at = firstApplied
		case p.Phase == "during" && lastReverted != nil:
			at = lastReverted
		}
		t := *at
		sum.Probes = append(sum.Probes, TimedProbe{ProbeResult: p, At: &t})
	}
	return sum
}

// judge sets the GameDay's verdict: interrupted and aborted GameDays say
// so; otherwise the worst step (fail over inconclusive over pass; an
// environment error is inconclusive).
func (g *gameDay) judge(runErr error) {
	res := g.res
	var fails, inconclusive []string
	passed := 0
	for _, s := range res.Steps {
		switch s.Verdict {
		case report.Fail:
			fails = append(fails, fmt.Sprintf("step %d (%s): %s", s.Index, s.Name, s.Reason))
		case report.Inconclusive, Error:
			inconclusive = append(inconclusive, fmt.Sprintf("step %d (%s): %s", s.Index, s.Name, s.Reason))
		case Aborted:
			res.Aborted = true
		case Interrupted:
			res.Interrupted = true
		case report.Pass:
			passed++
		}
	}
	switch {
	case errors.Is(runErr, runner.ErrInterrupted):
		res.Interrupted = true
		res.Verdict, res.Reason = report.Inconclusive, "interrupted"
		if g.stoppedAt > 0 {
			res.Reason += fmt.Sprintf(" at step %d (%s)", g.stoppedAt, res.Steps[g.stoppedAt-1].Name)
		}
		res.Reason += "; every fault was reverted"
	case res.Aborted:
		res.Verdict, res.Reason = report.Fail, "aborted by the operator"
		if g.stoppedAt > 0 {
			res.Reason += fmt.Sprintf(" at step %d (%s)", g.stoppedAt, res.Steps[g.stoppedAt-1].Name)
		}
	case runErr != nil && len(inconclusive) == 0:
		res.Verdict, res.Reason = report.Inconclusive, "environment error: "+runErr.Error()
	case len(fails) > 0:
		res.Verdict, res.Reason = report.Fail, report.JoinReasons(fails)
	case len(inconclusive) > 0:
		res.Verdict, res.Reason = report.Inconclusive, report.JoinReasons(inconclusive)
	default:
		res.Verdict = report.Pass
		res.Reason = fmt.Sprintf("%d of %d steps passed", passed, len(res.Steps))
		if skipped := countVerdict(res.Steps, Skipped); skipped > 0 {
			res.Reason += fmt.Sprintf(", %d manual step%s skipped (unattended)", skipped, plural(skipped))
		}
	}
	if n := countVerdict(res.Steps, NotRun); n > 0 && g.stoppedAt > 0 && !res.Interrupted && !res.Aborted {
		res.Reason += fmt.Sprintf("; the GameDay stopped after step %d, %d step%s not run", g.stoppedAt, n, plural(n))
	}
}

func countVerdict(steps []StepResult, v string) int {
	n := 0
	for _, s := range steps {
		if s.Verdict == v {
			n++
		}
	}
	return n
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// checkPrometheus fails before anything starts when a step's prometheus
// probe or ratio SLO has no server to ask.
func checkPrometheus(s experiments.Step, url string) error {
	e := s.Resolved
	if e == nil || url != "" {
		return nil
	}
	for _, p := range e.SteadyState.Probes {
		if p.Prometheus != nil && p.Prometheus.URL == "" {
			return fmt.Errorf("step %s: probe %s: no Prometheus server: give prometheus.url or --prometheus-url: %w", s.Name, p.Name, runner.ErrUsage)
		}
	}
	for _, o := range e.SLOs {
		if o.SLI.Prometheus() && o.URL == "" {
			return fmt.Errorf("step %s: SLO %s: no Prometheus server: give url or --prometheus-url: %w", s.Name, o.Name, runner.ErrUsage)
		}
	}
	return nil
}

func targetLine(c *experiments.DemoCluster, runtime string) string {
	return fmt.Sprintf("demo cluster on %s: %d store nodes, %d gateway%s, %s (n=%d w=%d r=%d), %s persistence, cache %s",
		runtime, c.Nodes, c.Gateways, plural(c.Gateways), c.Consistency, c.Replication.N, c.Replication.W, c.Replication.R,
		c.Persistence, c.Cache.Policy)
}
