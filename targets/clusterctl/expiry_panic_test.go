package clusterctl

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/crash"
)

// resumePanicsOnce is a fakeTarget whose first Resume panics.
type resumePanicsOnce struct {
	*fakeTarget
	panicked atomic.Bool
}

func (t *resumePanicsOnce) Resume(ctx context.Context, id string) error {
	if t.panicked.CompareAndSwap(false, true) {
		panic("injected by the test: resume " + id)
	}
	return t.fakeTarget.Resume(ctx, id)
}

// A panic while a fault expires does not end `cluster up` with the fault
// applied: the manager hands it to its owner (who shuts the cluster down),
// and Shutdown then reverts the fault.
func TestAPanicAtAFaultsExpiryIsHandedOverAndShutdownStillReverts(t *testing.T) {
	m, target, clock, ledger := newTestManager(t)
	panicky := &resumePanicsOnce{fakeTarget: target}
	m.tracker = injectors.NewTracker(injectors.DefaultRegistry(), panicky, ledger, quietLog())
	var got *crash.Panic
	m.onPanic = func(p *crash.Panic) { got = p }
	if _, err := m.Apply(context.Background(), pauseReq("nap", "1s", "n1")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second) // the expiry runs here, and panics
	if got == nil || got.Where != "the expiry of fault nap" || len(got.Stack) == 0 {
		t.Fatalf("onPanic got %+v, want the expiry's panic with its stack", got)
	}
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls := target.Calls(); !slices.Equal(calls, []string{"pause n1", "resume n1"}) {
		t.Fatalf("target calls %v, want the pause reverted by the shutdown", calls)
	}
	assertLedgerReverted(t, ledger, "nap")
}
