package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/experiments/runner"
	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets/runtimes"
)

func recoverCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "recover",
		Usage: "revert every fault a killed chaosctl left behind",
		Description: "Reads the fault ledger in the state directory and, for every run whose chaosctl is\n" +
			"gone without finishing, runs the rollbacks of its started actions that had not run\n" +
			"(newest first, each once), resumes and stops its member processes, deletes its proxies\n" +
			"and removes its temporary folder, then says what it did. A command member of\n" +
			"target.external goes with its whole process group and every process it started\n" +
			"(thawed, then killed; a pid another process reused is never signalled); a user's\n" +
			"container member is unpaused when chaosctl paused it and started again when\n" +
			"chaosctl killed or stopped it, and containers the ledger does not name are never\n" +
			"touched. Then it redacts what the run's members wrote to their logs: the values of the\n" +
			"${secret:NAME} references of the run's experiment.yaml, read from this environment\n" +
			"(run recover with the run's secret variables set; values written literally in the\n" +
			"file cannot be found again). Safe to run any time: runs still in progress are left alone, and a\n" +
			"second recover finds nothing to do.\n" +
			"Ledger lines torn by a crash mid-write are skipped (and counted); a ledger that is\n" +
			"not yours or that group or others may access is refused (exit 5: chmod 600 it);\n" +
			"only folders chaosctl itself created in the temporary directory are removed.",
		Flags: []cli.Flag{
			ledgerDirFlag(),
		},
		Action: func(c *cli.Context) error {
			dir, err := stateDirOf(c)
			if err != nil {
				return err
			}
			return recoverStateDir(c, e, dir)
		},
	}
}

// stateDirOf is --state-dir, or the user's state directory.
func stateDirOf(c *cli.Context) (string, error) {
	if dir := c.String("state-dir"); dir != "" {
		return dir, nil
	}
	dir, err := injectors.StateDir()
	if err != nil {
		return "", withCode(exitEnvironment, err)
	}
	return dir, nil
}

// recoverStateDir finishes every run of dir whose chaosctl is gone, and
// prints what it did: `chaosctl recover`, and the last step of `halt`.
func recoverStateDir(c *cli.Context, e *env, dir string) error {
	containers := &runtimes.Containers{}
	defer containers.Close()
	rep, err := injectors.RecoverWith(c.Context, dir, e.log.WithField("component", "recover"),
		injectors.RecoverOptions{Containers: containers, RedactLogs: redactLogs, ResolveRollback: resolveRollback})
	if rep != nil {
		for _, rr := range rep.Runs {
			if rr.Done { // a killed chaosctl left its plane token behind
				injectors.RemovePlaneTokenOf(rr.Ledger)
			}
		}
		printRecovery(e, rep)
		// Then what each runtime left outside the ledger's reach
		// (containers, namespaces).
		for _, rt := range e.runtimes.All() {
			if rt.Recover == nil {
				continue
			}
			lines, rerr := rt.Recover(c.Context, dir, rep)
			for _, l := range lines {
				fmt.Fprintln(e.stdout, l)
			}
			if rerr != nil && err == nil {
				err = rerr
			}
		}
	}
	var untrusted *injectors.UntrustedLedgerError
	switch {
	case errors.As(err, &untrusted):
		return withCode(exitEnvironment, fmt.Errorf("recovery refused (fix the ledger, then run recover again): %w", err))
	case err != nil:
		return withCode(exitEnvironment, fmt.Errorf("recovery incomplete (run recover again): %w", err))
	}
	return nil
}

// redactLogs replaces, in the output folder of a run a killed chaosctl
// left, the values its experiment holds secret: in what its members wrote,
// which that chaosctl could not redact at the run's end. They are never
// stored: they come anew from the copy of the experiment in the folder, its
// ${secret:NAME} references resolved from this environment, as `run` does.
// Values written literally in the file are hidden in that copy, and cannot
// be found again.
func redactLogs(rr *injectors.RunRecovery) string {
	path := filepath.Join(rr.Dir, report.FileExperiment)
	if _, err := os.Lstat(path); err != nil {
		return "" // not the output folder of an experiment's run
	}
	exp, err := experiments.Load(path)
	if err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n")
		return "NOT redacted, they may hold its secrets (" + first + "): set the run's secret variables when you run recover"
	}
	red := exp.Redactor()
	if red.Empty() {
		return ""
	}
	if err := runner.RedactFolder(rr.Dir, rr.Started.Add(-time.Second), red); err != nil {
		return "NOT fully redacted: " + err.Error()
	}
	return "redacted (the values of the run's ${secret:...} references, from this environment)"
}

func printRecovery(e *env, rep *injectors.RecoveryReport) {
	_, _ = fmt.Fprint(e.stdout, rep.String())
}

// resolveRollback reads the rollback of action again from the copy of the
// experiment in the run's folder, its ${secret:NAME} references resolved
// from this environment: the ledger's copy has their values redacted. The
// ledger's copy is run when the experiment cannot be read (or no longer
// has the action).
func resolveRollback(rr *injectors.RunRecovery, action string, recorded injectors.Step) (injectors.Step, func(string) string) {
	if rr.Dir == "" {
		return recorded, nil
	}
	exp, err := experiments.Load(filepath.Join(rr.Dir, report.FileExperiment))
	if err != nil {
		return recorded, nil
	}
	s := runner.RollbackOf(exp, action)
	if s == nil {
		return recorded, nil
	}
	return *s, exp.Redactor().String
}
