package crdt

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomCounter draws a counter state over a few actors.
func randomCounter(rng *rand.Rand) Counter {
	var c Counter
	for range rng.IntN(6) {
		d := int64(rng.IntN(9)) - 4
		c.Add(fmt.Sprintf("a%d", rng.IntN(3)), d)
	}
	return c
}

// randomSet draws a set state over a few elements and tags.
func randomSet(rng *rand.Rand) Set {
	var s Set
	for range rng.IntN(6) {
		e := fmt.Sprintf("e%d", rng.IntN(3))
		if rng.IntN(3) == 0 {
			s.Remove(e)
		} else {
			s.Add(e, fmt.Sprintf("t%d", rng.IntN(8)))
		}
	}
	return s
}

func mergedCounter(a, b Counter) Counter { c := a.Clone(); c.Merge(b); return c }
func mergedSet(a, b Set) Set             { s := a.Clone(); s.Merge(b); return s }

// TestMergeIsAJoin checks the three laws of a join on seeded random states:
// commutative, associative, idempotent.
func TestMergeIsAJoin(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 1))
	for i := range 500 {
		a, b, c := randomCounter(rng), randomCounter(rng), randomCounter(rng)
		if !mergedCounter(a, b).Equal(mergedCounter(b, a)) {
			t.Fatalf("counter %d: merge not commutative: %s, %s", i, a.Encode(), b.Encode())
		}
		if !mergedCounter(mergedCounter(a, b), c).Equal(mergedCounter(a, mergedCounter(b, c))) {
			t.Fatalf("counter %d: merge not associative", i)
		}
		if !mergedCounter(a, a).Equal(a) || !mergedCounter(mergedCounter(a, b), b).Equal(mergedCounter(a, b)) {
			t.Fatalf("counter %d: merge not idempotent", i)
		}
		x, y, z := randomSet(rng), randomSet(rng), randomSet(rng)
		if !mergedSet(x, y).Equal(mergedSet(y, x)) {
			t.Fatalf("set %d: merge not commutative: %s, %s", i, x.Encode(), y.Encode())
		}
		if !mergedSet(mergedSet(x, y), z).Equal(mergedSet(x, mergedSet(y, z))) {
			t.Fatalf("set %d: merge not associative", i)
		}
		if !mergedSet(x, x).Equal(x) || !mergedSet(mergedSet(x, y), y).Equal(mergedSet(x, y)) {
			t.Fatalf("set %d: merge not idempotent", i)
		}
	}
}

// delivery is one delta on its way to one replica.
type delivery struct {
	replica int
	state   []byte
}

// TestInterleavingsConverge makes updates at random actors, delivers every
// delta to every replica in a seeded random order, some of them twice, and
// checks that the replicas end equal, with the counter's value the sum of the
// deltas and the set holding what a sequential reference says.
func TestInterleavingsConverge(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 2))
		const replicas = 3
		// The counter: every actor keeps its own state (as a coordinator
		// keeps its totals) and emits deltas.
		actors := make([]Counter, 3)
		var want int64
		var pending []delivery
		for range 40 {
			a := rng.IntN(len(actors))
			d := int64(rng.IntN(11)) - 5
			want += d
			delta := actors[a].Add(fmt.Sprintf("a%d", a), d)
			for r := range replicas {
				for range 1 + rng.IntN(2) { // duplicated deliveries
					pending = append(pending, delivery{r, delta.Encode()})
				}
			}
		}
		rng.Shuffle(len(pending), func(i, j int) { pending[i], pending[j] = pending[j], pending[i] })
		states := make([][]byte, replicas)
		for _, d := range pending {
			m, err := MergeEncoded(TypeCounter, states[d.replica], d.state)
			if err != nil {
				t.Fatal(err)
			}
			states[d.replica] = m
		}
		for r := range replicas {
			c, err := DecodeCounter(states[r])
			if err != nil {
				t.Fatal(err)
			}
			if c.Value() != want {
				t.Fatalf("seed %d: replica %d counts %d, want %d", seed, r, c.Value(), want)
			}
			if string(states[r]) != string(states[0]) {
				t.Fatalf("seed %d: replicas 0 and %d differ: %s vs %s", seed, r, states[0], states[r])
			}
		}

		// The set: a remove observes the state of the replica that coordinates
		// it, after every delta sent so far reached that replica (sequential
		// updates), so the reference is a plain set.
		var coord Set
		ref := map[string]bool{}
		var deltas [][]byte
		for i := range 40 {
			e := fmt.Sprintf("e%d", rng.IntN(4))
			var d Set
			if rng.IntN(3) == 0 {
				d = coord.Remove(e)
				delete(ref, e)
			} else {
				d = coord.Add(e, fmt.Sprintf("t%d", i))
				ref[e] = true
			}
			deltas = append(deltas, d.Encode())
		}
		sets := make([]Set, replicas)
		for r := range replicas {
			order := rng.Perm(len(deltas))
			for _, i := range order {
				d, err := DecodeSet(deltas[i])
				if err != nil {
					t.Fatal(err)
				}
				sets[r].Merge(d)
			}
		}
		var wantElems []string
		for e := range ref {
			wantElems = append(wantElems, e)
		}
		slices.Sort(wantElems)
		for r := range replicas {
			if got := sets[r].Elements(); !slices.Equal(got, wantElems) {
				t.Fatalf("seed %d: replica %d holds %v, want %v", seed, r, got, wantElems)
			}
		}
	}
}

// TestAddWinsOverAConcurrentRemove: a remove deletes only the adds it
// observed.
func TestAddWinsOverAConcurrentRemove(t *testing.T) {
	var left, right Set
	left.Merge(left.Add("x", "t1"))
	right.Merge(left)
	concurrentAdd := left.Add("x", "t2") // right has not seen t2
	remove := right.Remove("x")
	left.Merge(remove)
	right.Merge(concurrentAdd)
	if !left.Contains("x") || !right.Contains("x") || !left.Equal(right) {
		t.Fatalf("after a remove concurrent with an add, x must stay: left %s, right %s", left.Encode(), right.Encode())
	}
	left.Merge(left.Remove("x"))
	if left.Contains("x") {
		t.Fatalf("a remove that observed every add must remove x: %s", left.Encode())
	}
}

func TestEncodeIsDeterministicAndRoundTrips(t *testing.T) {
	var c Counter
	c.Add("b", 3)
	c.Add("a", -2)
	c.Add("c", 1)
	if got, want := string(c.Encode()), `{"p":{"b":3,"c":1},"n":{"a":2}}`; got != want {
		t.Fatalf("encode = %s, want %s", got, want)
	}
	back, err := DecodeCounter(c.Encode())
	if err != nil || !back.Equal(c) || back.Value() != 2 {
		t.Fatalf("round trip: %v, %s (value %d)", err, back.Encode(), back.Value())
	}
	if _, err := DecodeCounter([]byte("{")); err == nil {
		t.Fatal("a broken state must not decode")
	}
	v, err := ViewOf(TypeSet, []byte(`{"adds":{"y":{"t1":true},"x":{"t2":true}},"removed":{"t1":true}}`))
	if err != nil || v.String() != `{"type":"set","elements":["x"]}` {
		t.Fatalf("view = %s, %v", v.String(), err)
	}
	if _, err := MergeEncoded("map", nil, nil); err == nil {
		t.Fatal("an unknown type must be refused")
	}
}
