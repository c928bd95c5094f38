package runner

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/runtimes"
)

// SharedTarget is a demo cluster started once for several runs: a GameDay's
// steps, an explore's runs. Each run gets it as RunOptions.Target, which
// Run neither starts nor stops; Run still reverts every fault it applied.
// Between runs Prepare makes the target look like a fresh one to the next
// run, or restarts it where it cannot (see Prepare for what is reset);
// Close stops it. Its fault ledger records the members and the fault plane
// (each run's own ledger records its faults), so `chaosctl recover` finds
// the target after a crash.
type SharedTarget struct {
	opts   ShareOptions
	rt     runtimes.Runtime
	log    *logrus.Entry
	ledger *injectors.Ledger
	target targets.Target
	starts int
	closed bool
}

// ShareOptions configure StartShared.
type ShareOptions struct {
	// Settings give the members' binary, version and log level, the state
	// directory of the ledger and the log.
	Settings
	// Run is the id the ledger records (RunID); Dir the folder whose
	// members/ holds the members' logs (members-2/ and so on after a
	// restart).
	Run, Dir string
	// Runtime is the runtime's name ("" is process); Seed the members'.
	Runtime string
	Seed    int64
	// Target is the file's target section: the demo cluster and where the
	// kubernetes runtime deploys it.
	Target experiments.Target
}

// Shareable says why the runs of e cannot share one started target, "" when
// they can: its data must be resettable through the demo's key-value API.
func Shareable(e *experiments.Experiment) string {
	w := e.Workload
	switch {
	case e.Target.Demo == nil:
		return "the target is not the demo cluster, whose data chaosctl can reset"
	case len(w.HTTP) > 0 || w.Redis != nil:
		return "the workload is not the demo's key-value workload, whose keys chaosctl can reset"
	case caches(e.Target.Demo):
		// Deletes through each gateway drop its copies, but leave entries
		// of their own (not found, until a TTL), so the next run would not
		// start from the cold cache its hit ratio and load assume (and a
		// write-behind cache acknowledges a delete before the store has it).
		return "the gateways cache, and a reset leaves their caches warm with its own entries"
	}
	return ""
}

// StartShared starts the demo cluster of o.Target on o.Runtime and opens
// its ledger; on error nothing of it is left.
func StartShared(ctx context.Context, o ShareOptions) (*SharedTarget, error) {
	if o.Target.Demo == nil {
		return nil, fmt.Errorf("a shared target is the demo cluster: %w", ErrUsage)
	}
	if o.Runtime == "" {
		o.Runtime = string(experiments.RuntimeProcess)
	}
	rt, err := runtimes.Default().Demo(o.Runtime)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrUsage)
	}
	stateDir := o.StateDir
	if stateDir == "" {
		if stateDir, err = injectors.StateDir(); err != nil {
			return nil, fmt.Errorf("state directory: %w: %w", ErrEnvironment, err)
		}
	}
	ledger, err := injectors.CreateLedger(stateDir, injectors.RunInfo{Run: o.Run, Runtime: o.Runtime, Dir: o.Dir, PlaneEmbedded: rt.EmbeddedPlane})
	if err != nil {
		return nil, fmt.Errorf("open the fault ledger: %w: %w", ErrEnvironment, err)
	}
	s := &SharedTarget{opts: o, rt: rt, ledger: ledger, log: o.Logger().WithField("component", "shared-target")}
	if err := s.start(ctx); err != nil {
		_ = ledger.End("error")
		ledger.RemovePlaneToken()
		return nil, err
	}
	return s, nil
}

// start starts the target (again), bounded by the runtime's start timeout.
func (s *SharedTarget) start(ctx context.Context) error {
	spec, err := s.opts.Target.Demo.ClusterSpec()
	if err != nil {
		return fmt.Errorf("%w: %w", err, ErrUsage)
	}
	s.starts++
	members := "members"
	if s.starts > 1 {
		members += "-" + strconv.Itoa(s.starts)
	}
	sctx, cancel := context.WithTimeout(ctx, s.rt.StartTimeout)
	defer cancel()
	began := time.Now()
	t, err := StartDemo(sctx, s.rt.Name, spec, DemoStart{
		Run: s.opts.Run, Dir: filepath.Join(s.opts.Dir, members), Binary: s.opts.Binary, Version: s.opts.Version, Seed: s.opts.Seed,
		Log: s.log, MemberLogLevel: s.opts.MemberLogLevel, Kubernetes: s.opts.Target.Kubernetes, LeaseTTL: s.opts.Target.LeaseTTL, Ledger: s.ledger,
	})
	if err != nil {
		if ctx.Err() != nil {
			return ErrInterrupted
		}
		return fmt.Errorf("start the demo cluster on %s: %w: %w", s.rt.Name, ErrEnvironment, err)
	}
	s.target = t
	if err := s.ledger.PlaneToken(t.Plane().Token()); err != nil {
		s.log.WithError(err).Warn("fault ledger: halt will not reach the fault plane directly")
	}
	s.log.WithFields(logrus.Fields{"runtime": s.rt.Name, "took": time.Since(began).Round(time.Millisecond), "start": s.starts}).Info("shared target ready")
	return nil
}

// Target is the running target, for RunOptions.Target. It changes when
// Prepare restarts it.
func (s *SharedTarget) Target() targets.Target { return s.target }

// Starts counts the target's starts: 1, plus one per restart.
func (s *SharedTarget) Starts() int { return s.starts }

// Restart stops the target and starts it afresh, logging why.
func (s *SharedTarget) Restart(ctx context.Context, why string) error {
	s.log.WithField("why", why).Warn("restarting the shared target")
	cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	err := s.target.Close(cleanup)
	cancel()
	s.target = nil
	if err != nil {
		return fmt.Errorf("stop the shared target: %w: %w", ErrEnvironment, err)
	}
	return s.start(ctx)
}

// ResetKeys deletes the demo workload's keys k0..k{keys-1} until no store
// node holds a value (resetKeys).
func (s *SharedTarget) ResetKeys(ctx context.Context, keys int) error {
	return resetKeys(ctx, s.target, caches(s.opts.Target.Demo), keys)
}

// caches says whether the cluster's gateways cache (each holds its own
// copies).
func caches(d *experiments.DemoCluster) bool {
	return d != nil && d.Cache.Policy != "" && d.Cache.Policy != experiments.CacheNone
}

// Preparation is what Prepare did.
type Preparation struct {
	// Restarted says why the target was restarted ("" when it was not).
	Restarted string
	// KeysReset counts the workload keys deleted, no store node holding a
	// value after.
	KeysReset int
	Took      time.Duration
}

// Prepare readies the target for a run of next after a run that ended
// with prev (its result; nil when there is none): the next run must find
// the target as a fresh one would be, as far as its verdict can tell.
//
// It restarts the target when prev, next or the target shows state a
// reset cannot clear (ReuseBlocker, NextBlocker, then the target itself:
// every member running and not paused, no link of the fault plane held,
// disabled or with a toxic). Else it deletes every workload key, again
// until no store node holds a value (a replica a delete missed would serve
// its old value to a later read quorum) and every member's /metrics shows
// its breakers closed, no hint or write-behind write pending and no clock
// offset, within quietWithin;
// a reset that does not get there restarts the target too. What stays
// from run to run is the members' processes and seeds, their stores'
// tombstones (a deleted key reads as not found, the empty store's answer)
// and state that adapts within a warmup (hedge delays, failure
// suspicions).
func (s *SharedTarget) Prepare(ctx context.Context, next *experiments.Experiment, prev *report.Result) (Preparation, error) {
	began := time.Now()
	var p Preparation
	why := ReuseBlocker(next, prev)
	if why == "" {
		why = NextBlocker(next)
	}
	if why == "" {
		why = s.dirty(ctx)
	}
	if why == "" {
		r := keyReset{addrs: s.target.ClientAddrs(), keys: next.Workload.Keys, everyOne: caches(next.Target.Demo), within: quietWithin(next), quiet: s.memberState}
		err := r.run(ctx)
		switch {
		case ctx.Err() != nil:
			return p, ErrInterrupted
		case err != nil:
			why = "the target could not be reset: " + err.Error()
		default:
			p.KeysReset = next.Workload.Keys
		}
	}
	if why != "" {
		p.KeysReset = 0
		p.Restarted = why
		if err := s.Restart(ctx, why); err != nil {
			return p, err
		}
	}
	p.Took = time.Since(began)
	return p, nil
}

// ReuseBlocker says why the target a run of e left behind cannot be reused
// as it is, from the run's result ("" when nothing in it says so): a fault
// that may still be in place, a revert receipt that measured it still
// there, a clock skew (a hybrid logical clock never goes back: a node's
// timestamps stay ahead of the others' after the skew is reverted), a
// store node of e's cluster that restarted empty (in-memory data without
// recovery: the replicas of a key then disagree, and a delete's version
// query may read only replicas older than the one that answers later
// reads), CRDT values (never deleted), a run with no result or one that
// did not end normally.
func ReuseBlocker(e *experiments.Experiment, prev *report.Result) string {
	if prev == nil {
		return ""
	}
	if prev.Interrupted || len(prev.Errors) > 0 {
		return "the previous run did not end normally"
	}
	if e.Workload.Kind.CRDT() {
		return fmt.Sprintf("the previous run updated CRDT values (workload.kind %s), which a reset's deletes cannot clear", e.Workload.Kind)
	}
	for _, f := range prev.Faults {
		switch {
		case f.StillApplied || (f.Applied != nil && f.Reverted == nil):
			return fmt.Sprintf("fault %s may still be in place", f.Name)
		case f.RevertReceipt != nil && !f.RevertReceipt.Verified && f.RevertReceipt.Skipped == "":
			return fmt.Sprintf("the revert receipt of fault %s found it in place: %s", f.Name, f.RevertReceipt.Summary)
		case f.Applied == nil:
		case f.Kind == string(experiments.FaultClockSkew):
			return fmt.Sprintf("fault %s skewed a clock, and hybrid logical clocks stay ahead after the skew is reverted", f.Name)
		case (f.Kind == string(experiments.FaultCrash) || f.Kind == string(experiments.FaultRestart)) && amnesiac(e, f.Targets):
			return fmt.Sprintf("fault %s restarted a store node without its data and without recovery, so a key's replicas disagree beyond what a delete can fix", f.Name)
		}
	}
	return ""
}

// amnesiac says whether one of members is a store node of e's cluster
// that comes back from a restart empty and answers at once.
func amnesiac(e *experiments.Experiment, members []string) bool {
	d := e.Target.Demo
	if d == nil || d.Recovery != experiments.RecoveryNone || (d.Persistence != "" && d.Persistence != experiments.PersistenceMemory) {
		return false
	}
	for _, m := range members {
		if slices.Contains(d.NodeNames(), m) {
			return true
		}
	}
	return false
}

// NextBlocker says why the next run, e, needs a fresh target ("" when a
// reset one will do): a corrupt fault damages a share of every record a
// node stores, tombstones included, so the reset's tombstones would raise
// the number of values it damages.
func NextBlocker(e *experiments.Experiment) string {
	for _, f := range e.Faults {
		if f.Corrupt != nil {
			return fmt.Sprintf("fault %s corrupts a share of the stored records, which a reset's tombstones would add to", f.Name)
		}
	}
	return ""
}

// Close stops the target and ends its ledger (outcome "completed" unless
// failed). It is idempotent.
func (s *SharedTarget) Close(ctx context.Context, failed bool) error {
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.target != nil {
		if cerr := s.target.Close(ctx); cerr != nil {
			err = fmt.Errorf("stop the shared target: %w", cerr)
		}
	}
	outcome := injectors.OutcomeCompleted
	if failed {
		outcome = "error"
	}
	s.ledger.RemovePlaneToken()
	if lerr := s.ledger.End(outcome); lerr != nil {
		err = errors.Join(err, fmt.Errorf("close the fault ledger: %w", lerr))
	}
	return err
}
