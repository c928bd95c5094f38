package control

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/runner"
	"github.com/chaosctl/chaosctl/slo/judge"
)

// Dir is the control run's folder inside the experiment's output folder.
const Dir = "control"

// Options configure Run.
type Options struct {
	runner.RunOptions
	// Run runs one experiment (nil: runner.Run).
	Run runner.RunFunc
	// OnControl, when set, is called with the control run's outcome once it
	// ended (the command line prints a line).
	OnControl func(*runner.Outcome)
}

// Run runs e's control run, then e, the experiment compared with it (see
// the package documentation). The outcome is the experiment's; when the
// control run could not be judged (interrupted, crashed, its target did not
// start) it is the control run's, and the error wraps the runner's.
func Run(ctx context.Context, e *experiments.Experiment, opts Options) (*runner.Outcome, error) {
	if opts.Run == nil {
		opts.Run = runner.Run
	}
	if opts.Target != nil {
		return nil, fmt.Errorf("a control run needs a target of its own, not a shared one: %w", runner.ErrUsage)
	}
	seed := opts.SeedFor(e.Seed)
	ce, src, err := Experiment(e, opts.File, opts.Source, seed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, runner.ErrUsage)
	}
	dir, err := opts.MakeOutDir(e.Metadata.Name, time.Now().UTC())
	if err != nil {
		return nil, err
	}
	log := opts.Logger()

	copts := opts.RunOptions
	copts.Source = src
	copts.OutDir = filepath.Join(dir, Dir)
	copts.Seed = &seed
	copts.NoStepSummary = true
	copts.Log = log.WithField("phase", "control")
	copts.Control = nil
	log.WithFields(logrus.Fields{"component": "control", "dir": copts.OutDir, "seed": seed}).Info("control run starting (no faults)")
	cout, err := opts.Run(ctx, ce, copts)
	if opts.OnControl != nil && cout != nil {
		opts.OnControl(cout)
	}
	if err != nil {
		if errors.Is(err, runner.ErrInterrupted) || errors.Is(err, runner.ErrUsage) || errors.Is(err, runner.ErrCrashed) || errors.Is(err, runner.ErrEnvironment) {
			return cout, fmt.Errorf("control run: %w", err)
		}
		return cout, fmt.Errorf("control run: %w: %w", runner.ErrEnvironment, err)
	}
	if ctx.Err() != nil {
		return cout, fmt.Errorf("control run: %w", runner.ErrInterrupted)
	}

	eopts := opts.RunOptions
	eopts.OutDir = dir
	eopts.Seed = &seed
	eopts.Control = &runner.Baseline{Dir: Dir, Limits: Limits(e)}
	if cout != nil {
		eopts.Control.Result, eopts.Control.Series = cout.Result, cout.Series
	}
	return opts.Run(ctx, e, eopts)
}

// With returns a RunFunc that runs every experiment through Run with run:
// each with a control run of its own (a repeat's runs, say).
func With(run runner.RunFunc) runner.RunFunc {
	return func(ctx context.Context, e *experiments.Experiment, opts runner.RunOptions) (*runner.Outcome, error) {
		return Run(ctx, e, Options{RunOptions: opts, Run: run})
	}
}

// Limits are e's degradation limits (none without degradation:).
func Limits(e *experiments.Experiment) judge.Limits {
	var l judge.Limits
	if d := e.Degradation; d != nil {
		l.Latency = d.Latency
		if d.Errors != nil {
			f := d.Errors.Fraction()
			l.Errors = &f
		}
	}
	return l
}

// Experiment is e's control run with seed, and its file: from src by
// experiments.ControlSource (so it runs as `chaosctl run` would run the
// file it writes), or, without a source, e itself without faults.
func Experiment(e *experiments.Experiment, file string, src []byte, seed int64) (*experiments.Experiment, []byte, error) {
	if len(src) == 0 {
		c := *e
		c.Faults, c.Control, c.Degradation, c.Nemesis, c.Repeat = nil, false, nil, nil, 1
		c.Seed = &seed
		c.SLOs = append([]experiments.SLO(nil), e.SLOs...)
		for i := range c.SLOs {
			c.SLOs[i].Judge = experiments.JudgeRun
		}
		return &c, nil, nil
	}
	header := fmt.Sprintf(" The control run of %s: the same seed (%d), target and workload,\n without faults, run before the experiment (chaosctl run --control).", file, seed)
	b, c, err := experiments.ControlSource(file, src, seed, header)
	if err != nil {
		return nil, nil, err
	}
	return c, b, nil
}
