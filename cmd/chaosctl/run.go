package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/annotate"
	"github.com/chaosctl/chaosctl/experiments/control"
	"github.com/chaosctl/chaosctl/experiments/gameday"
	"github.com/chaosctl/chaosctl/experiments/ramp"
	"github.com/chaosctl/chaosctl/experiments/repeat"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/experiments/runner"
	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/internal/guardedio"
	"github.com/chaosctl/chaosctl/internal/regularfile"
	"github.com/chaosctl/chaosctl/internal/statusline"
)

func runCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run experiments and judge them",
		ArgsUsage: "FILE|DIR...",
		Description: "Validates every file first (nothing starts if one is invalid), then runs them in\n" +
			"sequence: starts the target, drives the workload, applies and reverts the faults on\n" +
			"schedule, judges SLOs, probes and checks, and writes the output folder. The exit\n" +
			"code is the worst verdict. The first Ctrl-C (or SIGTERM, SIGHUP, SIGQUIT, or a closed\n" +
			"stdout) reverts every fault and exits 3; a second one cannot skip the revert.\n\n" +
			"With --repeat N (or repeat: N in the file) each experiment runs N times with seeds S,\n" +
			"S+1, ..., each run in its own folder inside one parent folder, which also holds the\n" +
			"aggregate (result.json, summary.md, junit.xml): the pass rate with its Wilson 95 %\n" +
			"interval, the SLOs' budget consumed (median, min, max), the checks' verdicts, and\n" +
			"flaky when the runs' verdicts differ. The verdict and exit code follow\n" +
			"--require-pass-rate, and the report says which rule decided.\n\n" + rampHelp +
			"With --control (or control: true in the file) each run is preceded by a fault-free\n" +
			"control run (same seed, target and workload, same runtime) into OUT/control; each\n" +
			"availability and latency SLO's per-second series is then compared between the two\n" +
			"(Mann-Whitney U, the shift or error-ratio change with its 95 % interval). With\n" +
			"degradation: {latency: 20ms, errors: 0.5%} in the file, an SLO fails when it got\n" +
			"significantly worse (p < 0.05) and the whole interval lies above its limit, and an\n" +
			"SLO that failed in the control run too is judged by that rule alone. A ramp takes\n" +
			"no control run.\n\n" +
			"   chaosctl run examples/quickstart.yaml\n" +
			"   chaosctl run --dry-run examples/quickstart.yaml --seed 7\n" +
			"   chaosctl run --repeat 10 --require-pass-rate 90% examples/quickstart.yaml\n" +
			"   chaosctl run examples/margin-latency.yaml   # a ramp: the breaking point and the margin\n" +
			"   chaosctl run --control examples/control.yaml\n\n" + exitCodesHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "target", Usage: "the `RUNTIME` of the demo cluster: " + e.targetUsage() + " (overrides target.runtime; docker needs a reachable engine and a static chaosctl, as 'make build' makes it; kubernetes needs a cluster ($KUBECONFIG or target.kubernetes) whose nodes have chaosctl's image and whose pod IPs this host reaches)"},
			&cli.StringFlag{Name: "out", Usage: "output folder (default chaosctl-out/<name>-<UTC time>, a repeat's chaosctl-out/<name>-repeat-<UTC time>, a ramp's chaosctl-out/<name>-ramp-<UTC time>; with several files, one subfolder each)"},
			&cli.Int64Flag{Name: "seed", Usage: "seed for every random choice (overrides the file's seed); with --repeat, the first run's; in a ramp, every step's", DefaultText: "the file's seed:, else chosen at random and printed"},
			&cli.IntFlag{Name: "repeat", Usage: fmt.Sprintf("run each experiment N times, with seeds S, S+1, ..., S+N-1, and judge the runs together (1 to %d; overrides the file's repeat:)", experiments.MaxRepeat), DefaultText: "the file's repeat:, else 1"},
			&cli.StringFlag{Name: "require-pass-rate", Value: "1", Usage: "with --repeat: the pass rate the runs must reach, a fraction (0.9) or a percentage (90%); fewer passes fail, too many inconclusive runs to tell exit 4"},
			&cli.BoolFlag{Name: "control", Usage: "run a fault-free control run (same seed, target and workload) before each run, into OUT/control, and compare each SLO's per-second series with it (overrides the file's control:; the file's degradation: limits decide)", DefaultText: "the file's control:, else false"},
			&cli.BoolFlag{Name: "dry-run", Usage: "validate, resolve targets and print the plan; change nothing"},
			ledgerDirFlag(),
			&cli.StringFlag{Name: "junit", Usage: "also write one combined JUnit XML file for every experiment run"},
			checkBudgetFlag("the linearizability check"),
			prometheusURLFlag(),
			annotateFlag(),
			outputFlag(),
			setFlag(),
		},
		Action: func(c *cli.Context) error { return runExperiments(c, e) },
	}
}

// ledgerDirFlag is --state-dir of the commands that journal or recover
// faults.
func ledgerDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "state-dir", EnvVars: []string{"CHAOSCTL_STATE_DIR"}, Usage: "where the fault ledger lives (default: the user's state directory)"}
}

// checkBudgetFlag is --check-budget; what names the checks it bounds.
func checkBudgetFlag(what string) cli.Flag {
	return &cli.DurationFlag{Name: "check-budget", Value: runner.DefaultCheckBudget, Usage: "time allowed to " + what + "; past it the check is inconclusive"}
}

// annotateFlag is --annotate of the commands that run experiments.
func annotateFlag() cli.Flag {
	return &cli.StringFlag{Name: "annotate", EnvVars: []string{"CHAOSCTL_ANNOTATE_URL"}, Usage: "post each run's fault windows as annotations to this Grafana-compatible API (POST URL/api/annotations; token from $" + annotateTokenEnv + "); a failure is a warning"}
}

// annotateTokenEnv holds the bearer token of --annotate.
const annotateTokenEnv = "CHAOSCTL_ANNOTATE_TOKEN"

func prometheusURLFlag() cli.Flag {
	return &cli.StringFlag{Name: "prometheus-url", EnvVars: []string{"CHAOSCTL_PROMETHEUS_URL"}, Usage: "Prometheus server for prometheus probes and ratio SLOs that name none"}
}

// runSettings are the flags run, explore and gameday share, as the runner
// takes them (Log is the caller's to set), with the progress line. A bad
// --annotate URL is a usage error.
func runSettings(c *cli.Context, e *env) (runner.Settings, error) {
	s := runner.Settings{
		Runtime: c.String("target"), OutDir: c.String("out"), StateDir: c.String("state-dir"), Version: chaosctlVersion(),
		MemberLogLevel: c.String("log-level"), PrometheusURL: c.String("prometheus-url"), CheckBudget: c.Duration("check-budget"),
	}
	if u := c.String("annotate"); u != "" {
		if err := annotate.CheckURL(u); err != nil {
			return s, usageError(fmt.Errorf("--annotate: %w", err))
		}
		s.AnnotateURL, s.AnnotateToken = u, os.Getenv(annotateTokenEnv)
	}
	if c.IsSet("seed") {
		seed := c.Int64("seed")
		s.Seed = &seed
	}
	s.Progress = e.progressLine()
	return s, nil
}

// progressLine is how a run shows its progress: redrawn below the logs on
// a terminal, else a plain log line every statusline.DefaultInterval.
func (e *env) progressLine() runner.ProgressLine {
	if e.progress != nil {
		return e.progress
	}
	return e.plainProgress()
}

// plainProgress logs the progress line every statusline.DefaultInterval.
func (e *env) plainProgress() runner.ProgressLine {
	return statusline.NewPlain(func(line string) { e.log.Info("progress " + line) }, statusline.DefaultInterval)
}

// expandFiles lists the files args name: a file itself, a folder its *.yaml
// and *.yml files.
func expandFiles(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, usageError(fmt.Errorf("experiment %s: %w", a, err))
		}
		if !fi.IsDir() {
			files = append(files, a)
			continue
		}
		var found []string
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(a, pat))
			found = append(found, m...)
		}
		sort.Strings(found)
		if len(found) == 0 {
			return nil, usageError(fmt.Errorf("folder %s has no *.yaml experiment", a))
		}
		files = append(files, found...)
	}
	return files, nil
}

// loadAll validates every file (folders: their *.yaml and *.yml) and reports
// every problem; nothing runs if one file is invalid.
func loadAll(e *env, args []string, o experiments.DecodeOptions) (files []string, exps []*experiments.Experiment, sources [][]byte, err error) {
	if len(args) == 0 {
		return nil, nil, nil, usageError(errors.New("no experiment file given; usage: chaosctl run FILE|DIR..."))
	}
	if files, err = expandFiles(args); err != nil {
		return nil, nil, nil, err
	}
	bad := 0
	for _, f := range files {
		src, rerr := experiments.ReadFile(f)
		var x *experiments.Experiment
		if rerr == nil {
			x, rerr = decodeExperiment(f, src, o)
		}
		if rerr != nil {
			bad++
			fmt.Fprintln(e.stderr, rerr)
			continue
		}
		exps = append(exps, x)
		sources = append(sources, x.ResolvedSource(src))
	}
	if bad > 0 {
		return nil, nil, nil, &exitError{code: exitUsage, err: fmt.Errorf("%d of %d files invalid; nothing was started", bad, len(files)), reported: false}
	}
	return files, exps, sources, nil
}

func runExperiments(c *cli.Context, e *env) (err error) {
	asJSON, err := jsonOutput(c)
	if err != nil {
		return err
	}
	if asJSON && c.Bool("dry-run") {
		return usageError(errors.New("--dry-run prints the plan as text; --output json applies to a run's results"))
	}
	files, exps, sources, err := loadAll(e, c.Args().Slice(), decodeOptions(c))
	if err != nil {
		return err
	}
	if err := e.checkTarget(c.String("target")); err != nil {
		return err
	}
	settings, err := runSettings(c, e)
	if err != nil {
		return err
	}
	// text is where the human-readable results go: stdout, or nowhere when
	// stdout holds the JSON document instead.
	text := e
	if asJSON {
		quiet := *e
		quiet.stdout = io.Discard
		text = &quiet
		settings.Progress = text.plainProgress()
	}
	required, err := repeatPolicy(c)
	if err != nil {
		return err
	}
	for i, x := range exps {
		if controlled(c, x) && !x.Comparable() {
			return usageError(fmt.Errorf("--control: %s has no availability or latency SLO whose per-second series a control run could be compared with; add one under slos", files[i]))
		}
	}
	if c.Bool("dry-run") {
		for i, x := range exps {
			// The seed the plan is drawn with: --seed, else the file's,
			// else one chosen now, which a run without --seed would not
			// choose again: the plan says how to run it.
			s := settings.SeedFor(x.Seed)
			if settings.Seed == nil && x.Seed == nil {
				fmt.Fprintf(e.stdout, "# seed %d: chosen at random (no --seed, no seed: in %s); a run picks its own and prints it; to run this plan: --seed %d\n", s, files[i], s)
			}
			if x.Ramp != nil {
				if i > 0 {
					fmt.Fprintln(e.stdout)
				}
				if err := ramp.Describe(e.stdout, x, files[i], sources[i], s, max(rampRunsPerStep(c), x.Ramp.Repeat)); err != nil {
					return usageError(fmt.Errorf("%s: %w", files[i], err))
				}
				continue
			}
			runs := repeats(c, x)
			for r := range runs {
				p, err := x.Plan(s + int64(r))
				if err != nil {
					return usageError(fmt.Errorf("%s: seed %d: %w", files[i], s+int64(r), err))
				}
				if i > 0 || r > 0 {
					fmt.Fprintln(e.stdout)
				}
				if runs > 1 {
					fmt.Fprintf(e.stdout, "# run %d of %d\n", r+1, runs)
				}
				switch {
				case controlled(c, x) && !x.Control:
					fmt.Fprintf(e.stdout, "# --control: %s\n", experiments.ControlLine(x.Degradation))
				case !controlled(c, x) && x.Control:
					fmt.Fprintln(e.stdout, "# --control=false: no control run, whatever the file's control: says")
				}
				if err := p.Format(e.stdout); err != nil {
					return err
				}
			}
		}
		return nil
	}

	// The first signal cancels the run, which reverts every fault; later
	// signals are only acknowledged: nothing may skip the revert.
	ctx, stop := cancelOnSignal(c.Context, e,
		"interrupted: reverting every fault, then exiting (code 3)",
		"still reverting faults; chaosctl exits as soon as every fault is reverted")
	defer stop()

	worst := exitPass
	ran := runOutputJSON{Runs: []*runJSON{}}
	if asJSON {
		// Printed however the runs end (an interruption too), with the
		// exit code chaosctl exits with.
		defer func() {
			ran.ExitCode = exitCode(err)
			if perr := printJSON(e.stdout, ran); perr != nil && err == nil {
				err = perr
			}
		}()
	}
	var results []report.JUnitEntry
	// The combined JUnit file is written whatever happens after a run.
	defer func() {
		if path := c.String("junit"); path != "" && len(results) > 0 {
			if err := report.WriteJUnitEntriesFile(path, results...); err != nil {
				e.log.WithError(err).Error("write the JUnit file")
			}
		}
	}()
	for i, x := range exps {
		opts := runner.RunOptions{File: files[i], Source: sources[i], Settings: settings}
		opts.Variables = x.Variables
		if opts.OutDir != "" && len(exps) > 1 {
			opts.OutDir = filepath.Join(opts.OutDir, x.Metadata.Name)
		}
		opts.Log = e.log.WithField("experiment", x.Metadata.Name)
		var (
			one *runJSON
			err error
		)
		withControl := controlled(c, x)
		if x.Ramp != nil && withControl {
			return usageError(fmt.Errorf("%s: --control: a ramp's steps are not compared with a control run; run the ramp without it", files[i]))
		}
		if x.Ramp != nil {
			var entry *report.JUnitEntry
			one, entry, err = runRamp(ctx, text, x, opts, rampRunsPerStep(c), required)
			if entry != nil {
				results = append(results, *entry)
			}
		} else if runs := repeats(c, x); runs > 1 {
			var entry *report.JUnitEntry
			one, entry, err = runRepeat(ctx, text, x, opts, runs, required, withControl)
			if entry != nil {
				results = append(results, *entry)
			}
		} else {
			var outcome *runner.Outcome
			if withControl {
				outcome, err = control.Run(ctx, x, control.Options{RunOptions: opts, OnControl: func(o *runner.Outcome) {
					printControlRun(text, o)
				}})
			} else {
				outcome, err = runner.Run(ctx, x, opts)
			}
			if outcome != nil && outcome.Result != nil {
				results = append(results, report.JUnitEntry{Result: outcome.Result})
				_ = report.Terminal(text.stdout, outcome.Result, e.colour)
				fmt.Fprintf(text.stdout, "output: %s\n", outcome.Dir)
				one = newRunJSON("run", files[i], outcome.Result.Experiment, outcome.Result.Header, outcome.Dir)
			}
		}
		if errors.Is(err, runner.ErrUsage) {
			return usageError(fmt.Errorf("%s: %w", files[i], err))
		}
		code := exitPass
		if one != nil && one.Verdict != "" {
			code = verdictCode(one.Verdict)
		}
		if one != nil {
			if err != nil {
				one.Error = err.Error()
			}
			ran.Runs = append(ran.Runs, one)
		}
		if ended, ok := runEndCode(err); ok {
			return &exitError{code: ended, err: err}
		}
		if e.outputLost.IsLost() {
			// Nothing more can be shown: stop as after a signal.
			return &exitError{code: exitInterrupted, err: fmt.Errorf("%s: stdout was closed; nothing more runs", files[i])}
		}
		switch {
		case errors.Is(err, runner.ErrEnvironment):
			code = exitEnvironment
			fmt.Fprintf(e.stderr, "chaosctl: %s: %v\n", files[i], err)
		case err != nil:
			return withCode(exitEnvironment, fmt.Errorf("%s: %w", files[i], err))
		}
		if one != nil {
			one.ExitCode = code
		}
		worst = worseCode(worst, code)
	}
	if worst != exitPass {
		return &exitError{code: worst, reported: true}
	}
	return nil
}

// controlled reports whether x runs after a control run: --control, else
// the file's control:.
func controlled(c *cli.Context, x *experiments.Experiment) bool {
	if c.IsSet("control") {
		return c.Bool("control")
	}
	return x.Control
}

// printControlRun says how the control run ended, before the experiment
// starts.
func printControlRun(e *env, o *runner.Outcome) {
	if o == nil || o.Result == nil {
		return
	}
	fmt.Fprintf(e.stdout, "control run (no faults) %s — %s\noutput: %s\n", o.Result.Verdict, o.Result.Reason, o.Dir)
}

// repeats is how many times x runs: --repeat, else the file's repeat:.
func repeats(c *cli.Context, x *experiments.Experiment) int {
	if c.IsSet("repeat") {
		return c.Int("repeat")
	}
	return max(x.Repeat, 1)
}

// repeatPolicy checks --repeat and reads --require-pass-rate.
func repeatPolicy(c *cli.Context) (float64, error) {
	if c.IsSet("repeat") && (c.Int("repeat") < 1 || c.Int("repeat") > experiments.MaxRepeat) {
		return 0, usageError(fmt.Errorf("--repeat %d: allowed are 1 to %d", c.Int("repeat"), experiments.MaxRepeat))
	}
	required, err := repeat.ParsePassRate(c.String("require-pass-rate"))
	if err != nil {
		return 0, usageError(fmt.Errorf("--require-pass-rate: %w", err))
	}
	return required, nil
}

// runRepeat runs x runs times (repeat.Repeat) with opts' settings (each
// run after a control run of its own with withControl), printing
// a line per run and the aggregate table on stdout, and returns the
// aggregate verdict ("" when nothing ran), the repeat for the combined
// JUnit file (nil when nothing ran) and the repeat's error.
func runRepeat(ctx context.Context, e *env, x *experiments.Experiment, opts runner.RunOptions, runs int, required float64, withControl bool) (*runJSON, *report.JUnitEntry, error) {
	var results []*report.Result
	var run runner.RunFunc
	if withControl {
		// Each run of the repeat gets a control run of its own, with its seed.
		run = control.With(runner.Run)
	}
	out, err := repeat.Repeat(ctx, x, repeat.Options{File: opts.File, Source: opts.Source, Settings: opts.Settings, Runs: runs, Required: required, Run: run,
		OnRun: func(r repeat.Run) {
			results = append(results, r.Result)
			fmt.Fprintf(e.stdout, "run %d of %d  seed %d  %s — %s\n", r.Run, runs, r.Seed, r.Verdict, r.Reason)
		}})
	if out == nil {
		return nil, nil, err
	}
	_ = report.RepeatTerminal(e.stdout, out.Result)
	fmt.Fprintf(e.stdout, "output: %s\n", out.Dir)
	return newRunJSON("repeat", opts.File, out.Result.Experiment, out.Result.Header, out.Dir), &report.JUnitEntry{Repeat: out.Result, Runs: results}, err
}

func verdictCode(v string) int {
	switch v {
	case report.Pass:
		return exitPass
	case report.Fail:
		return exitFail
	default:
		return exitInconclusive
	}
}

// worseCode orders exit codes by severity: environment > fail > inconclusive > pass.
func worseCode(a, b int) int {
	rank := map[int]int{exitPass: 0, exitInconclusive: 1, exitFail: 2, exitEnvironment: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func validateCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check experiment files; errors are FILE:LINE:COL: message",
		ArgsUsage: "FILE|DIR...",
		Flags:     []cli.Flag{outputFlag(), setFlag()},
		Action: func(c *cli.Context) error {
			asJSON, err := jsonOutput(c)
			if err != nil {
				return err
			}
			return validateFiles(e, c.Args().Slice(), asJSON, decodeOptions(c))
		},
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func reportCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "render the reports of a run from its output folder",
		ArgsUsage: "DIR",
		Description: "Reads result.json, journal.ndjson and experiment.yaml from a run's output folder and\n" +
			"writes report.html (self-contained, charts as SVG), summary.md and junit.xml there.\n" +
			"Given a repeat's parent folder (run --repeat), re-renders its summary.md and junit.xml.\n" +
			"Given a ramp's parent folder, re-renders its report.html, summary.md and junit.xml.\n" +
			"Given a GameDay's output folder, re-renders gameday.html and gameday.md from gameday.json.\n" +
			"Reads only regular files, journal.ndjson up to 1 GiB and the others up to 64 MiB: a\n" +
			"FIFO, a device (or a link to one) or a larger file is refused unread, exit 2.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "format", Usage: "html, md or junit (repeatable; default: all)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError(errors.New("report takes one output folder: chaosctl report DIR"))
			}
			dir := c.Args().First()
			var formats []string
			for _, f := range c.StringSlice("format") {
				for _, one := range strings.Split(f, ",") {
					formats = append(formats, strings.TrimSpace(one))
				}
			}
			for _, f := range formats {
				if !slices.Contains(report.Formats(), f) {
					return usageError(fmt.Errorf("--format %q: allowed are %s", f, strings.Join(report.Formats(), ", ")))
				}
			}
			if _, err := os.Stat(filepath.Join(dir, gameday.FileJSON)); err == nil {
				// A GameDay's folder: its page and summary; each step's own
				// folder re-renders with chaosctl report DIR/steps/NN-NAME.
				if len(formats) > 0 {
					return usageError(errors.New("--format applies to an experiment's folder; a GameDay's folder renders gameday.html and gameday.md"))
				}
				if err := gameday.Render(dir); err != nil {
					return renderError(err)
				}
				fmt.Fprintln(e.stdout, filepath.Join(dir, gameday.FileHTML))
				fmt.Fprintln(e.stdout, filepath.Join(dir, gameday.FileMarkdown))
				return nil
			}
			if _, err := os.Stat(filepath.Join(dir, "result.json")); err != nil {
				return usageError(fmt.Errorf("%s is not the output folder of a run or a GameDay: %w", dir, err))
			}
			if _, isRamp, _ := report.ReadRampJSON(dir); isRamp {
				// A ramp's parent folder; each step's own folder re-renders
				// with chaosctl report DIR/steps/NN-VALUE.
				if len(formats) > 0 {
					return usageError(errors.New("--format applies to a run's folder; a ramp's folder renders report.html, summary.md and junit.xml"))
				}
				if err := report.RenderRamp(dir); err != nil {
					return renderError(err)
				}
				for _, name := range []string{report.FileHTML, report.FileMarkdown, report.FileJUnit} {
					fmt.Fprintln(e.stdout, filepath.Join(dir, name))
				}
				return nil
			}
			if _, isRepeat, _ := report.ReadRepeatJSON(dir); isRepeat {
				// A repeat's parent folder: its summary and JUnit file; each
				// run's own folder re-renders with chaosctl report DIR/runs/NNN-seed-S.
				if len(formats) > 0 {
					return usageError(errors.New("--format applies to a run's folder; a repeat's folder renders summary.md and junit.xml"))
				}
				if err := report.RenderRepeat(dir); err != nil {
					return renderError(err)
				}
				fmt.Fprintln(e.stdout, filepath.Join(dir, report.FileMarkdown))
				fmt.Fprintln(e.stdout, filepath.Join(dir, report.FileJUnit))
				return nil
			}
			if err := report.Render(dir, formats...); err != nil {
				return renderError(err)
			}
			if len(formats) == 0 {
				formats = report.Formats()
			}
			for _, f := range formats {
				name, _ := report.FormatFile(f)
				fmt.Fprintln(e.stdout, filepath.Join(dir, name))
			}
			return nil
		},
	}
}

// renderError is the exit of a report that could not be rendered: a file
// of the folder refused unread (a FIFO, a device, or one above its limit)
// is invalid input, exit 2; any other failure exit 5.
func renderError(err error) error {
	var refused *regularfile.Error
	if errors.As(err, &refused) {
		return usageError(err)
	}
	return withCode(exitEnvironment, err)
}

// stopSignals end a command that serves or runs until told: Ctrl-C,
// SIGTERM, a closed terminal (SIGHUP) and Ctrl-\ (SIGQUIT, whose default
// in Go, a goroutine dump and exit 2, would skip the revert).
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// cancelOnSignal returns a context that the first of stopSignals, or stdout
// being lost (e.outputLost: a write failed, or its reader went away, which
// is looked at every guardedio.WatchInterval until stop), cancels (logging first); later signals are only
// acknowledged (logging later), so nothing can skip the revert that
// cancelling starts. stop releases the signals.
//
// A panic in either of its goroutines cancels ctx too, with the
// *crash.Panic as its cause, so the command reverts and ends; runMain then
// exits 6 (see env.crashed).
func cancelOnSignal(parent context.Context, e *env, first, later string) (ctx context.Context, stop func()) {
	ctx, cancelCause := context.WithCancelCause(parent)
	cancel := func() { cancelCause(nil) }
	crashed := func(p *crash.Panic) { e.goroutineCrashed(p, cancelCause) }
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, stopSignals...)
	stopped := make(chan struct{})
	var lost <-chan struct{}
	if e.outputLost != nil {
		lost = e.outputLost.Done()
		// A reader that goes away is noticed while nothing is written too.
		if f := e.stdoutFile(); f != nil {
			go func() {
				defer crash.Recover("the stdout watcher", crashed)
				e.outputLost.Watch(ctx, f, guardedio.WatchInterval)
			}()
		}
	}
	go func() {
		defer crash.Recover("the signal watcher", crashed)
		if signalWatcherHook != nil {
			signalWatcherHook()
		}
		n := 0
		for {
			var why string
			select {
			case <-stopped:
				return
			case sig := <-sigs:
				why = sig.String()
			case <-lost:
				lost = nil
				why = "stdout closed"
			}
			n++
			if n == 1 {
				e.log.WithField("signal", why).Warn(first)
				cancel()
				continue
			}
			e.log.WithField("signal", why).Warn(later)
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(stopped)
		cancel()
	}
}
