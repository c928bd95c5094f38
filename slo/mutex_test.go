package slo

import (
	"strconv"
	"testing"

	"github.com/chaosctl/chaosctl/probes/workload"
)

func tok(t int64) *int64 { return &t }
func at(t int64) *int64  { return &t }

func acquire(id uint64, client int, token, invoke, complete int64) workload.HistoryOp {
	return workload.HistoryOp{ID: id, Client: client, Op: workload.OpAcquire, Key: "lock.L", Lock: "L", Token: tok(token), Invoke: invoke, Complete: at(complete), Outcome: workload.OutcomeOK}
}

func write(id uint64, client int, token, invoke, complete int64, o workload.Outcome) workload.HistoryOp {
	op := workload.HistoryOp{ID: id, Client: client, Op: workload.OpPut, Key: "res", Lock: "L", Token: tok(token), Invoke: invoke, Outcome: o}
	if o != workload.OutcomeUnknown {
		op.Complete = at(complete)
	}
	return op
}

func TestCheckMutualExclusion(t *testing.T) {
	ok, fail, unknown := workload.OutcomeOK, workload.OutcomeFail, workload.OutcomeUnknown
	cases := []struct {
		name      string
		ops       []workload.HistoryOp
		verdict   Verdict
		anomalies []string // kind/op
	}{
		{"no history", nil, Inconclusive, nil},
		{"only refused writes", []workload.HistoryOp{acquire(1, 1, 5, 0, 1), write(2, 1, 5, 2, 3, fail)}, Inconclusive, nil},
		{"one holder after another", []workload.HistoryOp{
			acquire(1, 1, 5, 0, 1), write(2, 1, 5, 2, 3, ok), write(3, 1, 5, 4, 5, ok),
			acquire(4, 2, 7, 6, 7), write(5, 2, 7, 8, 9, ok),
		}, Pass, nil},
		{"paused holder writes after the next holder's write (no fencing)", []workload.HistoryOp{
			acquire(1, 1, 5, 0, 1), write(2, 1, 5, 2, 3, ok),
			acquire(3, 2, 7, 10, 11), write(4, 2, 7, 12, 13, ok),
			write(5, 1, 5, 20, 21, ok),
		}, Fail, []string{"stale-write/5"}},
		{"the fenced resource refused the stale write", []workload.HistoryOp{
			acquire(1, 1, 5, 0, 1), write(2, 1, 5, 2, 3, ok),
			acquire(3, 2, 7, 10, 11), write(4, 2, 7, 12, 13, ok),
			write(5, 1, 5, 20, 21, fail),
		}, Pass, nil},
		{"a lapsed holder's write before the next holder's first write is ordered", []workload.HistoryOp{
			acquire(1, 1, 5, 0, 1), acquire(3, 2, 7, 10, 11),
			write(5, 1, 5, 12, 13, ok), write(4, 2, 7, 14, 15, ok),
		}, Pass, nil},
		{"concurrent writes are not ordered", []workload.HistoryOp{
			acquire(1, 1, 5, 0, 1), acquire(3, 2, 7, 10, 11),
			write(4, 2, 7, 12, 20, ok), write(5, 1, 5, 15, 25, ok),
		}, Pass, nil},
		{"a stale write of unknown outcome never counts", []workload.HistoryOp{
			write(4, 2, 7, 12, 13, ok), write(5, 1, 5, 20, 0, unknown),
		}, Pass, nil},
		{"a newer write of unknown outcome orders nothing", []workload.HistoryOp{
			write(4, 2, 7, 12, 0, unknown), write(5, 1, 5, 20, 21, ok),
		}, Pass, nil},
		{"the newest earlier token is the one compared", []workload.HistoryOp{
			write(1, 1, 3, 0, 1, ok), write(2, 2, 9, 2, 3, ok), write(3, 3, 4, 4, 5, ok), write(4, 4, 9, 6, 7, ok),
		}, Fail, []string{"stale-write/3"}},
		{"one token granted twice", []workload.HistoryOp{
			acquire(1, 1, 5, 0, 1), acquire(2, 2, 5, 2, 3), write(3, 2, 5, 4, 5, ok),
		}, Fail, []string{"token-reused/2"}},
		{"resources are judged apart", []workload.HistoryOp{
			write(1, 1, 9, 0, 1, ok), {ID: 2, Client: 2, Op: workload.OpPut, Key: "other", Token: tok(3), Invoke: 2, Complete: at(3), Outcome: ok},
		}, Pass, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := CheckMutualExclusion(c.ops)
			if res.Verdict != c.verdict {
				t.Fatalf("verdict %s, want %s (%s)", res.Verdict, c.verdict, res.Detail)
			}
			var got []string
			for _, a := range res.Anomalies {
				got = append(got, a.Kind+"/"+strconv.FormatUint(a.Op, 10))
			}
			if len(got) != len(c.anomalies) {
				t.Fatalf("anomalies %v, want %v", got, c.anomalies)
			}
			for i := range got {
				if got[i] != c.anomalies[i] {
					t.Fatalf("anomalies %v, want %v", got, c.anomalies)
				}
			}
			if res.Total != len(c.anomalies) {
				t.Fatalf("total %d, want %d", res.Total, len(c.anomalies))
			}
		})
	}
}
