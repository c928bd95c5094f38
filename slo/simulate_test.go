package slo

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"
	"time"
)

// simulatedHistory generates n operations over keys keys from clients
// concurrent clients of a correct (linearizable) register: each operation
// takes effect at a random instant between its invocation and completion, in
// the order of those instants. A few writes end with an unknown outcome (and
// take effect or not), a few fail (and do not take effect).
func simulatedHistory(rng *rand.Rand, n, keys, clients int) []Op {
	type pending struct {
		op    Op
		point int64 // when it takes effect; -1: never
	}
	ops := make([]pending, 0, n)
	next := make([]int64, clients)
	for i := range n {
		c := i % clients
		invoke := next[c] + rng.Int64N(1000)
		complete := invoke + 1 + rng.Int64N(5000)
		next[c] = complete
		p := pending{op: Op{ID: uint64(i + 1), Client: c, Key: "k" + strconv.Itoa(rng.IntN(keys)),
			Invoke: invoke, Complete: complete, Outcome: OutcomeOK}, point: invoke + rng.Int64N(complete-invoke+1)}
		switch r := rng.IntN(100); {
		case r < 55:
			p.op.Kind = OpGet
		case r < 85:
			p.op.Kind, p.op.Value = OpPut, s(fmt.Sprintf("v%d", i+1))
		case r < 90:
			p.op.Kind = OpDelete
		default:
			p.op.Kind, p.op.Value = OpCAS, s(fmt.Sprintf("v%d", i+1))
		}
		if p.op.Kind != OpGet {
			switch r := rng.IntN(100); {
			case r < 2:
				p.op.Outcome, p.point = OutcomeFail, -1
			case r < 4:
				p.op.Outcome = OutcomeUnknown
				if rng.IntN(2) == 0 {
					p.point = -1
				}
			}
		}
		ops = append(ops, p)
	}
	order := make([]int, len(ops))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return ops[order[a]].point < ops[order[b]].point })
	state := map[string]*string{}
	for _, i := range order {
		p := &ops[i]
		if p.point < 0 {
			if p.op.Kind == OpCAS {
				p.op.Expect = s("never-held")
			}
			continue
		}
		cur := state[p.op.Key]
		switch p.op.Kind {
		case OpGet:
			p.op.Value = cur
		case OpPut:
			state[p.op.Key] = p.op.Value
		case OpDelete:
			delete(state, p.op.Key)
		case OpCAS:
			// Half the cas operations expect the current value and swap,
			// the others expect something else and are rejected.
			if rng.IntN(2) == 0 {
				p.op.Expect = cur
				state[p.op.Key] = p.op.Value
			} else {
				p.op.Expect = s("not-" + fmt.Sprint(cur))
				if p.op.Outcome == OutcomeOK {
					p.op.Outcome = OutcomeRejected
				}
			}
		}
	}
	out := make([]Op, len(ops))
	for i, p := range ops {
		out[i] = p.op
	}
	return out
}

// TestCheckLinearizableAgainstSimulatedRegister is a reference-model check:
// histories of a correct register pass, and the same history with one read
// answered from the past fails on that key, with that read in the window.
func TestCheckLinearizableAgainstSimulatedRegister(t *testing.T) {
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			ops := simulatedHistory(rng, 3000, 50, 8)
			if res := CheckLinearizable(ops, 10*time.Second); res.Verdict != Pass {
				t.Fatalf("correct register: %s (%s)", res.Verdict, res.Detail)
			}
			// Make a late successful read return a value that was
			// overwritten long before it began.
			bad := -1
			for i := len(ops) - 1; i >= 0 && bad < 0; i-- {
				if ops[i].Kind != OpGet || ops[i].Outcome != OutcomeOK {
					continue
				}
				for j := range ops[:i] {
					if ops[j].Key == ops[i].Key && ops[j].Kind == OpPut && ops[j].Outcome == OutcomeOK && ops[j].Complete < ops[i].Invoke &&
						(ops[i].Value == nil || *ops[i].Value != *ops[j].Value) && overwrittenBefore(ops, j, ops[i].Invoke) {
						ops[i].Value, bad = ops[j].Value, i
						break
					}
				}
			}
			if bad < 0 {
				t.Fatal("no read to corrupt")
			}
			res := CheckLinearizable(ops, 10*time.Second)
			if res.Verdict != Fail || len(res.BadKeys) != 1 || res.BadKeys[0] != ops[bad].Key {
				t.Fatalf("stale read of %s: %s, bad keys %v (%s)", ops[bad].Key, res.Verdict, res.BadKeys, res.Detail)
			}
			inWindow := false
			for _, w := range res.Violations[0].Window {
				inWindow = inWindow || w.ID == ops[bad].ID
			}
			if !inWindow {
				t.Fatalf("stale read op %d not in the window: %s", ops[bad].ID, res.Violations[0])
			}
		})
	}
}

// overwrittenBefore reports whether the put ops[j] was followed, before t,
// by an acknowledged put or delete of the same key that began after it ended.
func overwrittenBefore(ops []Op, j int, t int64) bool {
	for _, o := range ops {
		if o.Key == ops[j].Key && (o.Kind == OpPut || o.Kind == OpDelete) && o.Outcome == OutcomeOK &&
			o.Invoke > ops[j].Complete && o.Complete < t {
			return true
		}
	}
	return false
}

// BenchmarkCheckLinearizable100k checks a 100,000-operation history over
// 1,000 keys from 32 concurrent clients in one call (the aim is ≤ 5 s).
func BenchmarkCheckLinearizable100k(b *testing.B) {
	ops := simulatedHistory(rand.New(rand.NewPCG(42, 1)), 100_000, 1000, 32)
	b.ResetTimer()
	for b.Loop() {
		res := CheckLinearizable(ops, time.Minute)
		if res.Verdict != Pass {
			b.Fatalf("%s: %s", res.Verdict, res.Detail)
		}
	}
}
