package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/gameday"
	"github.com/chaosctl/chaosctl/experiments/runner"
	"github.com/chaosctl/chaosctl/targets"
)

func gamedayCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "gameday",
		Usage:     "run a GameDay playbook step by step against one shared target",
		ArgsUsage: "PLAYBOOK",
		Description: "Validates the playbook and every experiment it names (nothing starts if one is\n" +
			"invalid), starts the shared target once, then runs the steps in order: experiments,\n" +
			"checkpoints, waits, and manual steps whose instructions are shown and answered with\n" +
			"[c]onfirm, [n]ote or [a]bort on stdin. --yes runs unattended (manual steps are\n" +
			"recorded as skipped); without it stdin must be a terminal. A failed experiment or\n" +
			"checkpoint stops the GameDay unless the step says continueOnFail: true. Writes\n" +
			"gameday.json, gameday.html (timeline of every step, fault, probe and note) and\n" +
			"gameday.md, with each experiment's own output in steps/<nn>-<name>/. The exit code\n" +
			"is the worst step's; an abort by the operator exits 1. The first Ctrl-C reverts\n" +
			"every fault, stops the target, writes the report and exits 3.\n\n" +
			"   chaosctl gameday examples/gameday/failure-table.yaml\n" +
			"   chaosctl gameday --yes --out gd examples/gameday/failure-table.yaml\n\n" + exitCodesHelp,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "run unattended: manual steps are recorded as skipped"},
			&cli.StringFlag{Name: "out", Usage: "output folder (default chaosctl-out/<name>-<UTC time>)"},
			&cli.Int64Flag{Name: "seed", Usage: "seed for every step (overrides the playbook's and the experiments' seeds)"},
			&cli.StringFlag{Name: "target", Usage: "the `RUNTIME` of the shared target: " + e.targetUsage() + " (overrides target.runtime)"},
			&cli.StringSliceFlag{Name: "allow-path", Usage: "let the playbook's steps name experiment files in `DIR` too (repeatable); by default only files in the playbook's folder"},
			ledgerDirFlag(),
			checkBudgetFlag("each linearizability check"),
			prometheusURLFlag(),
		},
		Action: func(c *cli.Context) error { return runGameDay(c, e) },
	}
}

func runGameDay(c *cli.Context, e *env) error {
	if c.NArg() != 1 {
		return usageError(errors.New("gameday takes one playbook: chaosctl gameday [--yes] PLAYBOOK"))
	}
	path := c.Args().First()
	gd, err := experiments.LoadGameDay(path, c.StringSlice("allow-path")...)
	var verr *experiments.ValidationError
	switch {
	case errors.As(err, &verr):
		fmt.Fprintln(e.stderr, err)
		return &exitError{code: exitUsage, err: fmt.Errorf("playbook %s invalid; nothing was started", path)}
	case err != nil:
		return usageError(err)
	}
	if err := e.checkTarget(c.String("target")); err != nil {
		return err
	}
	var operator gameday.Operator
	if !c.Bool("yes") {
		if hasManualStep(gd) && !isInteractive(e.stdin) {
			return usageError(errors.New("the playbook has manual steps and stdin is not a terminal: run it with --yes to record them as skipped"))
		}
		operator = &promptOperator{in: e.stdin, out: e.stdout}
	}

	// The first signal cancels the GameDay, which reverts every fault and
	// stops the target; later signals are only acknowledged.
	ctx, stop := cancelOnSignal(c.Context, e,
		"interrupted: reverting every fault, stopping the target, writing the report, then exiting (code 3)",
		"still cleaning up; chaosctl exits as soon as every fault is reverted")
	defer stop()

	settings := runSettings(c, e)
	settings.Log = e.log.WithField("gameday", gd.Metadata.Name)
	fmt.Fprintf(e.stdout, "GameDay %s: %d steps against the shared target\n", gd.Metadata.Name, len(gd.Steps))
	outcome, err := gameday.Run(ctx, gd, gameday.Options{
		Settings: settings, Operator: operator,
		OnStep:   func(s gameday.StepResult) { printStep(e.stdout, s, len(gd.Steps)) },
		OnTarget: func(t targets.Target) { printTarget(e.stdout, t) },
	})
	if errors.Is(err, runner.ErrUsage) {
		return usageError(fmt.Errorf("%s: %w", path, err))
	}
	if outcome != nil {
		printGameDay(e.stdout, outcome)
	}
	switch {
	case errors.Is(err, runner.ErrInterrupted):
		return &exitError{code: exitInterrupted, err: err}
	case err != nil:
		return withCode(exitEnvironment, fmt.Errorf("%s: %w", path, err))
	case outcome == nil:
		return withCode(exitEnvironment, errors.New("the GameDay produced no result"))
	}
	if code := verdictCode(outcome.Result.Verdict); code != exitPass {
		return &exitError{code: code, reported: true}
	}
	return nil
}

func hasManualStep(gd *experiments.GameDay) bool {
	for _, s := range gd.Steps {
		if s.Manual != nil {
			return true
		}
	}
	return false
}

// isInteractive reports whether r is a terminal someone can answer on.
func isInteractive(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// printTarget prints where the team can watch the shared target.
func printTarget(w io.Writer, t targets.Target) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nMEMBER\tROLE\tADDRESS\tPID")
	for _, m := range t.Members() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", m.ID, m.Role, m.Addr, m.PID)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "the workload reaches the gateways through the fault plane at %s\n", strings.Join(t.ClientAddrs(), ", "))
}

// printStep prints a step as it starts and ends.
func printStep(w io.Writer, s gameday.StepResult, total int) {
	if s.Ended == nil {
		fmt.Fprintf(w, "\n[%d/%d] %s (%s) started %s UTC\n", s.Index, total, s.Name, s.Kind, s.Started.Format("15:04:05"))
		return
	}
	fmt.Fprintf(w, "[%d/%d] %s: %s, %s (%s)\n", s.Index, total, s.Name, strings.ToUpper(s.Verdict), s.Reason,
		s.Ended.Sub(*s.Started).Round(100*time.Millisecond))
}

// printGameDay prints the closing table and where the reports are.
func printGameDay(w io.Writer, o *gameday.Outcome) {
	r := o.Result
	fmt.Fprintf(w, "\nGameDay %s: %s\n%s\n\n", r.GameDay, strings.ToUpper(r.Verdict), r.Reason)
	for _, s := range r.Steps {
		fmt.Fprintf(w, "  %2d. %-24s %-11s %-13s %s\n", s.Index, s.Name, s.Kind, strings.ToUpper(s.Verdict), firstLine(s.Reason))
	}
	fmt.Fprintf(w, "\nseed %d · report: %s\n", r.Seed, filepath.Join(o.Dir, gameday.FileHTML))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 100 {
		s = s[:99] + "…"
	}
	return s
}

// promptOperator asks the person at the terminal: it prints a manual step
// and reads [c]onfirm, [n]ote (then the note's line) or [a]bort from in.
type promptOperator struct {
	in    io.Reader
	out   io.Writer
	once  sync.Once
	lines chan string // closed at the end of input
}

func (o *promptOperator) Manual(ctx context.Context, p gameday.Prompt) (gameday.Decision, error) {
	o.once.Do(func() {
		o.lines = make(chan string)
		go func() {
			defer close(o.lines)
			sc := bufio.NewScanner(o.in)
			for sc.Scan() {
				o.lines <- sc.Text()
			}
		}()
	})
	fmt.Fprintf(o.out, "\n=== Manual step %d/%d: %s ===\n%s\n", p.Index, p.Total, p.Name, strings.TrimRight(p.Instructions, "\n"))
	if p.Expect != "" {
		fmt.Fprintf(o.out, "\nExpected observations: %s\n", strings.TrimRight(p.Expect, "\n"))
	}
	var d gameday.Decision
	for {
		fmt.Fprint(o.out, "\n[c]onfirm / [n]ote / [a]bort: ")
		line, err := o.next(ctx)
		if err != nil {
			return d, err
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "c", "confirm", "y", "yes":
			fmt.Fprintln(o.out, "confirmed.")
			return d, nil
		case "n", "note":
			fmt.Fprint(o.out, "note (one line): ")
			text, err := o.next(ctx)
			if err != nil {
				return d, err
			}
			if text = strings.TrimSpace(text); text != "" {
				d.Notes = append(d.Notes, gameday.Note{Time: time.Now().UTC(), Text: text})
				fmt.Fprintln(o.out, "noted.")
			}
		case "a", "abort":
			fmt.Fprintln(o.out, "aborting the GameDay.")
			d.Abort = true
			return d, nil
		default:
			fmt.Fprintln(o.out, "answer c (confirm), n (add a note) or a (abort the GameDay)")
		}
	}
}

func (o *promptOperator) next(ctx context.Context) (string, error) {
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case line, ok := <-o.lines:
		if !ok {
			return "", errors.New("stdin closed before the operator answered")
		}
		return line, nil
	}
}

// validateFiles is `chaosctl validate`: every experiment and GameDay
// playbook (folders: their *.yaml and *.yml) is checked and every problem
// reported.
func validateFiles(e *env, args []string, asJSON bool) error {
	if len(args) == 0 {
		return usageError(errors.New("no file given; usage: chaosctl validate FILE|DIR..."))
	}
	files, err := expandFiles(args)
	if err != nil {
		return err
	}
	bad, playbooks := 0, 0
	out := validateJSON{Files: []validatedJSON{}}
	for _, f := range files {
		one := validatedJSON{File: f, Kind: "experiment", Valid: true, Problems: []problemJSON{}}
		src, err := experiments.ReadFile(f)
		if err == nil {
			if experiments.IsGameDay(src) {
				playbooks++
				one.Kind = "gameday"
				_, err = experiments.DecodeGameDay(f, src)
			} else {
				_, err = experiments.Decode(f, src)
			}
		}
		if err != nil {
			bad++
			one.Valid, one.Problems = false, problemsJSON(f, err)
			if !asJSON {
				fmt.Fprintln(e.stderr, err)
			}
		}
		out.Files = append(out.Files, one)
	}
	if asJSON {
		out.Valid = bad == 0
		if err := printJSON(e.stdout, out); err != nil {
			return err
		}
		if bad > 0 {
			return &exitError{code: exitUsage, reported: true}
		}
		return nil
	}
	if bad > 0 {
		return &exitError{code: exitUsage, err: fmt.Errorf("%d of %d files invalid; nothing was started", bad, len(files))}
	}
	what := fmt.Sprintf("%d experiment file%s", len(files), plural(len(files)))
	if playbooks > 0 {
		what = fmt.Sprintf("%d file%s (%d GameDay playbook%s)", len(files), plural(len(files)), playbooks, plural(playbooks))
	}
	fmt.Fprintf(e.stdout, "%s valid: %s\n", what, strings.Join(files, ", "))
	return nil
}

// decodeExperiment is experiments.Decode for `chaosctl run`, which points
// GameDay playbooks to `chaosctl gameday` and a file with a nemesis and no
// faults to `chaosctl explore`.
func decodeExperiment(file string, src []byte) (*experiments.Experiment, error) {
	if experiments.IsGameDay(src) {
		return nil, fmt.Errorf("%s is a GameDay playbook; run it with chaosctl gameday %s", file, file)
	}
	x, err := experiments.Decode(file, src)
	if err != nil {
		return nil, err
	}
	if err := x.CheckRunnable(); err != nil {
		return nil, err
	}
	return x, nil
}

// validateJSON is `validate --output json`.
type validateJSON struct {
	Valid bool            `json:"valid"`
	Files []validatedJSON `json:"files"`
}

type validatedJSON struct {
	File     string        `json:"file"`
	Kind     string        `json:"kind"` // experiment or gameday
	Valid    bool          `json:"valid"`
	Problems []problemJSON `json:"problems"`
}

// problemJSON is one FILE:LINE:COL problem; line and col are 0 when the
// problem has no position (the file cannot be read).
type problemJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

// problemsJSON lists the problems err reports about file.
func problemsJSON(file string, err error) []problemJSON {
	var ve *experiments.ValidationError
	if !errors.As(err, &ve) {
		return []problemJSON{{File: file, Message: err.Error()}}
	}
	var out []problemJSON
	for _, p := range ve.Problems {
		out = append(out, problemJSON{File: p.File, Line: p.Line, Col: p.Col, Path: p.Path, Message: p.Msg})
	}
	return out
}
