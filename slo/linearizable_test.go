package slo

import (
	"testing"
	"time"
)

func s(v string) *string { return &v }

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
