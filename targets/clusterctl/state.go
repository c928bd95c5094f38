package clusterctl

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

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process"
)

// DefaultName is the name a cluster registers under when it is free and no
// other is asked for.
const DefaultName = "default"

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// State is what a cluster writes once every member is ready: into the state
// directory as cluster/NAME.json and, when asked, to a file of the caller's
// choice too (mode 0600: it holds the control token). It is a superset of
// process.State: addr is the address clients use (through the fault plane),
// listen where the member itself listens.
type State struct {
	Name     string            `json:"name"`
	Gateways []StateMember     `json:"gateways"`
	Nodes    []StateMember     `json:"nodes"`
	Control  string            `json:"control"`
	Token    string            `json:"token"`
	Dir      string            `json:"dir"`
	PID      int               `json:"pid"`
	Run      string            `json:"run"`
	Ledger   string            `json:"ledger"`
	Started  time.Time         `json:"started"`
	Links    []faultplane.Link `json:"links"`
}

// StateMember is one member in the state file.
type StateMember struct {
	ID     string `json:"id"`
	Addr   string `json:"addr"`
	Listen string `json:"listen"`
	PID    int    `json:"pid"`
}

// Topology is what a fault request to the cluster is checked against.
func (s State) Topology() Topology {
	top := Topology{Links: s.Links}
	for _, m := range s.Gateways {
		top.Members = append(top.Members, m.ID)
	}
	for _, m := range s.Nodes {
		top.Members = append(top.Members, m.ID)
		top.Nodes = append(top.Nodes, m.ID)
	}
	return top
}

// WriteState writes s to path atomically with mode 0600.
func WriteState(path string, s State) error { return process.WriteJSONPrivate(path, s) }

// ReadState reads the state file at path; a file without control address or
// token is an error.
func ReadState(path string) (State, error) {
	var s State
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

// Dir is where running clusters register, in the state directory.
func Dir(stateDir string) string { return filepath.Join(stateDir, "cluster") }

// StatePath is the state file of the cluster name in stateDir.
func StatePath(stateDir, name string) string { return filepath.Join(Dir(stateDir), name+".json") }

// Claim is a cluster name held by a running cluster: an exclusive flock on
// cluster/NAME.lock for as long as the process lives (the kernel drops it
// when the process dies, even by SIGKILL), so a state file whose lock is
// free belongs to a cluster that is gone.
type Claim struct {
	Name      string // the name taken
	StatePath string // where the cluster's state file goes
	lock      *os.File
}

// ClaimName takes name in stateDir. With explicit false and name taken, it
// takes the first free of name-2, name-3, ...; with explicit true a taken
// name is an *InputError saying how to proceed.
func ClaimName(stateDir, name string, explicit bool) (*Claim, error) {
	if !namePattern.MatchString(name) {
		return nil, inputError(fmt.Errorf("--name %q: use 1 to 40 lower-case letters, digits or '-', starting with a letter or digit", name))
	}
	dir := Dir(stateDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	for i := 1; i <= 100; i++ {
		candidate := name
		if i > 1 {
			candidate = fmt.Sprintf("%s-%d", name, i)
		}
		f, err := lockName(dir, candidate, true)
		if err == nil {
			statePath := StatePath(stateDir, candidate)
			// A file left by a cluster that was killed must not be read as ours.
			_ = os.Remove(statePath)
			return &Claim{Name: candidate, StatePath: statePath, lock: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("claim cluster name %s: %w", candidate, err)
		}
		if explicit {
			owner := ""
			if s, err := ReadState(StatePath(stateDir, candidate)); err == nil {
				owner = fmt.Sprintf(" (pid %d, control %s)", s.PID, s.Control)
			}
			return nil, inputError(fmt.Errorf("a cluster named %q is already running in %s%s: stop it first (Ctrl-C in its terminal), or give this one another --name", candidate, stateDir, owner))
		}
	}
	return nil, inputError(fmt.Errorf("100 clusters named %s-N are running in %s: stop some first", name, stateDir))
}

func lockName(dir, name string, create bool) (*os.File, error) {
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

// Release removes the state file and drops the lock. The lock file stays: a
// process may hold it open, and removing it would let two claim one name.
func (c *Claim) Release() {
	_ = os.Remove(c.StatePath)
	_ = c.lock.Close()
}

// Live reports whether the cluster named name in stateDir runs (its lock is
// held).
func Live(stateDir, name string) bool {
	f, err := lockName(Dir(stateDir), name, false)
	if err == nil {
		f.Close()
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}

// LiveClusters returns the names of the running clusters in stateDir, sorted.
func LiveClusters(stateDir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(Dir(stateDir), "*.lock"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".lock")
		if namePattern.MatchString(name) && Live(stateDir, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// noClusterHint ends every "no cluster" error.
const noClusterHint = "start one with `chaosctl cluster up` (in another terminal) and try again"

// FindOptions say which cluster Find looks for.
type FindOptions struct {
	StateFile string // a state file written on request (--state); when set, the others are unused
	StateDir  string // where clusters register; "" is the user's state directory
	Name      string // the cluster's name; "" is the only one running
}

// Find returns the state of the cluster a command talks to. An ambiguous
// choice or a malformed name is an *InputError; a cluster that does not run
// is an error of the environment.
func Find(opts FindOptions) (State, error) {
	if path := opts.StateFile; path != "" {
		s, err := ReadState(path)
		if errors.Is(err, os.ErrNotExist) {
			return s, fmt.Errorf("no state file %s: no cluster is running with --state %s; %s", path, path, noClusterHint)
		}
		return s, err
	}
	stateDir := opts.StateDir
	if stateDir == "" {
		var err error
		if stateDir, err = injectors.StateDir(); err != nil {
			return State{}, err
		}
	}
	name := opts.Name
	if name == "" {
		live, err := LiveClusters(stateDir)
		if err != nil {
			return State{}, fmt.Errorf("list clusters in %s: %w", stateDir, err)
		}
		switch len(live) {
		case 0:
			return State{}, fmt.Errorf("no cluster is running (none registered in %s); %s", Dir(stateDir), noClusterHint)
		case 1:
			name = live[0]
		default:
			return State{}, inputError(fmt.Errorf("%d clusters are running (%s): choose one with --cluster NAME", len(live), strings.Join(live, ", ")))
		}
	} else if !namePattern.MatchString(name) {
		return State{}, inputError(fmt.Errorf("--cluster %q: not a cluster name (lower-case letters, digits, '-')", name))
	}
	if !Live(stateDir, name) {
		return State{}, fmt.Errorf("no cluster named %q is running in %s; %s", name, stateDir, noClusterHint)
	}
	path := StatePath(stateDir, name)
	s, err := ReadState(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, fmt.Errorf("cluster %q is still starting (no %s yet); try again in a moment", name, path)
	}
	return s, err
}
