package node

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo/crdt"
)

// fiveEventual is cap-ap's store: 5 nodes, n=3, eventual (w = r = 1).
func fiveEventual() Config {
	return Config{
		Nodes: []string{"n1", "n2", "n3", "n4", "n5"}, VNodes: 8, N: 3,
		Consistency: Eventual, Timeout: time.Second, Recovery: RecoveryNone,
		HintInterval: 10 * time.Millisecond,
	}
}

// localStates returns the encoded state each home replica of key holds.
func localStates(t *testing.T, f *fakeNet, typ, key string) map[string]string {
	t.Helper()
	skey := CRDTStorageKey(typ, key)
	out := map[string]string{}
	for _, id := range f.node("n1").ring.Preference(skey, f.cfg.N) {
		rep := f.node(id).ReplicaRead(context.Background(), skey)
		if rep.Err != nil {
			t.Fatalf("read %s on %s: %v", skey, id, rep.Err)
		}
		v, err := crdt.ViewOf(typ, rep.Rec.Value)
		if err != nil {
			t.Fatalf("decode %s on %s: %v", skey, id, err)
		}
		out[id] = v.String()
	}
	return out
}

func converged(states map[string]string) (string, bool) {
	var first string
	for _, s := range states {
		if first == "" {
			first = s
		}
		if s != first {
			return "", false
		}
	}
	return first, true
}

// TestCRDTsConvergeAfterAPartition: updates coordinated on both sides of a
// partition (each side acknowledges with w = 1) are all in every home
// replica's state once the partition heals and the hints are handed off: the
// counter's value is the sum of the deltas, the set holds what was added and
// not removed after it was observed.
func TestCRDTsConvergeAfterAPartition(t *testing.T) {
	f := newFakeNet(t, fiveEventual())
	minority := map[string]bool{"n1": true, "n2": true}
	f.setPolicy(func(m *message) fate {
		if minority[m.from] != minority[m.to] {
			return drop
		}
		return deliver
	})
	rng := rand.New(rand.NewPCG(20, 3))
	ctx := context.Background()
	var want int64
	for i := range 60 {
		coord := f.cfg.Nodes[rng.IntN(len(f.cfg.Nodes))]
		d := int64(rng.IntN(9)) - 3
		if d == 0 {
			d = 1
		}
		key := fmt.Sprintf("c%d", i%2)
		if err := f.node(coord).CRDTUpdate(ctx, crdt.TypeCounter, key, CRDTOp{Delta: &d}, ""); err != nil {
			t.Fatalf("update %d on %s: %v", i, coord, err)
		}
		want += d
	}
	add := func(coord, e string) {
		t.Helper()
		if err := f.node(coord).CRDTUpdate(ctx, crdt.TypeSet, "s", CRDTOp{Add: &e}, ""); err != nil {
			t.Fatalf("add %s on %s: %v", e, coord, err)
		}
	}
	remove := func(coord, e string) {
		t.Helper()
		if err := f.node(coord).CRDTUpdate(ctx, crdt.TypeSet, "s", CRDTOp{Remove: &e}, ""); err != nil {
			t.Fatalf("remove %s on %s: %v", e, coord, err)
		}
	}
	add("n1", "a")
	add("n4", "b")
	add("n5", "a") // the majority's own add of a
	remove("n4", "a")

	f.setPolicy(nil)
	var c0, c1, set map[string]string
	settled := func() bool {
		for _, id := range f.cfg.Nodes {
			if f.node(id).Unsettled() != "" {
				return false
			}
		}
		c0, c1, set = localStates(t, f, crdt.TypeCounter, "c0"), localStates(t, f, crdt.TypeCounter, "c1"), localStates(t, f, crdt.TypeSet, "s")
		_, ok0 := converged(c0)
		_, ok1 := converged(c1)
		_, ok2 := converged(set)
		return ok0 && ok1 && ok2
	}
	testkit.Eventually(t, 10*time.Second, "every home replica holds the same states after the heal", settled)
	var sum int64
	for _, states := range []map[string]string{c0, c1} {
		s, _ := converged(states)
		var v crdt.View
		v, _ = viewFromString(s)
		sum += *v.Value
	}
	if sum != want {
		t.Fatalf("the counters sum to %d, want %d (every delta acknowledged): %v %v", sum, want, c0, c1)
	}
	s, _ := converged(set)
	v, _ := viewFromString(s)
	// a: n1's add was never observed by n4's remove (the partition), so it
	// survives it.
	if !slices.Equal(v.Elements, []string{"a", "b"}) {
		t.Fatalf("the set holds %v, want [a b]: %v", v.Elements, set)
	}
	// Healed and converged, a remove observes every add of a.
	remove("n3", "a")
	testkit.Eventually(t, 10*time.Second, "every home replica holds the same states after the remove", settled)
	s, _ = converged(set)
	if v, _ = viewFromString(s); !slices.Equal(v.Elements, []string{"b"}) {
		t.Fatalf("after a remove that observed every add, the set holds %v, want [b]: %v", v.Elements, set)
	}
}

func viewFromString(s string) (crdt.View, error) {
	var v crdt.View
	err := json.Unmarshal([]byte(s), &v)
	return v, err
}

// TestLWWCounterLosesTheOtherSidesIncrements: the foil of the PN-counter.
// Increments of an lww-counter coordinated on both sides of a partition each
// write a sum of what their side saw; after the heal the home replicas agree,
// on the newer side's sum, and the other side's acknowledged increments are
// gone.
func TestLWWCounterLosesTheOtherSidesIncrements(t *testing.T) {
	f := newFakeNet(t, fiveEventual())
	minority := map[string]bool{"n1": true, "n2": true}
	// A key with a home replica on each side, so each side can read it.
	key := ""
	for i := range 100 {
		pref := f.node("n1").ring.Preference(CRDTStorageKey(crdt.TypeLWWCounter, fmt.Sprint("c", i)), f.cfg.N)
		if slices.ContainsFunc(pref, func(id string) bool { return minority[id] }) &&
			slices.ContainsFunc(pref, func(id string) bool { return !minority[id] }) {
			key = fmt.Sprint("c", i)
			break
		}
	}
	if key == "" {
		t.Fatal("no key with a home replica on each side")
	}
	ctx := context.Background()
	incr := func(coord string, d int64) {
		t.Helper()
		if err := f.node(coord).CRDTUpdate(ctx, crdt.TypeLWWCounter, key, CRDTOp{Delta: &d}, ""); err != nil {
			t.Fatalf("incr %d on %s: %v", d, coord, err)
		}
	}
	incr("n3", 10) // before the partition, seen by both sides once settled
	testkit.Eventually(t, 10*time.Second, "the first increment on every home replica", func() bool {
		s, ok := converged(localStates(t, f, crdt.TypeLWWCounter, key))
		return ok && s == `{"type":"lww-counter","value":10}`
	})
	f.setPolicy(func(m *message) fate {
		if minority[m.from] != minority[m.to] {
			return drop
		}
		return deliver
	})
	for range 3 {
		incr("n1", 1) // the minority: 11, 12, 13
	}
	for range 2 {
		incr("n4", 5) // the majority, later on the clock: 15, 20
	}
	f.setPolicy(nil)
	var final string
	testkit.Eventually(t, 10*time.Second, "every home replica holds the same sum after the heal", func() bool {
		for _, id := range f.cfg.Nodes {
			if f.node(id).Unsettled() != "" {
				return false
			}
		}
		s, ok := converged(localStates(t, f, crdt.TypeLWWCounter, key))
		final = s
		return ok
	})
	v, err := viewFromString(final)
	if err != nil {
		t.Fatal(err)
	}
	if *v.Value != 20 {
		t.Fatalf("the replicas agree on %d, want 20: the majority's last sum, without the minority's 3 (23 acknowledged in all)", *v.Value)
	}
}
