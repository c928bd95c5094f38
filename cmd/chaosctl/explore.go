package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/explore"
)

func exploreCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "explore",
		Usage:     "draw fault schedules from a file's nemesis, run them, shrink a failure to a minimal schedule",
		ArgsUsage: "FILE",
		Description: "Draws a fault schedule per run from the file's nemesis section, a pure function of\n" +
			"the file and the run's seed (run i has seed S+i), and runs it with the file's target,\n" +
			"workload, SLOs and checks. Stops at --runs, the --budget or the first failure, which\n" +
			"it shrinks (drop faults, move them earlier, shorten them, lower their intensities,\n" +
			"narrow their partitions, shorten the workload; a change is kept only while the run\n" +
			"fails on the same check, SLO or probe) and writes as minimal-<n>.yaml, a plain\n" +
			"experiment `chaosctl run` takes, then reruns --repro times. The runs share one\n" +
			"started target, its data reset between runs and restarted where a run left what a\n" +
			"reset cannot clear (--fresh-target: one per run). The folder holds explore.json,\n" +
			"summary.md, explore.html and\n" +
			"every run's own report folder. Exit 1 when a failure was found, 0 when none was, 4\n" +
			"when runs were inconclusive.\n\n" +
			"   chaosctl explore examples/explore.yaml --runs 20\n" +
			"   chaosctl explore --dry-run examples/explore.yaml --seed 7 --runs 3\n" +
			"   chaosctl explore --replay 9 examples/explore.yaml\n\n" + exitCodesHelp,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "runs", Value: explore.DefaultRuns, Usage: "schedules to draw and run"},
			&cli.DurationFlag{Name: "budget", Usage: "stop starting runs (and shrink steps) after this long (default: no limit)"},
			&cli.Int64Flag{Name: "seed", Usage: "the first run's seed (default: the file's seed, else 1)"},
			&cli.Int64Flag{Name: "replay", Usage: "run only the schedule of this run seed, once"},
			&cli.IntFlag{Name: "repro", Value: 5, Usage: "rerun each minimal schedule this many times and report how often it fails the same way"},
			&cli.BoolFlag{Name: "keep-going", Usage: "run every schedule instead of stopping at the first failure (each failure is shrunk)"},
			&cli.BoolFlag{Name: "no-shrink", Usage: "write the failing schedule as it was drawn"},
			&cli.IntFlag{Name: "tries", Value: 2, Usage: "runs of a shrink candidate before it counts as not failing (a timing bug does not show on every run)"},
			&cli.DurationFlag{Name: "run-duration", Usage: "cap each run's workload at this, scaling every schedule to fit (default: the file's workload.duration)"},
			&cli.BoolFlag{Name: "fresh-target", Usage: "start and stop the target in every run instead of sharing one started target, its data reset between runs"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the schedules as YAML; run nothing"},
			&cli.StringFlag{Name: "out", Usage: "output folder (default chaosctl-out/<name>-explore-<UTC time>)"},
			&cli.StringFlag{Name: "target", Usage: "the `RUNTIME` of the demo cluster: " + e.targetUsage() + " (overrides target.runtime)"},
			ledgerDirFlag(),
			checkBudgetFlag("the linearizability check of each run"),
			prometheusURLFlag(),
			setFlag(),
			annotateFlag(),
		},
		Action: func(c *cli.Context) error { return exploreFile(c, e) },
	}
}

func exploreFile(c *cli.Context, e *env) error {
	if c.NArg() != 1 {
		return usageError(errors.New("explore takes one experiment file with a nemesis section: chaosctl explore FILE"))
	}
	file := c.Args().First()
	src, err := experiments.ReadFile(file)
	if err != nil {
		return usageError(err)
	}
	if experiments.IsGameDay(src) {
		return usageError(fmt.Errorf("%s is a GameDay playbook; explore takes an experiment with a nemesis section", file))
	}
	x, err := experiments.DecodeWith(file, src, decodeOptions(c))
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return &exitError{code: exitUsage, err: fmt.Errorf("%s invalid; nothing was started", file)}
	}
	if x.Nemesis == nil {
		return usageError(fmt.Errorf("%s has no nemesis section: explore draws its schedules from one (see docs/explore.md); chaosctl run runs its faults", file))
	}
	if err := e.checkTarget(c.String("target")); err != nil {
		return err
	}
	settings, err := runSettings(c, e)
	if err != nil {
		return err
	}
	settings.Variables = x.Variables
	opts := explore.Options{File: file, Source: x.ResolvedSource(src), Settings: settings, Runs: c.Int("runs"), Budget: c.Duration("budget"),
		KeepGoing: c.Bool("keep-going"), Shrink: !c.Bool("no-shrink"), Tries: c.Int("tries"), Repro: c.Int("repro"),
		RunDuration: c.Duration("run-duration"), FreshTarget: c.Bool("fresh-target")}
	if c.IsSet("replay") {
		seed := c.Int64("replay")
		opts.Replay = &seed
	}
	if opts.Runs < 1 || opts.Repro < 0 || opts.Tries < 1 || opts.Budget < 0 || opts.RunDuration < 0 {
		return usageError(errors.New("--runs and --tries take 1 or more, --repro 0 or more, --budget and --run-duration a positive duration"))
	}
	opts.Settings.Log = e.log.WithField("experiment", x.Metadata.Name)
	if c.Bool("dry-run") {
		return printSchedules(e, x, opts)
	}
	ctx, stop := cancelOnSignal(c.Context, e,
		"interrupted: reverting every fault, then exiting (code 3)",
		"still reverting faults; chaosctl exits as soon as every fault is reverted")
	defer stop()
	out, err := explore.Explore(ctx, x, opts)
	verdict := ""
	if out != nil {
		r := out.Report
		verdict = r.Verdict
		fmt.Fprintf(e.stdout, "explore %s: %s\n%s\n", r.Experiment, r.Verdict, r.Reason)
		for _, m := range r.Minimal {
			fmt.Fprintf(e.stdout, "minimal: %s (%d faults, failed the same way in %d of %d runs)\n", filepath.Join(out.Dir, m.File), m.Faults, m.Reproduced, m.Of)
		}
		fmt.Fprintf(e.stdout, "output: %s\n", out.Dir)
	}
	if code := judgedCode(verdict, err); code != exitPass {
		return &exitError{code: code, err: err, reported: err == nil}
	}
	return nil
}

// printSchedules prints every run's schedule as a YAML document.
func printSchedules(e *env, x *experiments.Experiment, opts explore.Options) error {
	schedules, err := explore.Schedules(x, opts)
	if err != nil {
		return usageError(err)
	}
	for i, s := range schedules {
		if i > 0 {
			fmt.Fprintln(e.stdout, "---")
		}
		capped := ""
		if opts.RunDuration > 0 {
			capped = " --run-duration " + opts.RunDuration.String()
		}
		fmt.Fprintf(e.stdout, "# run %d of %d: chaosctl explore --replay %d%s %s\n", i+1, len(schedules), s.Seed, capped, opts.File)
		if err := experiments.FormatSchedule(e.stdout, s); err != nil {
			return err
		}
	}
	return nil
}
