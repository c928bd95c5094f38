package slo

import (
	"fmt"
	"testing"
	"time"
)

func s(v string) *string { return &v }

// Operations on key "k" for table tests.
func putOp(id uint64, v string, inv, comp int64, o Outcome) Op {
	return Op{ID: id, Kind: OpPut, Key: "k", Value: s(v), Invoke: inv, Complete: comp, Outcome: o}
}

func delOp(id uint64, inv, comp int64, o Outcome) Op {
	return Op{ID: id, Kind: OpDelete, Key: "k", Invoke: inv, Complete: comp, Outcome: o}
}

func casOp(id uint64, expect *string, v string, inv, comp int64, o Outcome) Op {
	return Op{ID: id, Kind: OpCAS, Key: "k", Expect: expect, Value: s(v), Invoke: inv, Complete: comp, Outcome: o}
}

func TestCheckLinearizableOnHandWrittenHistories(t *testing.T) {
	// Operations on key "x" by client c, invoked at inv and complete at comp;
	// every read and delete is ok.
	put := func(c int, v string, inv, comp int64, o Outcome) Op {
		return Op{Client: c, Kind: OpPut, Key: "x", Value: s(v), Invoke: inv, Complete: comp, Outcome: o}
	}
	get := func(c int, v *string, inv, comp int64) Op {
		return Op{Client: c, Kind: OpGet, Key: "x", Value: v, Invoke: inv, Complete: comp, Outcome: OutcomeOK}
	}
	del := func(c int, inv, comp int64) Op {
		return Op{Client: c, Kind: OpDelete, Key: "x", Invoke: inv, Complete: comp, Outcome: OutcomeOK}
	}
	cas := func(c int, expect *string, v string, inv, comp int64, o Outcome) Op {
		return Op{Client: c, Kind: OpCAS, Key: "x", Expect: expect, Value: s(v), Invoke: inv, Complete: comp, Outcome: o}
	}
	cases := []struct {
		name string
		ops  []Op
		want Verdict
	}{
		{"sequential put then get", []Op{
			put(0, "a", 0, 10, OutcomeOK),
			get(1, s("a"), 20, 30),
		}, Pass},
		{"stale read", []Op{
			put(0, "a", 0, 10, OutcomeOK),
			put(0, "b", 20, 30, OutcomeOK),
			get(1, s("a"), 40, 50),
		}, Fail},
		{"lost write: read not found after an acknowledged put", []Op{
			put(0, "a", 0, 10, OutcomeOK),
			get(1, nil, 20, 30),
		}, Fail},
		{"unknown write that took effect later is legal", []Op{
			put(0, "a", 0, 10, OutcomeUnknown),
			get(1, nil, 20, 30),
			get(1, s("a"), 40, 50),
		}, Pass},
		{"failed write that becomes visible is illegal", []Op{
			put(0, "a", 0, 10, OutcomeFail),
			get(1, s("a"), 20, 30),
		}, Fail},
		{"concurrent writes either order", []Op{
			put(0, "a", 0, 30, OutcomeOK),
			put(1, "b", 5, 25, OutcomeOK),
			get(2, s("a"), 40, 50),
		}, Pass},
		{"delete then read", []Op{
			put(0, "a", 0, 10, OutcomeOK),
			del(0, 20, 30),
			get(1, nil, 40, 50),
		}, Pass},
		{"cas on the current value", []Op{
			put(0, "a", 0, 10, OutcomeOK),
			cas(0, s("a"), "b", 20, 30, OutcomeOK),
			get(1, s("b"), 40, 50),
		}, Pass},
		{"cas swapped a value the key did not hold", []Op{
			put(0, "a", 0, 10, OutcomeOK),
			cas(0, s("z"), "b", 20, 30, OutcomeOK),
		}, Fail},
		{"cas on an absent key", []Op{
			cas(0, nil, "b", 0, 10, OutcomeOK),
			get(1, s("b"), 20, 30),
		}, Pass},
		{"rejected cas while the key held the expected value", []Op{
			put(0, "a", 0, 10, OutcomeOK),
			cas(0, s("a"), "b", 20, 30, OutcomeRejected),
		}, Fail},
		{"failed cas has no effect", []Op{
			put(0, "a", 0, 10, OutcomeOK),
			cas(0, s("a"), "b", 20, 30, OutcomeFail),
			get(1, s("a"), 40, 50),
		}, Pass},
		{"unknown cas may or may not apply", []Op{
			put(0, "a", 0, 10, OutcomeOK),
			cas(0, s("a"), "b", 20, 30, OutcomeUnknown),
			get(1, s("a"), 40, 50),
			get(1, s("b"), 60, 70),
		}, Pass},
		{"no operations", nil, Inconclusive},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := CheckLinearizable(tc.ops, 5*time.Second)
			if res.Verdict != tc.want {
				t.Fatalf("verdict %s (%s), want %s", res.Verdict, res.Detail, tc.want)
			}
		})
	}
}

// TestCheckLinearizableOutOfBudgetIsInconclusive gives the checker a large
// concurrent history it cannot finish within a tiny budget: 48 overlapping
// writes to one key followed by a read of a value none wrote. Refuting it
// means trying the orders of the writes (2^48 sets of them), so the check
// runs out of time and must say inconclusive, never pass.
func TestCheckLinearizableOutOfBudgetIsInconclusive(t *testing.T) {
	var ops []Op
	for c := range 48 {
		ops = append(ops, Op{ID: uint64(c + 1), Client: c, Kind: OpPut, Key: "x", Value: s(fmt.Sprint("v", c)),
			Invoke: int64(c), Complete: 1000 + int64(c), Outcome: OutcomeOK})
	}
	ops = append(ops, Op{ID: 49, Client: 48, Kind: OpGet, Key: "x", Value: s("never written"), Invoke: 2000, Complete: 2010, Outcome: OutcomeOK})
	for k := range 200 { // other keys, all fine
		key := fmt.Sprint("k", k)
		ops = append(ops, Op{ID: uint64(100 + 2*k), Client: 49, Kind: OpPut, Key: key, Value: s("a"), Invoke: int64(3000 + 20*k), Complete: int64(3005 + 20*k), Outcome: OutcomeOK},
			Op{ID: uint64(101 + 2*k), Client: 50, Kind: OpGet, Key: key, Value: s("a"), Invoke: int64(3010 + 20*k), Complete: int64(3015 + 20*k), Outcome: OutcomeOK})
	}
	const budget = 50 * time.Millisecond
	start := time.Now()
	res := CheckLinearizable(ops, budget)
	if res.Verdict != Inconclusive {
		t.Fatalf("verdict %s (%s), want inconclusive", res.Verdict, res.Detail)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("check took %s with a budget of %s", took, budget)
	}
	if res.Operations != len(ops) || res.Keys != 201 {
		t.Fatalf("figures %d ops, %d keys; want %d, 201", res.Operations, res.Keys, len(ops))
	}
}
