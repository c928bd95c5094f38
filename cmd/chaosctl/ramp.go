package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/ramp"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/experiments/runner"
)

// rampHelp is the ramp paragraph of `chaosctl run --help`.
const rampHelp = "A file with a ramp section (ramp: {fault, param, from, to, steps, require}) is a\n" +
	"breaking-point search: each step is a real run with the ramped value written in, all\n" +
	"with one seed, bisecting from the mild end to the harsh one for the harshest value at\n" +
	"which every SLO, probe and check holds (--repeat N or ramp.repeat runs each step N\n" +
	"times, judged by --require-pass-rate). The parent folder's result.json carries\n" +
	"margin: {param, holds, breaks, brokenBy, steps}, and report.html charts each SLO's\n" +
	"budget against the value. Exit 0 when the margin meets ramp.require (or, without one,\n" +
	"when the search completed), 1 when it falls short, 4 when a step stayed inconclusive\n" +
	"where it mattered. --dry-run prints the range, the first probes and the first step's plan.\n\n"

// rampRunsPerStep is --repeat when given, else 0: the file's ramp.repeat.
func rampRunsPerStep(c *cli.Context) int {
	if c.IsSet("repeat") {
		return c.Int("repeat")
	}
	return 0
}

// runRamp searches x's ramp (ramp.Ramp) with opts' settings, printing a
// line per step and the margin on stdout, and returns the ramp's verdict
// ("" when nothing ran), its entry for the combined JUnit file (nil when
// nothing ran) and its error.
func runRamp(ctx context.Context, e *env, x *experiments.Experiment, opts runner.RunOptions, runs int, required float64) (*runJSON, *report.JUnitEntry, error) {
	out, err := ramp.Ramp(ctx, x, ramp.Options{File: opts.File, Source: opts.Source, Settings: opts.Settings, Runs: runs, Required: required,
		OnStep: func(s report.RampStep) {
			fmt.Fprintf(e.stdout, "step %d  %s=%s  %s — %s\n", s.Step, x.Ramp.Param, s.Value, s.Verdict, s.Reason)
		}})
	if out == nil {
		return nil, nil, err
	}
	_ = report.RampTerminal(e.stdout, out.Result)
	fmt.Fprintf(e.stdout, "output: %s\n", out.Dir)
	return newRunJSON("ramp", opts.File, out.Result.Experiment, out.Result.Header, out.Dir), &report.JUnitEntry{Ramp: out.Result, RampDir: out.Dir}, err
}
