package injectors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets"
)

// Tracker applies faults to one target through a registry, keeps their
// reverts, and journals both in the run's ledger: the intent record is
// fsynced before anything is touched, so `chaosctl recover` knows what a
// killed chaosctl may have left. It is safe for concurrent use: faults due at
// the same time may be applied from several goroutines.
type Tracker struct {
	reg    *Registry
	target targets.Target
	ledger *Ledger
	log    *logrus.Entry

	mu     sync.Mutex
	active []*trackedFault // in order of application, applying ones included
	seen   map[string]bool // every fault name Apply was called for
}

type trackedFault struct {
	fault   Fault
	done    chan struct{} // closed when Inject has returned
	revert  Revert        // nil until applied; stays nil when applying failed
	applied time.Time
}

// NewTracker returns a tracker applying faults to t with the injectors of
// reg, journalling in l (required).
func NewTracker(reg *Registry, t targets.Target, l *Ledger, log *logrus.Entry) *Tracker {
	return &Tracker{reg: reg, target: t, ledger: l, log: log, seen: map[string]bool{}}
}

// Apply applies f: ledger intent (fsynced), then the injector, then the
// ledger's applied record. On error nothing of f remains applied. A fault
// whose name is active is an error.
func (tr *Tracker) Apply(ctx context.Context, f Fault) error {
	inj, err := tr.reg.Lookup(f.Kind)
	if err != nil {
		return fmt.Errorf("apply fault %s: %w", f.Name, err)
	}
	if tr.ledger == nil {
		return fmt.Errorf("apply fault %s: the tracker has no ledger", f.Name)
	}
	e := &trackedFault{fault: f, done: make(chan struct{})}
	tr.mu.Lock()
	if tr.find(f.Name) != nil {
		tr.mu.Unlock()
		return fmt.Errorf("apply fault %s: a fault of that name is active", f.Name)
	}
	tr.active = append(tr.active, e)
	tr.seen[f.Name] = true
	tr.mu.Unlock()

	log := tr.log.WithFields(logrus.Fields{"fault": f.Name, "kind": f.Kind})
	if err := tr.ledger.Intent(f, tr.processes(f)); err != nil {
		tr.remove(e)
		close(e.done)
		return fmt.Errorf("apply fault %s: write the intent to the ledger (nothing was applied): %w", f.Name, err)
	}
	revert, err := inj.Inject(ctx, tr.target, f)
	if err != nil {
		tr.remove(e)
		close(e.done)
		if lerr := tr.ledger.ApplyFailed(f.Name, err); lerr != nil {
			log.WithError(lerr).Error("ledger: cannot record the failed fault")
		}
		return fmt.Errorf("apply fault %s: %w", f.Name, err)
	}
	tr.mu.Lock()
	e.revert, e.applied = revert, time.Now()
	tr.mu.Unlock()
	close(e.done)
	if err := tr.ledger.Applied(f.Name); err != nil {
		// The fault is tracked and will be reverted; the intent record is
		// enough for recovery to find it.
		log.WithError(err).Error("ledger: cannot record the applied fault")
	}
	// Debug: the caller (a run, cluster up) logs the fault once, with its
	// own fields (the run's clock, the lateness), at info.
	log.WithFields(logrus.Fields{"targets": f.Targets, "links": len(f.Links)}).Debug("fault applied")
	return nil
}

// Revert reverts the active fault name and records it in the ledger. It is
// idempotent: a fault already reverted (or whose apply failed) is a no-op. A
// fault still being applied is waited for. On failure the fault stays active,
// so a later Revert or RevertAll retries it.
func (tr *Tracker) Revert(ctx context.Context, name string) error {
	tr.mu.Lock()
	e, seen := tr.find(name), tr.seen[name]
	tr.mu.Unlock()
	if e == nil {
		if seen {
			return nil
		}
		return fmt.Errorf("revert fault %s: no fault of that name was applied", name)
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		return fmt.Errorf("revert fault %s: wait for it to be applied: %w", name, ctx.Err())
	}
	tr.mu.Lock()
	revert := e.revert
	tr.mu.Unlock()
	if revert == nil {
		return nil // applying failed: nothing remains
	}
	log := tr.log.WithFields(logrus.Fields{"fault": name, "kind": e.fault.Kind})
	if err := revert(ctx); err != nil {
		if lerr := tr.ledger.RevertFailed(name, err); lerr != nil {
			log.WithError(lerr).Error("ledger: cannot record the failed revert")
		}
		return fmt.Errorf("revert fault %s (%s): %w", name, e.fault.Kind, err)
	}
	if tr.remove(e) {
		if err := tr.ledger.Reverted(name); err != nil {
			log.WithError(err).Error("ledger: cannot record the reverted fault")
		}
		log.Debug("fault reverted") // the caller logs it at info, as Apply
	}
	return nil
}

// RevertAll reverts every active fault, newest first, going on past
// failures; the error joins one error per fault whose revert failed, each
// naming the fault.
func (tr *Tracker) RevertAll(ctx context.Context) error {
	tr.mu.Lock()
	all := slices.Clone(tr.active)
	tr.mu.Unlock()
	var errs []error
	for i := len(all) - 1; i >= 0; i-- {
		if err := tr.Revert(ctx, all[i].fault.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Active returns the names of the faults applied (or being applied) and not
// reverted, in order of application.
func (tr *Tracker) Active() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := make([]string, 0, len(tr.active))
	for _, e := range tr.active {
		out = append(out, e.fault.Name)
	}
	return out
}

// find returns the active fault name; tr.mu is held.
func (tr *Tracker) find(name string) *trackedFault {
	for _, e := range tr.active {
		if e.fault.Name == name {
			return e
		}
	}
	return nil
}

// remove drops e from the active faults and reports whether it was there.
func (tr *Tracker) remove(e *trackedFault) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	i := slices.Index(tr.active, e)
	if i < 0 {
		return false
	}
	tr.active = slices.Delete(tr.active, i, i+1)
	return true
}

// processes returns the processes of f's target members, so that recovery
// can thaw a paused process chaosctl did not start.
func (tr *Tracker) processes(f Fault) []ProcessRef {
	switch f.Kind {
	case KindCrash, KindPause, KindRestart, KindClockSkew, KindCorrupt:
	default:
		return nil
	}
	var out []ProcessRef
	for _, m := range tr.target.Members() {
		if m.PID > 0 && slices.Contains(f.Targets, m.ID) {
			out = append(out, processRef(m))
		}
	}
	return out
}

// Baseline measures, just before f is applied, what its receipts compare
// with (see Verifier).
func (tr *Tracker) Baseline(ctx context.Context, f Fault) Baseline {
	return tr.reg.Baseline(ctx, tr.target, f)
}

// Verify takes f's receipt in phase. A kind that is instant has nothing to
// undo, so its reverted phase is not measured (nil). A measurement that ctx
// cut short decides nothing: it is skipped, so a cancelled probe is never
// taken for a cut link.
func (tr *Tracker) Verify(ctx context.Context, f Fault, phase Phase, base Baseline) *Receipt {
	if caps, _ := tr.reg.Capabilities(f.Kind); caps.Instant && phase == PhaseReverted {
		return nil
	}
	t0 := time.Now()
	rec := tr.reg.Verify(ctx, tr.target, f, phase, base)
	if ctx.Err() != nil {
		rec = skipped(t0, "the run ended before the measurement finished")
	}
	return &rec
}
