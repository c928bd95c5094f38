package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// Two coordinators compare-and-set one key from the same read (a barrier in
// the update makes sure both read before either writes): the replicas'
// condition lets exactly one win; the other is refused everywhere
// (ErrConflict) or reached a minority (indeterminate), never a success.
func TestCompareAndSetFromTwoCoordinatorsHasOneWinner(t *testing.T) {
	f := newFakeNet(t, threeNodes(RecoveryResync))
	testkit.Eventually(t, 5*time.Second, "the first start's catch-up", allRecovered(f))
	for round := range 20 {
		key := fmt.Sprintf("cas-%d", round)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var (
			read sync.WaitGroup
			wg   sync.WaitGroup
			errs [2]error
		)
		read.Add(2)
		for i, id := range []string{"n1", "n2"} {
			wg.Go(func() {
				_, errs[i] = f.node(id).CompareAndSet(ctx, key, func(cur storage.Record, found bool) ([]byte, error) {
					read.Done()
					read.Wait() // both have read before either writes
					return []byte("from-" + id), nil
				}, "")
			})
		}
		wg.Wait()
		cancel()
		wins := 0
		for i, err := range errs {
			var qe *QuorumError
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ErrConflict), errors.As(err, &qe) && qe.Indeterminate:
			default:
				t.Fatalf("round %d: coordinator %d: %v", round, i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d winners (%v), want 1", round, wins, errs)
		}
	}
}

// A compare-and-set is refused outside the linearizable mode.
func TestCompareAndSetNeedsLinearizable(t *testing.T) {
	cfg := threeNodes(RecoveryNone)
	cfg.Consistency = Quorum
	f := newFakeNet(t, cfg)
	_, err := f.node("n1").CompareAndSet(context.Background(), "k", func(storage.Record, bool) ([]byte, error) { return []byte("v"), nil }, "")
	if !errors.Is(err, ErrNotLinearizable) {
		t.Fatalf("quorum mode: %v, want ErrNotLinearizable", err)
	}
}
