package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets/docker"
	"github.com/chaosctl/chaosctl/targets/kubernetes"
)

func recoverCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "recover",
		Usage: "revert every fault a killed chaosctl left behind",
		Description: "Reads the fault ledger in the state directory and, for every run whose chaosctl is\n" +
			"gone without finishing, resumes and stops its member processes, deletes its proxies\n" +
			"and removes its temporary folder, then says what it did. Safe to run any time:\n" +
			"runs still in progress are left alone, and a second recover finds nothing to do.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "state-dir", EnvVars: []string{"CHAOSCTL_STATE_DIR"}, Usage: "where the fault ledger lives (default: the user's state directory)"},
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
				if derr := recoverContainers(c.Context, e, dir, rep); derr != nil && err == nil {
					err = derr
				}
				if kerr := recoverKubernetes(c.Context, e, dir, rep); kerr != nil && err == nil {
					err = kerr
				}
			}
			if err != nil {
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
	if len(rep.Runs) == 0 {
		fmt.Fprintf(w, "nothing to recover in %s\n", rep.StateDir)
		return
	}
	for _, r := range rep.Runs {
		state := "recovered"
		if !r.Done {
			state = "NOT fully recovered"
		}
		fmt.Fprintf(w, "run %s (%s, chaosctl pid %d): %s\n", r.Run, r.Runtime, r.PID, state)
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

// recoverContainers removes the containers and networks of runs this state
// directory knows and that are no longer live. Objects of runs it has no
// ledger for are listed, never touched: they may belong to another user's
// state directory.
func recoverContainers(ctx context.Context, e *env, stateDir string, rep *injectors.RecoveryReport) error {
	cli, err := docker.Connect(ctx)
	if err != nil {
		for _, r := range rep.Runs {
			if r.Runtime == "docker" {
				return fmt.Errorf("run %s ran on docker, and its containers cannot be removed: %w", r.Run, err)
			}
		}
		fmt.Fprintf(e.stdout, "docker: not checked (%v)\n", err)
		return nil
	}
	defer cli.Close()
	left, err := docker.Leftovers(ctx, cli)
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for _, l := range rep.Live {
		live[l.Run] = true
	}
	var errs []error
	for run, objs := range left {
		_, known := os.Stat(filepath.Join(injectors.LedgerDir(stateDir), run+".ndjson"))
		switch {
		case live[run]:
			fmt.Fprintf(e.stdout, "run %s: %d docker objects left alone (the run is in progress)\n", run, len(objs))
		case known != nil:
			fmt.Fprintf(e.stdout, "run %s: %d docker objects not touched (no ledger in %s): %s\n", run, len(objs), stateDir, strings.Join(objs, ", "))
		default:
			removed, err := docker.RemoveRun(ctx, cli, run)
			for _, r := range removed {
				fmt.Fprintf(e.stdout, "run %s: removed %s\n", run, r)
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// recoverKubernetes removes, by label, the objects of kubernetes runs this
// state directory knows and that are no longer live, in the cluster each
// run's ledger names. Labelled objects of runs without a ledger here are
// listed, never touched.
func recoverKubernetes(ctx context.Context, e *env, stateDir string, rep *injectors.RecoveryReport) error {
	refs, err := injectors.KubernetesRuns(stateDir)
	if err != nil {
		return fmt.Errorf("read the ledgers: %w", err)
	}
	if len(refs) == 0 {
		return nil
	}
	live := map[string]bool{}
	for _, l := range rep.Live {
		live[l.Run] = true
	}
	clusters := map[kubernetes.ClusterRef][]string{}
	for run, ref := range refs {
		c := kubernetes.ClusterRef{Kubeconfig: ref.Kubeconfig, Context: ref.Context}
		clusters[c] = append(clusters[c], run)
	}
	var errs []error
	for c, runs := range clusters {
		cs, _, err := kubernetes.Connect(ctx, c)
		if err != nil {
			errs = append(errs, fmt.Errorf("runs %s ran on kubernetes, and their objects cannot be checked: %w", strings.Join(runs, ", "), err))
			continue
		}
		left, err := kubernetes.Leftovers(ctx, cs)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		byLabel := map[string]string{}
		for run := range refs {
			byLabel[kubernetes.RunLabel(run)] = run
		}
		for label, objs := range left {
			run, known := byLabel[label]
			if !known {
				run = label
			}
			switch {
			case live[run]:
				fmt.Fprintf(e.stdout, "run %s: %d kubernetes objects left alone (the run is in progress)\n", run, len(objs))
			case !known:
				fmt.Fprintf(e.stdout, "run %s: %d kubernetes objects not touched (no ledger in %s): %s\n", run, len(objs), stateDir, strings.Join(objs, ", "))
			default:
				opts := kubernetes.RemoveOptions{Wait: kubernetes.DefaultDeleteTimeout}
				if ns := refs[run].Namespace; ns != "" {
					opts.Namespaces = []string{ns}
				}
				removed, err := kubernetes.RemoveRun(ctx, cs, run, opts)
				for _, r := range removed {
					fmt.Fprintf(e.stdout, "run %s: removed %s\n", run, r)
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}
