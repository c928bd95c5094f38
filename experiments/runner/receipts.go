package runner

import (
	"context"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/injectors"
)

// receiptTimeout bounds one receipt: its probes are bounded themselves,
// this only keeps a wedged member from holding the run.
const receiptTimeout = 20 * time.Second

// receipts takes each fault's receipts beside the schedule: a baseline just
// before the fault is applied, a receipt after it is applied and after it is
// reverted. The receipts run in goroutines of their own so the schedule
// keeps time; a fault's revert waits for its apply receipt, so it measures
// the fault in place.
type receipts struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	pending map[string]chan struct{} // closed when a fault's apply receipt is in
	base    map[string]injectors.Baseline
}

func (r *runState) receiptsOn() bool { return r.e.Receipts != experiments.ReceiptsOff }

// baseline measures what f's receipts compare with, just before it is
// applied.
func (r *runState) baseline(ctx context.Context, tracker *injectors.Tracker, f injectors.Fault) {
	if !r.receiptsOn() {
		return
	}
	bctx, cancel := context.WithTimeout(ctx, receiptTimeout)
	defer cancel()
	b := tracker.Baseline(bctx, f)
	r.rc.mu.Lock()
	defer r.rc.mu.Unlock()
	if r.rc.base == nil {
		r.rc.base, r.rc.pending = map[string]injectors.Baseline{}, map[string]chan struct{}{}
	}
	r.rc.base[f.Name] = b
}

// takeReceipt measures f in phase in a goroutine of the run and records the
// receipt on the fault's result and in the journal.
func (r *runState) takeReceipt(ctx context.Context, tracker *injectors.Tracker, f injectors.Fault, phase injectors.Phase) {
	if !r.receiptsOn() {
		return
	}
	done := make(chan struct{})
	r.rc.mu.Lock()
	base := r.rc.base[f.Name]
	if phase == injectors.PhaseApplied {
		if r.rc.pending == nil {
			r.rc.pending = map[string]chan struct{}{}
		}
		r.rc.pending[f.Name] = done
	}
	r.rc.mu.Unlock()
	r.rc.wg.Add(1)
	r.goSafe("the receipt of fault "+f.Name, func() {
		defer r.rc.wg.Done()
		defer close(done)
		r.recordReceipt(ctx, tracker, f, phase, base)
	})
}

// recordReceipt takes one receipt now, in the caller's goroutine.
func (r *runState) recordReceipt(ctx context.Context, tracker *injectors.Tracker, f injectors.Fault, phase injectors.Phase, base injectors.Baseline) {
	rctx, cancel := context.WithTimeout(ctx, receiptTimeout)
	defer cancel()
	rec := tracker.Verify(rctx, f, phase, base)
	if rec == nil {
		return
	}
	r.locked(func() {
		fr := r.faults[f.Name]
		if phase == injectors.PhaseApplied {
			fr.Receipt = rec
		} else {
			fr.RevertReceipt = rec
		}
	})
	r.journal.Add("fault-receipt", map[string]any{"fault": f.Name, "phase": string(phase), "verified": rec.Verified, "skipped": rec.Skipped, "summary": rec.Summary, "took": rec.Took})
	log := r.log.WithFields(logrus.Fields{"fault": f.Name, "phase": string(phase), "took": rec.Took})
	switch {
	case rec.Failed() && phase == injectors.PhaseApplied:
		log.Warn("fault did not land: " + rec.Summary)
	case rec.Failed():
		log.Warn("fault still in place after its revert: " + rec.Summary)
	case rec.Skipped != "":
		log.Info("receipt " + rec.Summary)
	default:
		log.Info("receipt verified: " + rec.Summary)
	}
}

// awaitApplyReceipt waits until fault name's apply receipt is in (or ctx
// ends), so its revert does not change what is being measured.
func (r *runState) awaitApplyReceipt(ctx context.Context, name string) {
	r.rc.mu.Lock()
	done := r.rc.pending[name]
	r.rc.mu.Unlock()
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// awaitReceipts waits for every receipt in flight.
func (r *runState) awaitReceipts() { r.rc.wg.Wait() }

// plannedFault returns the planned fault named name.
func (r *runState) plannedFault(name string) (experiments.PlannedFault, bool) {
	for _, pf := range r.plan.Faults {
		if pf.Name == name {
			return pf, true
		}
	}
	return experiments.PlannedFault{}, false
}

// baselineOf returns fault name's baseline (empty when none was taken).
func (r *runState) baselineOf(name string) injectors.Baseline {
	r.rc.mu.Lock()
	defer r.rc.mu.Unlock()
	return r.rc.base[name]
}
