package crdt

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func randomLWW(rng *rand.Rand) LWWCounter {
	return LWWCounter{Value: rng.Int64N(100) - 50, Time: rng.Int64N(4), Logical: uint32(rng.IntN(3)), Actor: fmt.Sprintf("a%d", rng.IntN(3))}
}

func mergedLWW(a, b LWWCounter) LWWCounter { a.Merge(b); return a }

// TestLWWMergeIsAJoin: the register's merge is commutative, associative and
// idempotent, so its replicas converge like any CRDT's.
func TestLWWMergeIsAJoin(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 1))
	for i := range 2000 {
		a, b, c := randomLWW(rng), randomLWW(rng), randomLWW(rng)
		if mergedLWW(a, b) != mergedLWW(b, a) {
			t.Fatalf("%d: merge not commutative: %+v, %+v", i, a, b)
		}
		if mergedLWW(mergedLWW(a, b), c) != mergedLWW(a, mergedLWW(b, c)) {
			t.Fatalf("%d: merge not associative: %+v, %+v, %+v", i, a, b, c)
		}
		if mergedLWW(a, a) != a {
			t.Fatalf("%d: merge not idempotent: %+v", i, a)
		}
	}
}

// TestLWWCounterLosesConcurrentIncrements is the lesson the type is here for:
// two coordinators that read the same value (two sides of a partition) each
// write their own sum; after the heal the replicas agree on one of the sums,
// and the other side's increments are gone, where a PN-counter keeps both.
func TestLWWCounterLosesConcurrentIncrements(t *testing.T) {
	var left, right LWWCounter // each side's replica, starting from 0
	for i := range 3 {
		left.Merge(LWWCounter{Value: left.Value + 5, Time: int64(10 + i), Actor: "n1"})
		right.Merge(LWWCounter{Value: right.Value + 7, Time: int64(20 + i), Actor: "n4"})
	}
	healedL, err := MergeEncoded(TypeLWWCounter, left.Encode(), right.Encode())
	if err != nil {
		t.Fatal(err)
	}
	healedR, err := MergeEncoded(TypeLWWCounter, right.Encode(), left.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if string(healedL) != string(healedR) {
		t.Fatalf("the replicas did not converge: %s vs %s", healedL, healedR)
	}
	v, err := ViewOf(TypeLWWCounter, healedL)
	if err != nil {
		t.Fatal(err)
	}
	if *v.Value != 21 {
		t.Fatalf("healed value %d: want 21, the newer side's sum alone (the 15 added on the other side lost)", *v.Value)
	}

	var pl, pr Counter
	var dl, dr Counter
	for range 3 {
		dl = pl.Add("n1", 5)
		dr = pr.Add("n4", 7)
	}
	pl.Merge(dr)
	pr.Merge(dl)
	if pl.Value() != 36 || !pl.Equal(pr) {
		t.Fatalf("the PN-counter lost an increment: %d and %d, want 36 on both", pl.Value(), pr.Value())
	}
}

func TestDecodeLWWCounterRejectsGarbage(t *testing.T) {
	if _, err := DecodeLWWCounter([]byte("{")); err == nil {
		t.Fatal("decoded a truncated state")
	}
	if c, err := DecodeLWWCounter(nil); err != nil || c != (LWWCounter{}) {
		t.Fatalf("empty state: %+v, %v; want the zero register", c, err)
	}
}
