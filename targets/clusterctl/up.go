package clusterctl

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
	"github.com/chaosctl/chaosctl/targets/processdemo"
)

// UpOptions configure Up.
type UpOptions struct {
	Spec demo.ClusterSpec // the cluster, validated
	// Name is the cluster's name (DefaultName when empty). When it is taken,
	// Up takes Name-2, Name-3, ..., or, with NameExplicit, fails.
	Name         string
	NameExplicit bool
	StateDir     string // where the cluster registers and journals faults; "" is the user's state directory
	DataDir      string // member data and logs; "" is a temporary directory, removed by Close
	StateFile    string // when set, the state is written here too (and removed by Close)
	BasePort     int    // the first member's client port, the others consecutive; 0 picks free ports
	LogLevel     string // the members' log level
	Log          *logrus.Entry
	// OnPanic, when set, learns of a panic in a goroutine of the cluster (a
	// fault's expiry): the cluster serves on, and the caller is expected to
	// Close it, which reverts every fault.
	OnPanic func(*crash.Panic)

	start startDemo // nil: the process runtime
}

// Cluster is a demo cluster started by Up, with its fault manager and
// control API, registered in the state directory until Close.
type Cluster struct {
	claim        *Claim
	log          *logrus.Entry
	dir          string
	tempDir      bool
	ledger       *injectors.Ledger
	demo         Demo
	faults       *Manager
	closeControl func()
	state        State
	stateFile    string

	closeOnce sync.Once
	closeErr  error
}

// Up claims a cluster name, opens a ledger, starts the demo cluster behind
// its fault plane (ctx bounds the start), serves the control API and writes
// the state file. On error nothing is left running or registered.
func Up(ctx context.Context, opts UpOptions) (_ *Cluster, err error) {
	stateDir := opts.StateDir
	if stateDir == "" {
		if stateDir, err = injectors.StateDir(); err != nil {
			return nil, err
		}
	}
	name := opts.Name
	if name == "" {
		name = DefaultName
	}
	claim, err := ClaimName(stateDir, name, opts.NameExplicit)
	if err != nil {
		return nil, err
	}
	c := &Cluster{claim: claim, dir: opts.DataDir, log: opts.Log.WithFields(logrus.Fields{"component": "cluster", "cluster": claim.Name})}
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	if claim.Name != name {
		c.log.Warnf("a cluster named %s is already running; this one is %s (inject, heal, status: --cluster %s)", name, claim.Name, claim.Name)
	}
	var tempDirSuffix string
	if c.dir == "" {
		if c.dir, tempDirSuffix, err = injectors.CreateTempRunDir(); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		c.tempDir = true
	}
	run := "cluster-" + claim.Name + "-" + time.Now().UTC().Format("20060102T150405Z") + "-" + democluster.NewToken()[:6]
	c.ledger, err = injectors.CreateLedger(stateDir, injectors.RunInfo{Run: run, Runtime: processdemo.Name, Dir: c.dir, TempDirSuffix: tempDirSuffix, PlaneEmbedded: true})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	ids := opts.Spec.MemberIDs()
	ports := map[string]int{}
	for i, id := range ids {
		ports[id] = 0
		if opts.BasePort != 0 {
			ports[id] = opts.BasePort + i
		}
	}
	startFn := opts.start
	if startFn == nil {
		startFn = startProcessDemo
	}
	d, err := startFn(ctx, opts.Spec, demoOptions{Run: run, Dir: c.dir, Log: c.log, LogLevel: opts.LogLevel, OnStarted: c.ledger.OnStarted, ClientPorts: ports})
	if err != nil {
		return nil, err
	}
	c.demo = d
	if err := c.ledger.Plane(d.Plane().URL(), true); err != nil {
		c.log.WithError(err).Warn("ledger: cannot record the fault plane")
	}
	if err := c.ledger.PlaneToken(d.Plane().Token()); err != nil {
		c.log.WithError(err).Warn("ledger: halt will not reach the fault plane directly")
	}
	tracker := injectors.NewTracker(injectors.DefaultRegistry(), d, c.ledger, c.log.WithField("component", "injectors"))
	top := Topology{Members: ids, Nodes: opts.Spec.NodeIDs(), Links: d.Plane().Links()}
	c.faults = NewManager(tracker, top, c.log.WithField("component", "faults"))
	c.faults.onPanic = opts.OnPanic
	server := &Server{Name: claim.Name, Token: democluster.NewToken(), Faults: c.faults, Members: d.MemberStatuses, Log: c.log}
	controlAddr, closeControl, err := server.Serve()
	if err != nil {
		return nil, err
	}
	c.closeControl = closeControl

	c.state = State{
		Name: claim.Name, Control: controlAddr, Token: server.Token, Dir: c.dir, PID: os.Getpid(),
		Run: run, Ledger: c.ledger.Path(), Started: start.UTC(), Links: top.Links,
		Gateways: []StateMember{}, Nodes: []StateMember{},
	}
	for _, m := range d.MemberStatuses() {
		sm := StateMember{ID: m.ID, Addr: m.Addr, Listen: m.Listen, PID: m.PID}
		if m.Role == demo.RoleGateway {
			c.state.Gateways = append(c.state.Gateways, sm)
		} else {
			c.state.Nodes = append(c.state.Nodes, sm)
		}
	}
	if err := WriteState(claim.StatePath, c.state); err != nil {
		return nil, err
	}
	if opts.StateFile != "" {
		if err := WriteState(opts.StateFile, c.state); err != nil {
			return nil, err
		}
		c.stateFile = opts.StateFile
	}
	return c, nil
}

// State is what the cluster wrote to its state file.
func (c *Cluster) State() State { return c.state }

// StatePath is the cluster's state file in the state directory.
func (c *Cluster) StatePath() string { return c.claim.StatePath }

// Members lists the members as the control API shows them.
func (c *Cluster) Members() []MemberStatus { return c.demo.MemberStatuses() }

// Close stops the control API, reverts every live fault, stops the members
// and the fault plane, ends the ledger, removes a temporary data directory
// and the state files, and frees the name. When a fault could not be
// reverted the ledger is left without an end record (so `chaosctl recover`
// finishes the job) and the error says so. It is idempotent.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *Cluster) close() (err error) {
	if c.stateFile != "" {
		_ = os.Remove(c.stateFile)
	}
	if c.closeControl != nil {
		c.closeControl() // before the faults are reverted: no new ones meanwhile
	}
	switch {
	case c.demo != nil:
		// Faults first, then members, then the proxies: nothing stays
		// paused, stopped or cut.
		cleanup, cancel := context.WithTimeout(context.Background(), 2*faultOpTimeout)
		defer cancel()
		if n := len(c.faults.List().Faults); n > 0 {
			c.log.WithField("faults", n).Info("reverting live faults")
		}
		revertErr := c.faults.Shutdown(cleanup)
		c.log.Info("stopping members")
		_ = c.demo.Close(cleanup)
		if revertErr != nil {
			// The ledger stays open (no end record): `chaosctl recover` finishes.
			err = fmt.Errorf("some faults could not be reverted and may remain (run `chaosctl recover`): %w", revertErr)
		} else if lerr := c.ledger.End(injectors.OutcomeCompleted); lerr != nil {
			c.log.WithError(lerr).Warn("ledger: cannot close the run")
		}
	case c.ledger != nil:
		_ = c.ledger.End(injectors.OutcomeCompleted) // nothing was started
	}
	if c.ledger != nil {
		c.ledger.RemovePlaneToken()
		_ = c.ledger.Close()
	}
	if c.tempDir {
		_ = os.RemoveAll(c.dir)
	}
	c.claim.Release()
	return err
}
