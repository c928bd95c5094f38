package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/probes/workload"
)

// ErrCrashed wraps a panic in a run, on its own goroutine or any goroutine
// it started (the fault scheduler, probes, progress, the workload's
// workers): the run was ended and every fault was reverted before Run
// returned, unless the error also wraps ErrEnvironment (a revert failed).
// The error wraps the *crash.Panic, with the goroutine and its stack.
var ErrCrashed = errors.New("chaosctl crashed")

// panicHook, set only by tests, runs at the points of the run's goroutines
// named "probe" (a live probe's sample) and "workload" (a workload request),
// so that a test can make one of them panic.
var panicHook func(where string)

func panicPoint(where string) {
	if panicHook != nil {
		panicHook(where)
	}
}

// withPanicPoint is d, with the panicPoint "workload" before every request
// while panicHook is set.
func withPanicPoint(d workload.Driver) workload.Driver {
	if panicHook == nil {
		return d
	}
	return workload.DriverFunc(func(ctx context.Context, op workload.Op) workload.Result {
		panicPoint("workload")
		return d.Do(ctx, op)
	})
}

// crashed ends the run on the panic p: it logs p with its stack and cancels
// the run, which reverts every fault. The first panic is the run's crash;
// one reported again (a cancellation's cause passed on) is ignored.
func (r *runState) crashed(p *crash.Panic) {
	if !r.crash.CompareAndSwap(nil, p) && r.crash.Load() == p {
		return
	}
	r.log.WithFields(logrus.Fields{"goroutine": p.Where, "stack": string(p.Stack)}).
		Errorf("%v: reverting every fault and ending the run", p)
	if r.cancel != nil {
		r.cancel(p)
	}
}

// goSafe runs fn in a new goroutine of the run; a panic in it ends the run
// as crashed (see crashed) instead of the process.
func (r *runState) goSafe(where string, fn func()) {
	go func() {
		defer crash.Recover(where, r.crashed)
		fn()
	}()
}

// crashErr is the error of a crashed run: nil when nothing panicked.
func (r *runState) crashErr() error {
	if p := r.crash.Load(); p != nil {
		return fmt.Errorf("%w: %w", ErrCrashed, p)
	}
	return nil
}
