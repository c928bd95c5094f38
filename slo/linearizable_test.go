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
	cases := []struct {
		name string
		ops  []Op
		want Verdict
	}{
		{"sequential put then get", []Op{
			{Client: 0, Kind: OpPut, Key: "x", Value: s("a"), Invoke: 0, Complete: 10, Outcome: OutcomeOK},
			{Client: 1, Kind: OpGet, Key: "x", Value: s("a"), Invoke: 20, Complete: 30, Outcome: OutcomeOK},
		}, Pass},
		{"stale read", []Op{
			{Client: 0, Kind: OpPut, Key: "x", Value: s("a"), Invoke: 0, Complete: 10, Outcome: OutcomeOK},
			{Client: 0, Kind: OpPut, Key: "x", Value: s("b"), Invoke: 20, Complete: 30, Outcome: OutcomeOK},
			{Client: 1, Kind: OpGet, Key: "x", Value: s("a"), Invoke: 40, Complete: 50, Outcome: OutcomeOK},
		}, Fail},
		{"lost write: read not found after an acknowledged put", []Op{
			{Client: 0, Kind: OpPut, Key: "x", Value: s("a"), Invoke: 0, Complete: 10, Outcome: OutcomeOK},
			{Client: 1, Kind: OpGet, Key: "x", Value: nil, Invoke: 20, Complete: 30, Outcome: OutcomeOK},
		}, Fail},
		{"unknown write that took effect later is legal", []Op{
			{Client: 0, Kind: OpPut, Key: "x", Value: s("a"), Invoke: 0, Complete: 10, Outcome: OutcomeUnknown},
			{Client: 1, Kind: OpGet, Key: "x", Value: nil, Invoke: 20, Complete: 30, Outcome: OutcomeOK},
			{Client: 1, Kind: OpGet, Key: "x", Value: s("a"), Invoke: 40, Complete: 50, Outcome: OutcomeOK},
		}, Pass},
		{"failed write that becomes visible is illegal", []Op{
			{Client: 0, Kind: OpPut, Key: "x", Value: s("a"), Invoke: 0, Complete: 10, Outcome: OutcomeFail},
			{Client: 1, Kind: OpGet, Key: "x", Value: s("a"), Invoke: 20, Complete: 30, Outcome: OutcomeOK},
		}, Fail},
		{"concurrent writes either order", []Op{
			{Client: 0, Kind: OpPut, Key: "x", Value: s("a"), Invoke: 0, Complete: 30, Outcome: OutcomeOK},
			{Client: 1, Kind: OpPut, Key: "x", Value: s("b"), Invoke: 5, Complete: 25, Outcome: OutcomeOK},
			{Client: 2, Kind: OpGet, Key: "x", Value: s("a"), Invoke: 40, Complete: 50, Outcome: OutcomeOK},
		}, Pass},
		{"delete then read", []Op{
			{Client: 0, Kind: OpPut, Key: "x", Value: s("a"), Invoke: 0, Complete: 10, Outcome: OutcomeOK},
			{Client: 0, Kind: OpDelete, Key: "x", Invoke: 20, Complete: 30, Outcome: OutcomeOK},
			{Client: 1, Kind: OpGet, Key: "x", Value: nil, Invoke: 40, Complete: 50, Outcome: OutcomeOK},
		}, Pass},
		{"cas on the current value", []Op{
			{Client: 0, Kind: OpPut, Key: "x", Value: s("a"), Invoke: 0, Complete: 10, Outcome: OutcomeOK},
			{Client: 0, Kind: OpCAS, Key: "x", Expect: s("a"), Value: s("b"), Invoke: 20, Complete: 30, Outcome: OutcomeOK},
			{Client: 1, Kind: OpGet, Key: "x", Value: s("b"), Invoke: 40, Complete: 50, Outcome: OutcomeOK},
		}, Pass},
		{"cas swapped a value the key did not hold", []Op{
			{Client: 0, Kind: OpPut, Key: "x", Value: s("a"), Invoke: 0, Complete: 10, Outcome: OutcomeOK},
			{Client: 0, Kind: OpCAS, Key: "x", Expect: s("z"), Value: s("b"), Invoke: 20, Complete: 30, Outcome: OutcomeOK},
		}, Fail},
		{"cas on an absent key", []Op{
			{Client: 0, Kind: OpCAS, Key: "x", Expect: nil, Value: s("b"), Invoke: 0, Complete: 10, Outcome: OutcomeOK},
			{Client: 1, Kind: OpGet, Key: "x", Value: s("b"), Invoke: 20, Complete: 30, Outcome: OutcomeOK},
		}, Pass},
		{"rejected cas while the key held the expected value", []Op{
			{Client: 0, Kind: OpPut, Key: "x", Value: s("a"), Invoke: 0, Complete: 10, Outcome: OutcomeOK},
			{Client: 0, Kind: OpCAS, Key: "x", Expect: s("a"), Value: s("b"), Invoke: 20, Complete: 30, Outcome: OutcomeRejected},
		}, Fail},
		{"failed cas has no effect", []Op{
			{Client: 0, Kind: OpPut, Key: "x", Value: s("a"), Invoke: 0, Complete: 10, Outcome: OutcomeOK},
			{Client: 0, Kind: OpCAS, Key: "x", Expect: s("a"), Value: s("b"), Invoke: 20, Complete: 30, Outcome: OutcomeFail},
			{Client: 1, Kind: OpGet, Key: "x", Value: s("a"), Invoke: 40, Complete: 50, Outcome: OutcomeOK},
		}, Pass},
		{"unknown cas may or may not apply", []Op{
			{Client: 0, Kind: OpPut, Key: "x", Value: s("a"), Invoke: 0, Complete: 10, Outcome: OutcomeOK},
			{Client: 0, Kind: OpCAS, Key: "x", Expect: s("a"), Value: s("b"), Invoke: 20, Complete: 30, Outcome: OutcomeUnknown},
			{Client: 1, Kind: OpGet, Key: "x", Value: s("a"), Invoke: 40, Complete: 50, Outcome: OutcomeOK},
			{Client: 1, Kind: OpGet, Key: "x", Value: s("b"), Invoke: 60, Complete: 70, Outcome: OutcomeOK},
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
