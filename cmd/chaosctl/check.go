package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/experiments/runner"
	"github.com/chaosctl/chaosctl/slo"
)

func checkCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "check recorded histories for linearizability (or mutual exclusion, or convergence of CRDT values), offline",
		ArgsUsage: "HISTORY...",
		Description: "Reads each history — a run's history.ndjson (written by chaosctl run) or a Jepsen\n" +
			"register log (:invoke/:ok/:fail/:info lines with :read, :write, :cas, as in the\n" +
			"published etcd histories) — and checks it with porcupine against a register model,\n" +
			"per key. Exit 0 when every history is linearizable, 1 when one is not, 4 when a\n" +
			"check ran out of its time budget or had nothing to check, 2 when a history is not a\n" +
			"regular file (a FIFO, a device) or is larger than 1 GiB: it is refused unread.\n" +
			"--checker mutual-exclusion reads a lock workload's history.ndjson instead and checks\n" +
			"that no stale holder's write was accepted after a newer token's (docs/checks.md).\n" +
			"A history of a counter or set workload (CRDT values) is judged by converges instead,\n" +
			"against the replicas' read-back the run wrote beside it (crdt-final.json).",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "time-budget", Value: runner.DefaultCheckBudget, Usage: "time allowed per history; past it the verdict is inconclusive"},
			&cli.StringFlag{Name: "checker", Value: "linearizable", Usage: "the check: linearizable, or mutual-exclusion (a lock workload's history)"},
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
			switch c.String("checker") {
			case "linearizable":
			case "mutual-exclusion":
				return checkMutualExclusion(e, c.Args().Slice(), asJSON)
			default:
				return usageError(fmt.Errorf("--checker %q: allowed: linearizable, mutual-exclusion", c.String("checker")))
			}
			worst := exitPass
			var checked []checkJSON
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
			}
			if asJSON {
				if err := printJSON(e.stdout, checkOutputJSON{Histories: checked, ExitCode: worst}); err != nil {
					return err
				}
			}
			if worst != exitPass {
				return &exitError{code: worst, reported: true}
			}
			return nil
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
	// Check is the check that judged the history: converges for a
	// counter or set workload's (with the read-back beside it), absent for
	// linearizable.
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

// checkMutualExclusion is `check --checker mutual-exclusion`.
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
