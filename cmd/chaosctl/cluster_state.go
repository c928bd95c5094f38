package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process"
)

// defaultClusterName is the name `cluster up` registers under when it is
// free and no --name is given.
const defaultClusterName = "default"

var clusterNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// clusterState is what `cluster up` writes once every member is ready: into
// the state directory as cluster/NAME.json and, with --state FILE, there too
// (mode 0600: it holds the control token). It is a superset of
// process.State: addr is the address clients use (through the fault plane),
// listen where the member itself listens.
type clusterState struct {
	Name     string            `json:"name"`
	Gateways []stateMember     `json:"gateways"`
	Nodes    []stateMember     `json:"nodes"`
	Control  string            `json:"control"`
	Token    string            `json:"token"`
	Dir      string            `json:"dir"`
	PID      int               `json:"pid"`
	Run      string            `json:"run"`
	Ledger   string            `json:"ledger"`
	Started  time.Time         `json:"started"`
	Links    []faultplane.Link `json:"links"`
}

// stateMember is one member in the state file.
type stateMember struct {
	ID     string `json:"id"`
	Addr   string `json:"addr"`
	Listen string `json:"listen"`
	PID    int    `json:"pid"`
}

// memberIDs returns every member id: gateways, then store nodes.
func (s clusterState) memberIDs() []string {
	var out []string
	for _, m := range append(slices.Clone(s.Gateways), s.Nodes...) {
		out = append(out, m.ID)
	}
	return out
}

func (s clusterState) nodeIDs() []string {
	var out []string
	for _, m := range s.Nodes {
		out = append(out, m.ID)
	}
	return out
}

// writeClusterState writes s to path atomically with mode 0600.
func writeClusterState(path string, s clusterState) error { return process.WriteJSONPrivate(path, s) }

func readClusterState(path string) (clusterState, error) {
	var s clusterState
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("state file %s: %w", path, err)
	}
	if s.Control == "" || s.Token == "" {
		return s, fmt.Errorf("state file %s has no control address or token (written by an older chaosctl?)", path)
	}
	return s, nil
}

// clustersDir is where running clusters register, in the state directory.
func clustersDir(stateDir string) string { return filepath.Join(stateDir, "cluster") }

// clusterClaim is a cluster name held by a running `cluster up`: an
// exclusive flock on cluster/NAME.lock for as long as the process lives (the
// kernel drops it when the process dies, even by SIGKILL), so a state file
// whose lock is free belongs to a cluster that is gone.
type clusterClaim struct {
	name      string
	statePath string
	lock      *os.File
}

// claimClusterName takes name in stateDir. With explicit false and name
// taken, it takes the first free of name-2, name-3, ...; with explicit true
// a taken name is a usage error saying how to proceed.
func claimClusterName(stateDir, name string, explicit bool) (*clusterClaim, error) {
	if !clusterNamePattern.MatchString(name) {
		return nil, usageError(fmt.Errorf("--name %q: use 1 to 40 lower-case letters, digits or '-', starting with a letter or digit", name))
	}
	dir := clustersDir(stateDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	for i := 1; i <= 100; i++ {
		candidate := name
		if i > 1 {
			candidate = fmt.Sprintf("%s-%d", name, i)
		}
		f, err := lockClusterName(dir, candidate, true)
		if err == nil {
			statePath := filepath.Join(dir, candidate+".json")
			// A file left by a cluster that was killed must not be read as ours.
			_ = os.Remove(statePath)
			return &clusterClaim{name: candidate, statePath: statePath, lock: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("claim cluster name %s: %w", candidate, err)
		}
		if explicit {
			owner := ""
			if s, err := readClusterState(filepath.Join(dir, candidate+".json")); err == nil {
				owner = fmt.Sprintf(" (pid %d, control %s)", s.PID, s.Control)
			}
			return nil, usageError(fmt.Errorf("a cluster named %q is already running in %s%s: stop it first (Ctrl-C in its terminal), or give this one another --name", candidate, stateDir, owner))
		}
	}
	return nil, usageError(fmt.Errorf("100 clusters named %s-N are running in %s: stop some first", name, stateDir))
}

func lockClusterName(dir, name string, create bool) (*os.File, error) {
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".lock"), flags, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// release removes the state file and drops the lock. The lock file stays: a
// process may hold it open, and removing it would let two claim one name.
func (c *clusterClaim) release() {
	_ = os.Remove(c.statePath)
	_ = c.lock.Close()
}

// clusterLive reports whether the cluster named name in stateDir runs (its
// lock is held).
func clusterLive(stateDir, name string) bool {
	f, err := lockClusterName(clustersDir(stateDir), name, false)
	if err == nil {
		f.Close()
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}

// liveClusters returns the names of the running clusters in stateDir, sorted.
func liveClusters(stateDir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(clustersDir(stateDir), "*.lock"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".lock")
		if clusterNamePattern.MatchString(name) && clusterLive(stateDir, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// clusterFlags are the flags inject, heal and status use to find the cluster.
func clusterFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "state", Usage: "the state file written by cluster up --state FILE (default: found in the state directory)"},
		&cli.StringFlag{Name: "state-dir", EnvVars: []string{injectors.EnvStateDir}, Usage: "the state directory where cluster up registers (default: the user's state directory)"},
		&cli.StringFlag{Name: "cluster", Usage: "the cluster's --name, when several run (default: the only one running)"},
	}
}

// noClusterHint ends every "no cluster" error.
const noClusterHint = "start one with `chaosctl cluster up` (in another terminal) and try again"

// findCluster returns the state of the cluster the command talks to. A
// cluster that does not run is an environment error (exit 5); an ambiguous
// choice is a usage error.
func findCluster(c *cli.Context) (clusterState, error) {
	if path := c.String("state"); path != "" {
		s, err := readClusterState(path)
		if errors.Is(err, os.ErrNotExist) {
			return s, withCode(exitEnvironment, fmt.Errorf("no state file %s: no cluster is running with --state %s; %s", path, path, noClusterHint))
		}
		if err != nil {
			return s, withCode(exitEnvironment, err)
		}
		return s, nil
	}
	stateDir := c.String("state-dir")
	if stateDir == "" {
		var err error
		if stateDir, err = injectors.StateDir(); err != nil {
			return clusterState{}, withCode(exitEnvironment, err)
		}
	}
	name := c.String("cluster")
	if name == "" {
		live, err := liveClusters(stateDir)
		if err != nil {
			return clusterState{}, withCode(exitEnvironment, fmt.Errorf("list clusters in %s: %w", stateDir, err))
		}
		switch len(live) {
		case 0:
			return clusterState{}, withCode(exitEnvironment, fmt.Errorf("no cluster is running (none registered in %s); %s", clustersDir(stateDir), noClusterHint))
		case 1:
			name = live[0]
		default:
			return clusterState{}, usageError(fmt.Errorf("%d clusters are running (%s): choose one with --cluster NAME", len(live), strings.Join(live, ", ")))
		}
	} else if !clusterNamePattern.MatchString(name) {
		return clusterState{}, usageError(fmt.Errorf("--cluster %q: not a cluster name (lower-case letters, digits, '-')", name))
	}
	if !clusterLive(stateDir, name) {
		return clusterState{}, withCode(exitEnvironment, fmt.Errorf("no cluster named %q is running in %s; %s", name, stateDir, noClusterHint))
	}
	path := filepath.Join(clustersDir(stateDir), name+".json")
	s, err := readClusterState(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, withCode(exitEnvironment, fmt.Errorf("cluster %q is still starting (no %s yet); try again in a moment", name, path))
	}
	if err != nil {
		return s, withCode(exitEnvironment, err)
	}
	return s, nil
}
