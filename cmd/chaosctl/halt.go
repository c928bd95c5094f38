package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets/clusterctl"
)

// haltCommand is the kill switch: every live fault of every run the state
// directory knows ends at once.
func haltCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "halt",
		Usage: "end every live fault of every run of this state directory, at once (the kill switch)",
		Description: "For every unfinished run whose ledger is in the state directory and whose chaosctl\n" +
			"still runs: removes every toxic of its proxies and enables them, through its fault\n" +
			"plane's API with the run's token (at most 5s per plane); resumes the processes of its\n" +
			"open pause faults; then sends its chaosctl SIGTERM, so it reverts everything else and\n" +
			"exits 3. halt waits --wait for those chaosctl processes to exit. One still running then\n" +
			"is wedged (or stopped): halt sends it SIGKILL, which ends what lives in its own process\n" +
			"(the embedded fault plane of the process runtime, its proxies and toxics), and the docker\n" +
			"and kubernetes planes and supervisors revert by themselves once its lease lapses\n" +
			"(target.leaseTTL). halt then does what recover does for every run whose chaosctl is gone,\n" +
			"the killed ones included: thaws and ends its members, unpauses and starts the containers\n" +
			"its faults left paused or stopped, removes its containers, namespaces and policies.\n" +
			"It acts only on the runs this state directory's ledgers name: a pid is signalled only\n" +
			"while it is still the recorded chaosctl (same boot, pid and start time) holding its\n" +
			"ledger. Exit 0 when every run was halted (or none was live); 5 when a fault may remain:\n" +
			"a plane or process could not be reverted, a chaosctl could not be killed, or the\n" +
			"recovery failed (run halt again).\n" +
			"A `chaosctl cluster up` is not stopped: its faults are healed through its control API.",
		Flags: []cli.Flag{
			ledgerDirFlag(),
			&cli.DurationFlag{Name: "wait", Value: 60 * time.Second, Usage: "how long to wait for each signalled chaosctl to revert and exit before it is killed"},
		},
		Action: func(c *cli.Context) error {
			dir, err := stateDirOf(c)
			if err != nil {
				return err
			}
			spare, cerr := healClusters(c, e, dir)
			rep, herr := injectors.Halt(c.Context, dir, injectors.HaltOptions{Wait: c.Duration("wait"), Spare: spare}, e.log.WithField("component", "halt"))
			herr = errors.Join(cerr, herr)
			if rep != nil {
				fmt.Fprint(e.stdout, rep.String())
			}
			rerr := recoverStateDir(c, e, dir)
			var untrusted *injectors.UntrustedLedgerError
			switch {
			case errors.As(herr, &untrusted):
				return withCode(exitEnvironment, fmt.Errorf("halt refused a ledger (fix it, then run halt again): %w", herr))
			case herr != nil:
				return withCode(exitEnvironment, fmt.Errorf("halt incomplete (a fault may remain; run halt again): %w", herr))
			}
			return rerr
		},
	}
}

// healClusters heals every live fault of every `chaosctl cluster up` of dir
// through its control API, and returns their ledgers: halt ends a cluster's
// faults, not the cluster.
func healClusters(c *cli.Context, e *env, dir string) (map[string]bool, error) {
	names, err := clusterctl.LiveClusters(dir)
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	spare := map[string]bool{}
	var errs []error
	for _, name := range names {
		st, err := clusterctl.ReadState(clusterctl.StatePath(dir, name))
		if err != nil {
			errs = append(errs, fmt.Errorf("cluster %s: %w", name, err))
			continue
		}
		spare[st.Ledger] = true
		out, err := clusterctl.NewClient(st).HealAll(c.Context)
		if err != nil {
			errs = append(errs, fmt.Errorf("cluster %s: heal: %w", name, err))
			continue
		}
		fmt.Fprintf(e.stdout, "cluster %s: healed %d faults through its control API\n", name, len(out.Faults))
	}
	return spare, errors.Join(errs...)
}
