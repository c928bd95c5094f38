package slo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// TestReductionsKeepTheVerdict is the property behind the proofs in
// reduce.go: on many small random histories (correct ones, and ones with a
// read, a value or an outcome corrupted), porcupine gives the same answer on
// the reduced history as on the original.
func TestReductionsKeepTheVerdict(t *testing.T) {
	n := 6000
	if testing.Short() {
		n = 1000
	}
	rng := rand.New(rand.NewPCG(13, 13))
	verdicts := map[porcupine.CheckResult]int{}
	var red Reduced
	for i := range n {
		ops := smallHistory(rng)
		history := ToPorcupine(ops)
		want := porcupine.CheckOperationsTimeout(RegisterModel, history, time.Second)
		if want == porcupine.Unknown {
			continue
		}
		var r Reduced
		reduced := reduce(history, &r)
		got := porcupine.CheckOperationsTimeout(RegisterModel, reduced, time.Second)
		if got != want {
			t.Fatalf("history %d: original %v, reduced %v (%+v)\n%s", i, want, got, r, describeOps(ops))
		}
		verdicts[want]++
		red.Unobserved += r.Unobserved
		red.Closed += r.Closed
		red.RepeatedKeys += r.RepeatedKeys
	}
	t.Logf("%d histories: %d ok, %d illegal; %d unknown writes left out, %d closed, %d keys with repeated values",
		n, verdicts[porcupine.Ok], verdicts[porcupine.Illegal], red.Unobserved, red.Closed, red.RepeatedKeys)
	if verdicts[porcupine.Ok] < n/10 || verdicts[porcupine.Illegal] < n/10 || red.Unobserved < n/10 || red.Closed < n/20 || red.RepeatedKeys < n/50 {
		t.Fatalf("the histories do not exercise the reductions: %v, %+v", verdicts, red)
	}
}

// smallHistory is a register history of about a dozen operations on one or
// two keys, a third of the writes unknown, often corrupted.
func smallHistory(rng *rand.Rand) []Op {
	cfg := simConfig{ops: 8 + rng.IntN(8), keys: 1 + rng.IntN(2), clients: 4, readPct: 40, putPct: 30, deletePct: 10,
		think: 1000, latency: 4000, failPct: 10, unknown: func(float64) int { return 30 }, landPct: 50, late: 8000}
	ops := simulate(rng, cfg).ops
	var values []*string
	for _, op := range ops {
		if op.Kind == OpPut || op.Kind == OpCAS {
			values = append(values, op.Value)
		}
	}
	values = append(values, nil)
	pick := func() *string { return values[rng.IntN(len(values))] }
	for range 1 + rng.IntN(3) {
		op := &ops[rng.IntN(len(ops))]
		switch rng.IntN(4) {
		case 0: // a read of another value
			if op.Kind == OpGet {
				op.Value = pick()
			}
		case 1: // a repeated value
			if op.Kind == OpPut || op.Kind == OpCAS {
				if v := pick(); v != nil {
					op.Value = v
				}
			}
		case 2: // a cas expecting another value
			if op.Kind == OpCAS {
				op.Expect = pick()
			}
		case 3: // another outcome
			if op.Kind != OpGet {
				op.Outcome = []Outcome{OutcomeOK, OutcomeUnknown, OutcomeFail, OutcomeRejected}[rng.IntN(4)]
				if op.Kind != OpCAS && op.Outcome == OutcomeRejected {
					op.Outcome = OutcomeOK
				}
			}
		}
	}
	return ops
}

func describeOps(ops []Op) string {
	str := func(p *string) string {
		if p == nil {
			return "∅"
		}
		return *p
	}
	out := ""
	for _, op := range ops {
		out += fmt.Sprintf("  %d %s %s value %s expect %s [%d, %d] %s\n", op.ID, op.Kind, op.Key, str(op.Value), str(op.Expect), op.Invoke, op.Complete, op.Outcome)
	}
	return out
}

// TestReductions shows each reduction on a hand-written history: what it
// leaves out or closes, and what it must keep.
func TestReductions(t *testing.T) {
	put := putOp
	get := func(id uint64, v *string, inv, comp int64) Op {
		return Op{ID: id, Kind: OpGet, Key: "k", Value: v, Invoke: inv, Complete: comp, Outcome: OutcomeOK}
	}
	del := delOp
	cas := casOp
	cases := []struct {
		name   string
		ops    []Op
		want   Reduced
		verdit Verdict
		closed map[uint64]int64 // op id → its end after the reductions
	}{
		{"unknown put nobody read is left out", []Op{put(1, "a", 0, 10, OutcomeOK), put(2, "b", 20, 30, OutcomeUnknown), get(3, s("a"), 40, 50)},
			Reduced{Unobserved: 1, Searched: 2}, Pass, nil},
		{"unknown put read before it began is left out", []Op{put(1, "a", 0, 10, OutcomeOK), get(2, s("b"), 12, 15), put(3, "b", 20, 30, OutcomeUnknown)},
			Reduced{Unobserved: 1, Searched: 2}, Fail, nil},
		{"unknown put read later is closed at the first read", []Op{put(1, "a", 20, 30, OutcomeUnknown), get(2, nil, 40, 50), get(3, s("a"), 60, 70), get(4, s("a"), 65, 80)},
			Reduced{Closed: 1, Searched: 4}, Pass, map[uint64]int64{1: 70}},
		{"unknown put read concurrently is closed", []Op{put(1, "a", 20, 30, OutcomeUnknown), get(2, s("a"), 10, 25)},
			Reduced{Closed: 1, Searched: 2}, Pass, map[uint64]int64{1: 25}},
		{"failed writes and unanswered reads are left out", []Op{put(1, "a", 0, 10, OutcomeFail), del(2, 0, 10, OutcomeFail),
			{ID: 3, Kind: OpGet, Key: "k", Invoke: 20, Complete: 30, Outcome: OutcomeUnknown}, {ID: 4, Kind: OpGet, Key: "k", Invoke: 20, Complete: 30, Outcome: OutcomeFail}, get(5, nil, 40, 50)},
			Reduced{FailedWrites: 2, UnansweredReads: 2, Searched: 1}, Pass, nil},
		{"unknown delete nobody saw absent after it is left out", []Op{get(1, nil, 0, 5), put(2, "a", 10, 20, OutcomeOK), del(3, 30, 40, OutcomeUnknown), get(4, s("a"), 50, 60)},
			Reduced{Unobserved: 1, Searched: 3}, Pass, nil},
		{"unknown delete seen absent stays open", []Op{put(1, "a", 10, 20, OutcomeOK), del(2, 30, 40, OutcomeUnknown), get(3, nil, 50, 60)},
			Reduced{Searched: 3}, Pass, map[uint64]int64{2: math.MaxInt64}},
		{"unknown put with a rejected cas after it stays open", []Op{put(1, "a", 0, 10, OutcomeOK), put(2, "b", 20, 30, OutcomeUnknown), cas(3, s("a"), "c", 40, 50, OutcomeRejected)},
			Reduced{Searched: 3}, Pass, map[uint64]int64{2: math.MaxInt64}},
		{"unknown put a cas expects is closed", []Op{put(1, "a", 0, 10, OutcomeUnknown), cas(2, s("a"), "c", 40, 50, OutcomeOK)},
			Reduced{Closed: 1, Searched: 2}, Pass, map[uint64]int64{1: 50}},
		{"unknown cas nobody observed is left out", []Op{put(1, "a", 0, 10, OutcomeOK), cas(2, s("a"), "b", 20, 30, OutcomeUnknown), get(3, s("a"), 40, 50)},
			Reduced{Unobserved: 1, Searched: 2}, Pass, nil},
		{"chained unknown cas go one after the other", []Op{put(1, "a", 0, 10, OutcomeUnknown), cas(2, s("a"), "b", 20, 30, OutcomeUnknown), get(3, nil, 40, 50)},
			Reduced{Unobserved: 2, Searched: 1}, Pass, nil},
		{"repeated values are not closed", []Op{put(1, "a", 0, 10, OutcomeUnknown), put(2, "a", 20, 30, OutcomeOK), get(3, s("a"), 40, 50)},
			Reduced{RepeatedKeys: 1, Searched: 3}, Pass, map[uint64]int64{1: math.MaxInt64}},
		// Closing op 4 at the end of the read of the other "a" (10) would
		// force it before the last read, which then could not see absence.
		{"a repeated value read is not proof the unknown write landed", []Op{put(1, "a", 0, 1, OutcomeOK), get(2, s("a"), 2, 10),
			del(3, 3, 4, OutcomeOK), put(4, "a", 5, 6, OutcomeUnknown), get(5, nil, 11, 12)},
			Reduced{RepeatedKeys: 1, Searched: 5}, Pass, map[uint64]int64{4: math.MaxInt64}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := CheckLinearizable(tc.ops, 5*time.Second)
			if res.Reduced != tc.want || res.Verdict != tc.verdit {
				t.Fatalf("%s, reduced %+v; want %s, %+v (%s)", res.Verdict, res.Reduced, tc.verdit, tc.want, res.Detail)
			}
			for id, end := range tc.closed {
				found := false
				for _, op := range res.History {
					if m := op.Metadata.(opMeta); m.id == id {
						found = true
						if op.Return != end || m.closed != (end != math.MaxInt64) {
							t.Fatalf("op %d ends at %d (closed %t), want %d", id, op.Return, m.closed, end)
						}
					}
				}
				if !found {
					t.Fatalf("op %d left out", id)
				}
			}
		})
	}
}

// TestCheckLinearizableFinishesOnHardHistory: the CP-shaped history of
// BenchmarkCheckLinearizableHard with a stale read, on which porcupine alone
// runs out of its 30 s budget (see the benchmark), fails on the right key
// within a few seconds.
func TestCheckLinearizableFinishesOnHardHistory(t *testing.T) {
	ops := simulate(rand.New(rand.NewPCG(0, 7)), hardSim()).ops
	bad := corruptRead(ops)
	start := time.Now()
	res := CheckLinearizable(ops, 30*time.Second)
	if took := time.Since(start); res.Verdict != Fail || len(res.BadKeys) != 1 || res.BadKeys[0] != ops[bad].Key || took > 5*time.Second {
		t.Fatalf("stale read of %s: %s in %s, bad keys %v (%s)", ops[bad].Key, res.Verdict, took, res.BadKeys, res.Detail)
	}
	if res.Reduced.Unobserved == 0 || res.Reduced.Closed == 0 || res.Reduced.Searched >= res.Operations {
		t.Fatalf("reductions %+v on %d operations", res.Reduced, res.Operations)
	}
}
