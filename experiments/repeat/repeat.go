package repeat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/experiments/runner"
)

// RunFunc runs one experiment: runner.Run, or a fake in tests.
type RunFunc = runner.RunFunc

// Options configure Repeat.
type Options struct {
	// File is the experiment file's path and Source its bytes, as
	// runner.RunOptions takes them.
	File   string
	Source []byte
	// Settings are the runner's. OutDir is the repeat's parent folder
	// (default chaosctl-out/<name>-repeat-<UTC time>), each run's folder
	// is runs/<i>-seed-<S> inside it. Settings.Seed, when set, is the first
	// run's seed S (else the file's, else a random one); run i has S+i-1.
	runner.Settings
	// Runs is how many times to run the experiment (1 to
	// experiments.MaxRepeat).
	Runs int
	// Required is the pass rate the repeat requires (0 < Required ≤ 1;
	// 0 means DefaultRequired, every run).
	Required float64
	// Run runs one experiment (nil: runner.Run).
	Run RunFunc
	// OnRun, when set, is called after each run with what it gave (the
	// command line prints a line per run).
	OnRun func(Run)
	// NoStepSummary leaves $GITHUB_STEP_SUMMARY alone: the caller (a
	// ramp) appends one summary of its own.
	NoStepSummary bool
}

// Outcome is what Repeat produced: the aggregate result and the parent
// folder it was written to.
type Outcome struct {
	Result *report.RepeatResult
	Dir    string
}

// RunDir is the folder of run i (from 1) with seed inside the parent
// folder.
func RunDir(i int, seed int64) string {
	return filepath.Join(report.FileRepeatRuns, fmt.Sprintf("%03d-seed-%d", i, seed))
}

// Repeat runs e opts.Runs times, with seeds S, S+1, …, each run in a folder
// of its own inside one parent folder, and writes the aggregate there:
// result.json (report.RepeatResult), summary.md and junit.xml. It stops
// starting runs when ctx is cancelled or a run could not be judged (the
// runner's error: interrupted, environment, crash); the aggregate is
// written all the same once a run has started, and says interrupted. The
// returned error is nil whatever the verdict; otherwise it wraps the
// runner's error (runner.ErrInterrupted, ErrEnvironment, ErrCrashed,
// ErrUsage). Every fault of every run is reverted by the runner on every
// path out of it.
func Repeat(ctx context.Context, e *experiments.Experiment, opts Options) (*Outcome, error) {
	if opts.Runs < 1 || opts.Runs > experiments.MaxRepeat {
		return nil, fmt.Errorf("repeat %d: allowed are 1 to %d runs: %w", opts.Runs, experiments.MaxRepeat, runner.ErrUsage)
	}
	if opts.Required == 0 {
		opts.Required = DefaultRequired
	}
	if opts.Required < 0 || opts.Required > 1 {
		return nil, fmt.Errorf("required pass rate %g: allowed are above 0 up to 1: %w", opts.Required, runner.ErrUsage)
	}
	if opts.Run == nil {
		opts.Run = runner.Run
	}
	first := opts.SeedFor(e.Seed)
	seeds := make([]int64, opts.Runs)
	for i := range seeds {
		seeds[i] = first + int64(i)
		// Every run's plan is resolved before anything starts: a seed whose
		// picks cannot be made is bad input, not a failed run.
		if _, err := e.Plan(seeds[i]); err != nil {
			return nil, fmt.Errorf("seed %d: %w: %w", seeds[i], err, runner.ErrUsage)
		}
	}
	started := time.Now().UTC()
	dir, err := opts.MakeOutDir(e.Metadata.Name+"-repeat", started)
	if err != nil {
		return nil, err
	}
	log := opts.Logger().WithFields(logrus.Fields{"component": "repeat", "dir": dir})
	log.WithFields(logrus.Fields{"runs": opts.Runs, "seeds": fmt.Sprintf("%d-%d", seeds[0], seeds[len(seeds)-1])}).Info("repeat starting")

	var runs []Run
	var between error // an interruption between two runs
	runErr := func() error {
		for i, seed := range seeds {
			if ctx.Err() != nil {
				between = fmt.Errorf("interrupted before run %d of %d: %w", i+1, len(seeds), runner.ErrInterrupted)
				return between
			}
			run, err := runOne(ctx, e, opts, dir, i+1, seed)
			runs = append(runs, run)
			log.WithFields(logrus.Fields{"run": i + 1, "seed": seed, "verdict": run.Verdict}).Info(run.Reason)
			if opts.OnRun != nil {
				opts.OnRun(run)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}()

	header := report.Header{Description: e.Metadata.Description, File: opts.File, Seed: first, Started: started,
		Ended: time.Now().UTC(), ChaosctlVersion: opts.Version, Runtime: opts.RuntimeFor(string(e.Target.Runtime))}
	results := make([]*report.Result, len(runs))
	for i, r := range runs {
		results[i] = r.Result
		if r.Result != nil && r.Result.Runtime != "" {
			header.Runtime = r.Result.Runtime
		}
	}
	agg := Aggregate(header, e.Metadata.Name, opts.Runs, opts.Required, runs)
	if errors.Is(runErr, runner.ErrInterrupted) {
		agg.Interrupted = true
	}
	if between != nil {
		agg.Errors = append(agg.Errors, between.Error())
	}
	// The runs' results are redacted by the runner; the description and
	// file the aggregate takes from the experiment are not yet.
	agg = redacted(agg, e.Redactor())
	if err := writeAll(dir, agg, results); err != nil {
		log.WithError(err).Error("write the repeat's reports")
		if runErr == nil {
			runErr = fmt.Errorf("%w: %w", runner.ErrEnvironment, err)
		}
	} else if md, err := os.ReadFile(filepath.Join(dir, report.FileMarkdown)); err == nil && !opts.NoStepSummary {
		if path, err := report.AppendGitHubStepSummary(md); err != nil {
			log.WithError(err).Warn("append to the GitHub step summary")
		} else if path != "" {
			log.WithField("file", path).Info("summary appended to the GitHub step summary")
		}
	}
	log.WithFields(logrus.Fields{"verdict": agg.Verdict}).Info(agg.Reason)
	return &Outcome{Result: agg, Dir: dir}, runErr
}

// runOne makes run i with seed in its folder inside dir. The error is the
// runner's when the run could not be judged, wrapped in ErrEnvironment
// when it is none of the runner's own.
func runOne(ctx context.Context, e *experiments.Experiment, opts Options, dir string, i int, seed int64) (Run, error) {
	rel := RunDir(i, seed)
	run := Run{RepeatRun: report.RepeatRun{Run: i, Seed: seed, Dir: rel,
		Verdict: report.Inconclusive, Reason: "the run ended without a result"}}
	settings := opts.Settings
	settings.OutDir = filepath.Join(dir, rel)
	settings.Seed = &seed
	settings.Log = opts.Logger().WithFields(logrus.Fields{"run": i, "seed": seed})
	began := time.Now()
	out, err := opts.Run(ctx, e, runner.RunOptions{File: opts.File, Source: opts.Source, Settings: settings, NoStepSummary: true})
	run.Took = time.Since(began).Round(time.Millisecond).String()
	if out != nil && out.Result != nil {
		run.Result = out.Result
		run.Verdict, run.Reason = out.Result.Verdict, out.Result.Reason
		run.Interrupted = out.Result.Interrupted
	}
	if err == nil {
		return run, nil
	}
	run.Error = err.Error()
	if errors.Is(err, runner.ErrInterrupted) {
		run.Interrupted = true
	}
	for _, known := range []error{runner.ErrInterrupted, runner.ErrCrashed, runner.ErrEnvironment, runner.ErrUsage} {
		if errors.Is(err, known) {
			return run, fmt.Errorf("run %d (seed %d): %w", i, seed, err)
		}
	}
	return run, fmt.Errorf("run %d (seed %d): %w: %w", i, seed, runner.ErrEnvironment, err)
}

// writeAll writes the repeat's result.json, summary.md and junit.xml.
func writeAll(dir string, agg *report.RepeatResult, results []*report.Result) error {
	if err := agg.WriteJSON(dir); err != nil {
		return err
	}
	return report.WriteRepeatReports(dir, agg, results)
}

// redacted is agg with every sensitive value of the experiment replaced
// (as the runner redacts a run's result); agg itself when there is none or
// it cannot be encoded.
func redacted(agg *report.RepeatResult, red *experiments.Redactor) *report.RepeatResult {
	if red.Empty() {
		return agg
	}
	b, err := json.Marshal(agg)
	if err != nil {
		return agg
	}
	var out report.RepeatResult
	if err := json.Unmarshal(red.Bytes(b), &out); err != nil {
		return agg
	}
	return &out
}
