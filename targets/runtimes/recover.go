package runtimes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/docker"
	"github.com/chaosctl/chaosctl/targets/kubernetes"
)

// liveRuns is the set of runs recover left alone (their chaosctl runs).
func liveRuns(rep *injectors.RecoveryReport) map[string]bool {
	live := map[string]bool{}
	for _, l := range rep.Live {
		live[l.Run] = true
	}
	return live
}

// refusedRuns is the set of runs whose ledger recover refused (not private
// to the user): nothing of theirs is touched.
func refusedRuns(rep *injectors.RecoveryReport) map[string]bool {
	refused := map[string]bool{}
	for _, l := range rep.Refused {
		refused[l.Run] = true
	}
	return refused
}

// recoverContainers removes the containers and networks of runs this state
// directory knows and that are no longer live. Objects of runs it has no
// ledger for are listed, never touched: they may belong to another user's
// state directory.
func recoverContainers(ctx context.Context, stateDir string, rep *injectors.RecoveryReport) ([]string, error) {
	cli, err := docker.Connect(ctx)
	if err != nil {
		for _, r := range rep.Runs {
			if r.Runtime == Docker {
				return nil, fmt.Errorf("run %s ran on docker, and its containers cannot be removed: %w", r.Run, err)
			}
		}
		return []string{fmt.Sprintf("docker: not checked (%v)", err)}, nil
	}
	defer cli.Close()
	left, err := docker.Leftovers(ctx, cli)
	if err != nil {
		return nil, err
	}
	live, refused := liveRuns(rep), refusedRuns(rep)
	var lines []string
	var errs []error
	for run, objs := range left {
		_, known := os.Stat(filepath.Join(injectors.LedgerDir(stateDir), run+".ndjson"))
		switch {
		case live[run]:
			lines = append(lines, fmt.Sprintf("run %s: %d docker objects left alone (the run is in progress)", run, len(objs)))
		case refused[run]:
			lines = append(lines, fmt.Sprintf("run %s: %d docker objects not touched (its ledger was refused)", run, len(objs)))
		case known != nil:
			lines = append(lines, fmt.Sprintf("run %s: %d docker objects not touched (no ledger in %s): %s", run, len(objs), stateDir, strings.Join(objs, ", ")))
		default:
			removed, err := docker.RemoveRun(ctx, cli, run)
			for _, r := range removed {
				lines = append(lines, fmt.Sprintf("run %s: removed %s", run, r))
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return lines, errors.Join(errs...)
}

// recoverKubernetes removes, by label, the objects of kubernetes runs this
// state directory knows and that are no longer live, in the cluster each
// run's ledger names. Labelled objects of runs without a ledger here are
// listed, never touched.
func recoverKubernetes(ctx context.Context, stateDir string, rep *injectors.RecoveryReport) ([]string, error) {
	refs, err := injectors.KubernetesRuns(stateDir)
	if err != nil {
		return nil, fmt.Errorf("read the ledgers: %w", err)
	}
	if len(refs) == 0 {
		return nil, nil
	}
	live := liveRuns(rep)
	clusters := map[kubernetes.ClusterRef][]string{}
	for run, ref := range refs {
		c := kubernetes.ClusterRef{Kubeconfig: ref.Kubeconfig, Context: ref.Context}
		clusters[c] = append(clusters[c], run)
	}
	var lines []string
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
				lines = append(lines, fmt.Sprintf("run %s: %d kubernetes objects left alone (the run is in progress)", run, len(objs)))
			case !known:
				lines = append(lines, fmt.Sprintf("run %s: %d kubernetes objects not touched (no ledger in %s): %s", run, len(objs), stateDir, strings.Join(objs, ", ")))
			default:
				opts := kubernetes.RemoveOptions{Wait: kubernetes.DefaultDeleteTimeout}
				if ns := refs[run].Namespace; ns != "" {
					opts.Namespaces = []string{ns}
				}
				removed, err := kubernetes.RemoveRun(ctx, cs, run, opts)
				for _, r := range removed {
					lines = append(lines, fmt.Sprintf("run %s: removed %s", run, r))
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return lines, errors.Join(errs...)
}

// Containers undoes, for injectors.RecoverWith, what a killed chaosctl's
// faults did to users' containers, on the Docker engine each was found on
// (a client per engine, made when first needed). Close it after use.
type Containers struct {
	mu      sync.Mutex
	clients map[string]*client.Client
}

// containerClockSlack is how much earlier than the fault's intent a
// container may seem to have stopped and still count as stopped by it: the
// engine's clock and chaosctl's may differ a little.
const containerClockSlack = time.Second

// RecoverContainer implements injectors.ContainerEngine: it unpauses c when
// undo.Unpause and it is paused, and starts it when undo.StoppedSince is set
// and it stopped then or later. A container that is gone is left so.
func (cs *Containers) RecoverContainer(ctx context.Context, c targets.ContainerRef, undo injectors.ContainerUndo) (string, error) {
	cli, err := cs.client(ctx, c.Host)
	if err != nil {
		return "", err
	}
	insp, err := cli.ContainerInspect(ctx, c.ID)
	switch {
	case cerrdefs.IsNotFound(err):
		return "already gone", nil
	case err != nil:
		return "", fmt.Errorf("inspect container %s: %w", c.ID, err)
	case insp.State == nil:
		return "", fmt.Errorf("inspect container %s: no state", c.ID)
	}
	st := insp.State
	var did []string
	if undo.Unpause && st.Paused {
		if err := cli.ContainerUnpause(ctx, c.ID); err != nil {
			return "", fmt.Errorf("unpause container %s: %w", c.ID, err)
		}
		did = append(did, "unpaused")
	}
	if !undo.StoppedSince.IsZero() && !st.Running {
		finished, err := time.Parse(time.RFC3339Nano, st.FinishedAt)
		switch {
		case err != nil || finished.Before(undo.StoppedSince.Add(-containerClockSlack)):
			did = append(did, fmt.Sprintf("left stopped (it stopped at %s, before chaosctl's fault began at %s)",
				st.FinishedAt, undo.StoppedSince.UTC().Format(time.RFC3339Nano)))
		default:
			if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
				return strings.Join(did, ", "), fmt.Errorf("start container %s: %w", c.ID, err)
			}
			did = append(did, "started")
		}
	}
	if len(did) == 0 {
		return "nothing to undo (" + st.Status + ")", nil
	}
	return strings.Join(did, ", "), nil
}

// client is the client of the engine at host, connected on first use.
func (cs *Containers) client(ctx context.Context, host string) (*client.Client, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cli := cs.clients[host]; cli != nil {
		return cli, nil
	}
	cli, err := docker.ConnectHost(ctx, host)
	if err != nil {
		return nil, err
	}
	if cs.clients == nil {
		cs.clients = map[string]*client.Client{}
	}
	cs.clients[host] = cli
	return cli, nil
}

// Close closes the clients.
func (cs *Containers) Close() error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var errs []error
	for host, cli := range cs.clients {
		errs = append(errs, cli.Close())
		delete(cs.clients, host)
	}
	return errors.Join(errs...)
}

var _ injectors.ContainerEngine = (*Containers)(nil)
