package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/runner"
	"github.com/chaosctl/chaosctl/slo"
)

func checkCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "check recorded histories for linearizability, session guarantees, mutual exclusion or the convergence of CRDT values, offline",
		ArgsUsage: "HISTORY...",
		Description: "Reads each history — a run's history.ndjson (written by chaosctl run) or a Jepsen\n" +
			"register log (:invoke/:ok/:fail/:info lines with :read, :write, :cas, as in the\n" +
			"published etcd histories) — and checks it with porcupine against a register model,\n" +
			"per key. Exit 0 when every history is linearizable, 1 when one is not, 4 when a\n" +
			"check ran out of its time budget or had nothing to check, 2 when a history is not a\n" +
			"regular file (a FIFO, a device) or is larger than 1 GiB: it is refused unread.\n" +
			"--check read-your-writes or monotonic-reads (repeatable) judges the session\n" +
			"guarantees instead, per client (the history's client, a Jepsen log's process).\n" +
			"--check mutual-exclusion reads a lock workload's history.ndjson instead and checks\n" +
			"that no stale holder's write was accepted after a newer token's (docs/checks.md).\n" +
			"A history of a counter, lww-counter or set workload (CRDT values) is judged by converges instead,\n" +
			"against the replicas' read-back the run wrote beside it (crdt-final.json).",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "time-budget", Value: runner.DefaultCheckBudget, Usage: "time allowed per history; past it the verdict is inconclusive"},
			&cli.StringSliceFlag{Name: "check", Aliases: []string{"checker"}, Usage: "`CHECK` to run: linearizable, read-your-writes, monotonic-reads (repeatable), or mutual-exclusion alone (a lock workload's history); default: linearizable"},
			&cli.StringFlag{Name: "html", Usage: "write porcupine's visualisation of a violation into this folder (one file per history)"},
			outputFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usageError(errors.New("no history given; usage: chaosctl check HISTORY..."))
			}
			if c.Duration("time-budget") <= 0 {
				return usageError(fmt.Errorf("--time-budget %s: must be above 0", c.Duration("time-budget")))
			}
			asJSON, err := jsonOutput(c)
			if err != nil {
				return err
			}
			checks, err := checkNames(c.StringSlice("check"))
			if err != nil {
				return usageError(err)
			}
			if slices.Contains(checks, string(experiments.CheckMutualExclusion)) {
				if len(checks) > 1 {
					return usageError(errors.New("--check mutual-exclusion reads a lock workload's history: give it alone"))
				}
				return checkMutualExclusion(e, c.Args().Slice(), asJSON)
			}
			worst := exitPass
			var checked []checkJSON
			// addSessions runs the session checks named in checks on path.
			addSessions := func(path string) error {
				ones, err := checkSessions(e, path, checks, asJSON)
				if err != nil {
					return err
				}
				for _, one := range ones {
					worst = worseCode(worst, verdictCode(one.Verdict))
				}
				checked = append(checked, ones...)
				return nil
			}
			for _, path := range c.Args().Slice() {
				if cres, isCRDT, err := slo.CheckConvergesFile(path); err != nil {
					return usageError(fmt.Errorf("check %s: %w", path, err))
				} else if isCRDT {
					one := convergesJSON(path, cres)
					if !asJSON {
						fmt.Fprintf(e.stdout, "%s: converges %s — %d CRDT values, %d acknowledged updates: %s\n", path, cres.Verdict, cres.Values, cres.Acknowledged, cres.Detail)
						for _, v := range one.Violations {
							fmt.Fprintf(e.stdout, "  %s\n", v)
						}
					}
					worst = worseCode(worst, verdictCode(string(cres.Verdict)))
					checked = append(checked, one)
					continue
				}
				if !slices.Contains(checks, string(experiments.CheckLinearizable)) {
					if err := addSessions(path); err != nil {
						return err
					}
					continue
				}
				res, err := slo.CheckFile(path, c.Duration("time-budget"))
				if err != nil {
					return usageError(fmt.Errorf("check %s: %w", path, err))
				}
				detail := strings.TrimSpace(res.Detail)
				if len(res.Violations) > 0 {
					detail = fmt.Sprintf("%d of %d keys cannot be ordered", len(res.BadKeys), res.Keys)
				}
				one := checkJSON{History: path, Verdict: string(res.Verdict), Operations: res.Operations, Keys: res.Keys, Detail: detail,
					Took: jsonDuration(res.Took.Round(time.Millisecond)), Budget: jsonDuration(res.Budget), BadKeys: res.BadKeys, Violations: []string{}}
				for i, v := range res.Violations {
					if i == slo.MaxListed {
						break
					}
					one.Violations = append(one.Violations, v.String())
				}
				if !asJSON {
					fmt.Fprintf(e.stdout, "%s: %s — %d operations on %d keys: %s (%s)\n", path, res.Verdict, res.Operations, res.Keys, detail, res.Took.Round(time.Millisecond))
					for _, v := range one.Violations {
						fmt.Fprintf(e.stdout, "  %s\n", v)
					}
				}
				if dir := c.String("html"); dir != "" && res.Verdict == slo.Fail {
					if err := os.MkdirAll(dir, 0o755); err != nil {
						return withCode(exitEnvironment, err)
					}
					out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))+".html")
					if err := slo.WriteVisualization(res, out); err != nil {
						return withCode(exitEnvironment, err)
					}
					one.Visualisation = out
					if !asJSON {
						fmt.Fprintf(e.stdout, "  visualisation: %s\n", out)
					}
				}
				worst = worseCode(worst, verdictCode(string(res.Verdict)))
				checked = append(checked, one)
				if len(checks) > 1 {
					if err := addSessions(path); err != nil {
						return err
					}
				}
			}
			return endCheck(e, checked, worst, asJSON)
		},
	}
}

// convergesJSON is a CRDT history's converges check (Keys counts its values).
func convergesJSON(path string, res slo.ConvergesResult) checkJSON {
	one := checkJSON{History: path, Check: "converges", Verdict: string(res.Verdict), Operations: res.Acknowledged, Keys: res.Values,
		Detail: res.Detail, Violations: []string{}}
	for _, a := range res.Anomalies {
		one.Violations = append(one.Violations, a.String())
	}
	return one
}

// checkOutputJSON is `check --output json`.
type checkOutputJSON struct {
	Histories []checkJSON `json:"histories"`
	ExitCode  int         `json:"exitCode"`
}

// checkJSON is one history's check.
type checkJSON struct {
	History string `json:"history"`
	// Check is the check that judged the history: a session checker's name,
	// or converges for a counter or set workload's (with the read-back beside
	// it); absent for linearizable.
	Check         string       `json:"check,omitempty"`
	Verdict       string       `json:"verdict"`
	Operations    int          `json:"operations"`
	Keys          int          `json:"keys"`
	Detail        string       `json:"detail"`
	Took          jsonDuration `json:"took"`
	Budget        jsonDuration `json:"budget"`
	BadKeys       []string     `json:"badKeys,omitempty"`
	Violations    []string     `json:"violations"`
	Visualisation string       `json:"visualisation,omitempty"`
}

// checkMutualExclusion is `check --check mutual-exclusion`.
func checkMutualExclusion(e *env, paths []string, asJSON bool) error {
	worst := exitPass
	var checked []checkJSON
	for _, path := range paths {
		t0 := time.Now()
		res, err := slo.CheckMutualExclusionFile(path)
		if err != nil {
			return usageError(fmt.Errorf("check %s: %w", path, err))
		}
		rep := runner.MutexCheckResult(res, time.Since(t0))
		one := checkJSON{History: path, Verdict: rep.Verdict, Operations: rep.Operations, Detail: rep.Detail,
			Took: jsonDuration(time.Since(t0).Round(time.Millisecond)), Violations: append([]string{}, rep.Listed...)}
		if !asJSON {
			fmt.Fprintf(e.stdout, "%s: %s — %d accepted writes: %s\n", path, rep.Verdict, rep.Operations, rep.Detail)
			for _, v := range one.Violations {
				fmt.Fprintf(e.stdout, "  %s\n", v)
			}
		}
		worst = worseCode(worst, verdictCode(rep.Verdict))
		checked = append(checked, one)
	}
	return endCheck(e, checked, worst, asJSON)
}

// endCheck ends a check command: the JSON document of every history checked
// when asJSON, and the worst verdict's exit code.
func endCheck(e *env, checked []checkJSON, worst int, asJSON bool) error {
	if asJSON {
		if err := printJSON(e.stdout, checkOutputJSON{Histories: checked, ExitCode: worst}); err != nil {
			return err
		}
	}
	if worst != exitPass {
		return &exitError{code: worst, reported: true}
	}
	return nil
}

// sessionCheckers are the checkers of `check --check` besides linearizable.
var sessionCheckers = map[string]func([]slo.Op) slo.SessionResult{
	string(experiments.CheckReadYourWrites): slo.CheckReadYourWrites,
	string(experiments.CheckMonotonicReads): slo.CheckMonotonicReads,
}

// checkNames validates --check: linearizable when none is given.
func checkNames(given []string) ([]string, error) {
	if len(given) == 0 {
		return []string{string(experiments.CheckLinearizable)}, nil
	}
	var out []string
	for _, g := range given {
		for _, name := range strings.Split(g, ",") {
			name = strings.TrimSpace(name)
			if _, ok := sessionCheckers[name]; !ok && name != string(experiments.CheckLinearizable) && name != string(experiments.CheckMutualExclusion) {
				return nil, fmt.Errorf("--check %q: allowed values: linearizable, read-your-writes, monotonic-reads, mutual-exclusion", name)
			}
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out, nil
}

// checkSessions runs the session checkers among checks on the history at
// path, printing each verdict unless asJSON.
func checkSessions(e *env, path string, checks []string, asJSON bool) ([]checkJSON, error) {
	ops, _, err := slo.ReadHistoryPath(path)
	if err != nil {
		return nil, usageError(fmt.Errorf("check %s: %w", path, err))
	}
	var out []checkJSON
	for _, name := range checks {
		fn, ok := sessionCheckers[name]
		if !ok {
			continue
		}
		t0 := time.Now()
		res := fn(ops)
		took := time.Since(t0).Round(time.Millisecond)
		one := checkJSON{History: path, Check: name, Verdict: string(res.Verdict), Operations: res.Judged, Detail: res.Detail,
			Took: jsonDuration(took), Violations: []string{}}
		for _, a := range res.Anomalies {
			one.Violations = append(one.Violations, a.String())
		}
		if !asJSON {
			fmt.Fprintf(e.stdout, "%s: %s %s — %s (%s)\n", path, name, res.Verdict, res.Detail, took)
			for _, v := range one.Violations {
				fmt.Fprintf(e.stdout, "  %s\n", v)
			}
		}
		out = append(out, one)
	}
	return out, nil
}
