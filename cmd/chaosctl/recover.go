package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/injectors"
)

func recoverCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "recover",
		Usage: "revert every fault a killed chaosctl left behind",
		Description: "Reads the fault ledger in the state directory and, for every run whose chaosctl is\n" +
			"gone without finishing, resumes and stops its member processes, deletes its proxies\n" +
			"and removes its temporary folder, then says what it did. Safe to run any time:\n" +
			"runs still in progress are left alone, and a second recover finds nothing to do.\n" +
			"Ledger lines torn by a crash mid-write are skipped (and counted); a ledger that is\n" +
			"not yours or that group or others may access is refused (exit 5: chmod 600 it);\n" +
			"only folders chaosctl itself created in the temporary directory are removed.",
		Flags: []cli.Flag{
			ledgerDirFlag(),
		},
		Action: func(c *cli.Context) error {
			dir := c.String("state-dir")
			if dir == "" {
				var err error
				if dir, err = injectors.StateDir(); err != nil {
					return withCode(exitEnvironment, err)
				}
			}
			rep, err := injectors.Recover(c.Context, dir, e.log.WithField("component", "recover"))
			if rep != nil {
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
		},
	}
}

func printRecovery(e *env, rep *injectors.RecoveryReport) {
	w := e.stdout
	for _, l := range rep.Live {
		fmt.Fprintf(w, "run %s: left alone (%s)\n", l.Run, l.Reason)
	}
	for _, l := range rep.Refused {
		fmt.Fprintf(w, "run %s: refused, nothing done (%s)\n", l.Run, l.Reason)
	}
	if len(rep.Runs) == 0 && len(rep.Refused) == 0 {
		fmt.Fprintf(w, "nothing to recover in %s\n", rep.StateDir)
		return
	}
	for _, r := range rep.Runs {
		state := "recovered"
		if !r.Done {
			state = "NOT fully recovered"
		}
		fmt.Fprintf(w, "run %s (%s, chaosctl pid %d): %s\n", r.Run, r.Runtime, r.PID, state)
		if r.SkippedLines > 0 {
			fmt.Fprintf(w, "  %s\n", r.SkippedLinesText())
		}
		if len(r.OpenFaults) > 0 {
			fmt.Fprintf(w, "  faults left applied: %s\n", strings.Join(r.OpenFaults, ", "))
		}
		for _, p := range r.Processes {
			fmt.Fprintf(w, "  member %s (pid %d): %s %s\n", p.ID, p.PID, p.Action, p.Detail)
		}
		if r.Proxies != "" {
			fmt.Fprintf(w, "  proxies: %s\n", r.Proxies)
		}
		if r.Dir != "" {
			fmt.Fprintf(w, "  folder %s: %s\n", r.Dir, r.DirAction)
		}
		for _, er := range r.Errors {
			fmt.Fprintf(w, "  error: %s\n", er)
		}
	}
}
