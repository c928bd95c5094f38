package explore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/experiments/runner"
	"github.com/chaosctl/chaosctl/targets"
)

// Files of an explore folder.
const (
	FileJSON     = "explore.json"
	FileMarkdown = "summary.md"
	FileHTML     = "explore.html"
)

// DefaultRuns is how many schedules an explore draws when Options.Runs is 0.
const DefaultRuns = 10

// RunFunc runs one experiment: runner.Run, or a fake in tests.
type RunFunc = runner.RunFunc

// Options configure Explore.
type Options struct {
	// File is the experiment file's path and Source its bytes; each run's
	// experiment is Source with the drawn schedule written in
	// (experiments.ScheduleSource).
	File   string
	Source []byte
	// Settings are the runner's; OutDir is the explore folder, and each run
	// gets a folder of its own inside it. Settings.Seed, when set, is the
	// first run's seed (else the file's seed, else 1); run i has seed+i.
	runner.Settings
	// Runs is how many schedules to draw (DefaultRuns when 0).
	Runs int
	// Budget bounds the whole explore, shrinking included (0: none); a run
	// is not started once it is spent.
	Budget time.Duration
	// KeepGoing explores all Runs instead of stopping at the first failure.
	KeepGoing bool
	// Replay, when set, runs only the schedule of this seed, once.
	Replay *int64
	// RunDuration, when set and shorter than the file's workload, caps each
	// run's workload: every drawn schedule is scaled to fit it.
	RunDuration time.Duration
	// Shrink shrinks every failing schedule found; Tries is how many runs
	// of a shrink candidate may fail to show the failure before it is
	// rejected (default 2: one run is not conclusive of a timing bug).
	Shrink bool
	Tries  int
	// Repro runs each minimal schedule this many more times and reports how
	// many of them fail for the same reason.
	Repro int
	// FreshTarget starts and stops the target in every run, as
	// `chaosctl run` does, instead of starting it once and sharing it
	// between the runs (runner.SharedTarget: its data reset between runs,
	// restarted where a run left what a reset cannot clear). A file whose
	// target cannot be reset (runner.Shareable) gets a fresh target anyway.
	FreshTarget bool
	// Run runs one experiment (nil: runner.Run). Now is the clock of the
	// budget (nil: time.Now). Share starts the target the runs share (nil:
	// runner.StartShared).
	Run   RunFunc
	Now   func() time.Time
	Share func(ctx context.Context, o runner.ShareOptions) (Host, error)
}

// Host is a started target that runs share: *runner.SharedTarget, or a
// fake in tests.
type Host interface {
	Target() targets.Target
	Prepare(ctx context.Context, next *experiments.Experiment, prev *report.Result) (runner.Preparation, error)
	Starts() int
	Close(ctx context.Context, failed bool) error
}

func startShared(ctx context.Context, o runner.ShareOptions) (Host, error) {
	return runner.StartShared(ctx, o)
}

// Outcome is what Explore produced.
type Outcome struct {
	Report *Report
	Dir    string
}

// Seeds returns the run seeds of an explore: the replayed one, or Runs
// seeds from the first (Settings.Seed, else the file's seed, else 1).
func (o Options) Seeds(file *int64) []int64 {
	if o.Replay != nil {
		return []int64{*o.Replay}
	}
	first := int64(1)
	switch {
	case o.Seed != nil:
		first = *o.Seed
	case file != nil:
		first = *file
	}
	runs := o.Runs
	if runs <= 0 {
		runs = DefaultRuns
	}
	seeds := make([]int64, runs)
	for i := range seeds {
		seeds[i] = first + int64(i)
	}
	return seeds
}

// Schedules draws the schedule of every run seed of opts; what --dry-run
// prints.
func Schedules(e *experiments.Experiment, opts Options) ([]experiments.Schedule, error) {
	var out []experiments.Schedule
	for _, seed := range opts.Seeds(e.Seed) {
		s, err := e.DrawSchedule(seed)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", err, runner.ErrUsage)
		}
		out = append(out, Scaled(s, opts.RunDuration))
	}
	return out, nil
}

// Scaled fits schedule s into a workload of d: every fault's start and end
// are scaled by d over the schedule's duration (to the millisecond, a
// fault lasting at least one). A d of 0, or one no shorter than the
// schedule's, leaves it as it is.
func Scaled(s experiments.Schedule, d time.Duration) experiments.Schedule {
	if d <= 0 || d >= s.Duration {
		return s
	}
	scale := func(t time.Duration) time.Duration {
		return (time.Duration(float64(t) * float64(d) / float64(s.Duration))).Truncate(time.Millisecond)
	}
	out := experiments.Schedule{Seed: s.Seed, Duration: d, Faults: cloneFaults(s.Faults)}
	for i := range out.Faults {
		f := &out.Faults[i]
		at, end := scale(f.At), scale(f.End())
		f.At = at
		if f.Duration > 0 {
			setLength(f, max(end-at, time.Millisecond))
		}
	}
	return out
}

// explorer is one explore in progress.
type explorer struct {
	e       *experiments.Experiment
	opts    Options
	dir     string
	log     *logrus.Entry
	rep     *Report
	started time.Time
	// host is the target the runs share (nil: each run starts its own);
	// prev the result of the last run on it (nil before the first).
	host Host
	used bool
	prev *report.Result
}

// Explore draws a schedule per run seed, runs it, and on a failure shrinks
// the schedule and measures the minimal one's reproduction rate. The
// returned error is nil whatever the verdicts; it wraps the runner's error
// of a run that could not be judged (interrupted, environment, crash,
// usage), and the report is written all the same once a run has started.
func Explore(ctx context.Context, e *experiments.Experiment, opts Options) (*Outcome, error) {
	if e.Nemesis == nil {
		return nil, fmt.Errorf("%s: %w: %w", opts.File, experiments.ErrNoNemesis, runner.ErrUsage)
	}
	if opts.Run == nil {
		opts.Run = runner.Run
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Share == nil {
		opts.Share = startShared
	}
	if opts.Tries <= 0 {
		opts.Tries = 2
	}
	x := &explorer{e: e, opts: opts, log: opts.Logger().WithField("component", "explore"), started: opts.Now()}
	seeds := opts.Seeds(e.Seed)
	// Every schedule is drawn and written before anything starts: a file
	// that cannot take its schedules is bad input (exit 2).
	schedules, err := Schedules(e, opts)
	if err != nil {
		return nil, err
	}
	for _, s := range schedules {
		if _, _, err := x.source(s, ""); err != nil {
			return nil, fmt.Errorf("%s: seed %d: %w: %w", opts.File, s.Seed, err, runner.ErrUsage)
		}
	}
	dir, err := opts.MakeOutDir(e.Metadata.Name+"-explore", x.started.UTC())
	if err != nil {
		return nil, err
	}
	x.dir = dir
	x.rep = &Report{
		Experiment: e.Metadata.Name, File: opts.File, Seeds: seeds, Started: x.started.UTC(),
		Runs: []RunRecord{}, Minimal: []Minimal{}, Shrinks: []Shrink{},
	}
	err = x.explore(ctx, schedules)
	if x.host != nil {
		x.rep.Target.Starts = x.host.Starts()
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		if cerr := x.host.Close(cleanup, err != nil); cerr != nil {
			x.log.WithError(cerr).Warn("stop the shared target")
		}
		cancel()
	}
	x.rep.Ended = opts.Now().UTC()
	if took := x.rep.Ended.Sub(x.rep.Started); took > 0 {
		x.rep.RunsPerHour = float64(x.rep.RunCount) / took.Hours()
	}
	x.rep.judge()
	if werr := x.rep.Write(dir); werr != nil && err == nil {
		err = fmt.Errorf("%w: %w", runner.ErrEnvironment, werr)
	}
	return &Outcome{Report: x.rep, Dir: dir}, err
}

// spent reports whether the budget is spent.
func (x *explorer) spent() bool {
	return x.opts.Budget > 0 && x.opts.Now().Sub(x.started) >= x.opts.Budget
}

func (x *explorer) explore(ctx context.Context, schedules []experiments.Schedule) error {
	x.rep.Stopped = StopRuns
	if err := x.share(ctx, schedules[0].Seed); err != nil {
		x.rep.Stopped = StopError
		return err
	}
	var failures []int
	for i, s := range schedules {
		if x.spent() {
			x.rep.Stopped = StopBudget
			break
		}
		rec, err := x.run(ctx, s, filepath.Join("runs", fmt.Sprintf("%03d-seed-%d", i+1, s.Seed)))
		rec.Run = i + 1
		x.rep.Runs = append(x.rep.Runs, rec)
		x.log.WithFields(logrus.Fields{"run": i + 1, "seed": s.Seed, "faults": len(s.Faults), "verdict": rec.Verdict}).Info(rec.Reason)
		if err != nil {
			x.rep.Stopped = StopError
			return err
		}
		if rec.Verdict == report.Fail {
			failures = append(failures, len(x.rep.Runs)-1)
			if !x.opts.KeepGoing {
				x.rep.Stopped = StopFailure
				break
			}
		}
	}
	for n, i := range failures {
		if err := x.minimise(ctx, n+1, x.rep.Runs[i], schedules[i]); err != nil {
			x.rep.Stopped = StopError
			return err
		}
	}
	return nil
}

// share starts the target the runs share, unless they cannot or
// FreshTarget says not to; seed is the members' (the first run's).
func (x *explorer) share(ctx context.Context, seed int64) error {
	why := runner.Shareable(x.e)
	if x.opts.FreshTarget {
		why = "asked for (--fresh-target)"
	}
	if why != "" {
		x.rep.Target = TargetUse{Fresh: why}
		x.log.WithField("why", why).Info("every run starts and stops its own target")
		return nil
	}
	settings := x.opts.Settings
	settings.Log = x.log
	host, err := x.opts.Share(ctx, runner.ShareOptions{
		Settings: settings, Run: runner.RunID(x.e.Metadata.Name+"-explore", x.started.UTC()), Dir: x.dir,
		Runtime: x.opts.RuntimeFor(string(x.e.Target.Runtime)), Seed: seed, Target: x.e.Target,
	})
	if err != nil {
		return err
	}
	x.host = host
	x.rep.Target = TargetUse{Shared: true, Starts: 1}
	return nil
}

// prepare readies the shared target for the run of exp and says how on
// rec.
func (x *explorer) prepare(ctx context.Context, exp *experiments.Experiment, rec *RunRecord) error {
	if !x.used {
		x.used = true
		rec.Target = TargetStarted
		return nil
	}
	p, err := x.host.Prepare(ctx, exp, x.prev)
	x.prev = nil
	rec.Target = TargetReset
	if p.Restarted != "" {
		rec.Target = TargetRestarted + ": " + p.Restarted
		x.rep.Target.Restarts++
	}
	x.rep.Target.Starts = x.host.Starts()
	if err != nil {
		return err
	}
	x.log.WithFields(logrus.Fields{"keys": p.KeysReset, "took": p.Took.Round(time.Millisecond), "restarted": p.Restarted}).Info("shared target readied for the next run")
	return nil
}

// source writes schedule s into the file as a plain v1 experiment.
func (x *explorer) source(s experiments.Schedule, header string) ([]byte, *experiments.Experiment, error) {
	return experiments.ScheduleSource(x.opts.File, x.opts.Source, s, header)
}

// run runs schedule s with its output folder at rel (inside the explore
// folder) and records it. The error is the runner's when the run could not
// be judged.
func (x *explorer) run(ctx context.Context, s experiments.Schedule, rel string) (rec RunRecord, err error) {
	rec = RunRecord{Seed: s.Seed, Schedule: scheduleFaults(s), Duration: seconds(s.Duration), Dir: rel}
	src, exp, err := x.source(s, "")
	if err != nil {
		return rec, fmt.Errorf("%w: %w", err, runner.ErrUsage)
	}
	settings := x.opts.Settings
	settings.OutDir = filepath.Join(x.dir, rel)
	seed := s.Seed
	settings.Seed = &seed
	settings.Log = x.opts.Logger().WithFields(logrus.Fields{"seed": s.Seed, "dir": rel})
	began := x.opts.Now()
	ro := runner.RunOptions{File: x.opts.File, Source: src, Settings: settings}
	if x.host != nil {
		if err := x.prepare(ctx, exp, &rec); err != nil {
			x.rep.RunCount++
			rec.Verdict, rec.Reason, rec.Error = report.Inconclusive, "not run: the shared target could not be readied", err.Error()
			return rec, err
		}
		ro.Target = x.host.Target()
	}
	out, err := x.opts.Run(ctx, exp, ro)
	ended := x.opts.Now()
	rec.Took = ended.Sub(began).Round(time.Millisecond).String()
	x.rep.RunCount++
	defer func() {
		if rec.Verdict == report.Fail && x.rep.ToFind == "" {
			x.rep.ToFind = ended.Sub(x.started).Round(time.Second).String()
		}
	}()
	rec.Verdict, rec.Reason = report.Inconclusive, "the run ended without a result"
	if out != nil && out.Result != nil {
		rec.Verdict, rec.Reason = out.Result.Verdict, out.Result.Reason
		rec.Failed = Failed(out.Result)
	}
	if x.host != nil {
		x.prev = &report.Result{Errors: []string{"the run ended without a result"}}
		if out != nil && out.Result != nil {
			x.prev = out.Result
		}
	}
	if err != nil {
		rec.Error = err.Error()
		if errors.Is(err, runner.ErrInterrupted) || errors.Is(err, runner.ErrCrashed) ||
			errors.Is(err, runner.ErrEnvironment) || errors.Is(err, runner.ErrUsage) {
			return rec, err
		}
		return rec, fmt.Errorf("%w: %w", runner.ErrEnvironment, err)
	}
	return rec, nil
}

// Failed names what a run failed on, in a fixed order: the checks, the
// SLOs, the steady-state probes (name/phase) and the stop condition's SLO.
// Its first name is the failure's reason, which a shrink candidate must
// fail on too.
func Failed(r *report.Result) []string {
	var names []string
	for _, c := range r.Checks {
		if c.Verdict == report.Fail {
			names = append(names, c.Name)
		}
	}
	for _, s := range r.SLOs {
		if s.Verdict == report.Fail {
			names = append(names, s.Name)
		}
	}
	for _, p := range r.Probes {
		if p.Verdict == report.Fail {
			names = append(names, p.Name+"/"+p.Phase)
		}
	}
	if sc := r.StopCondition; sc != nil && sc.SLO != "" {
		names = append(names, "stop:"+sc.SLO)
	}
	return names
}

// writeFile writes data into the explore folder.
func (x *explorer) writeFile(name string, data []byte) error {
	if err := os.WriteFile(filepath.Join(x.dir, name), data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
