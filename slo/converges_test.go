package slo

import (
	"testing"

	"github.com/chaosctl/chaosctl/probes/workload"
)

// upd builds one update of a history: kind incr (delta) or add/remove
// (element), outcome, invoke and complete times (complete < 0: none).
func upd(id uint64, typ, key string, kind workload.OpKind, arg any, outcome workload.Outcome, invoke, complete int64) workload.HistoryOp {
	h := workload.HistoryOp{ID: id, Op: kind, Key: key, CRDT: typ, Outcome: outcome, Invoke: invoke}
	if complete >= 0 {
		h.Complete = &complete
	}
	switch v := arg.(type) {
	case int:
		d := int64(v)
		h.Delta = &d
	case string:
		h.Element = &v
	}
	return h
}

func counters(key string, values ...int64) CRDTFinal {
	f := CRDTFinal{Type: "counter", Key: key}
	for i, v := range values {
		f.Replicas = append(f.Replicas, CRDTReplica{Node: "n" + string(rune('1'+i)), Value: v})
	}
	return f
}

func sets(key string, elems ...[]string) CRDTFinal {
	f := CRDTFinal{Type: "set", Key: key}
	for i, e := range elems {
		f.Replicas = append(f.Replicas, CRDTReplica{Node: "n" + string(rune('1'+i)), Elements: e})
	}
	return f
}

func TestCheckConverges(t *testing.T) {
	const (
		ok      = workload.OutcomeOK
		fail    = workload.OutcomeFail
		unknown = workload.OutcomeUnknown
		incr    = workload.OpIncr
		add     = workload.OpAdd
		remove  = workload.OpRemove
	)
	counterOps := []workload.HistoryOp{
		upd(1, "counter", "k0", incr, 5, ok, 0, 10),
		upd(2, "counter", "k0", incr, -2, ok, 5, 20),
		upd(3, "counter", "k0", incr, 4, unknown, 30, -1),
		upd(4, "counter", "k0", incr, -1, unknown, 31, 40),
		upd(5, "counter", "k0", incr, 100, fail, 32, 41),
	}
	cases := []struct {
		name   string
		ops    []workload.HistoryOp
		finals []CRDTFinal
		want   Verdict
		kind   string
	}{
		{"counter: the acknowledged sum", counterOps, []CRDTFinal{counters("k0", 3, 3, 3)}, Pass, ""},
		{"counter: with every unknown delta", counterOps, []CRDTFinal{counters("k0", 6, 6, 6)}, Pass, ""},
		{"counter: the low end, the unknown decrement only", counterOps, []CRDTFinal{counters("k0", 2, 2, 2)}, Pass, ""},
		{"counter: a lost increment", counterOps, []CRDTFinal{counters("k0", 1, 1, 1)}, Fail, AnomalyCounterOutOfRange},
		{"counter: a failed increment took effect", counterOps, []CRDTFinal{counters("k0", 103, 103, 103)}, Fail, AnomalyCounterOutOfRange},
		{"counter: replicas differ", counterOps, []CRDTFinal{counters("k0", 3, 6, 3)}, Fail, AnomalyDiverged},
		{"counter: a replica unread", counterOps, []CRDTFinal{{Type: "counter", Key: "k0", Replicas: []CRDTReplica{{Node: "n1", Value: 3}, {Node: "n2", Err: "timeout"}}}}, Inconclusive, ""},
		{"counter: not read back", counterOps, nil, Inconclusive, ""},
		{"no CRDT update", []workload.HistoryOp{{ID: 1, Op: workload.OpPut, Key: "k0", Outcome: ok}}, nil, Inconclusive, ""},
		{"set: add then observed remove", []workload.HistoryOp{
			upd(1, "set", "s", add, "a", ok, 0, 10),
			upd(2, "set", "s", remove, "a", ok, 20, 30),
		}, []CRDTFinal{sets("s", nil, nil)}, Pass, ""},
		{"set: a remove may miss an add it followed (eventual reads)", []workload.HistoryOp{
			upd(1, "set", "s", add, "a", ok, 0, 10),
			upd(2, "set", "s", remove, "a", ok, 20, 30),
		}, []CRDTFinal{sets("s", []string{"a"}, []string{"a"})}, Pass, ""},
		{"set: an acknowledged add lost", []workload.HistoryOp{
			upd(1, "set", "s", add, "a", ok, 0, 10),
			upd(2, "set", "s", add, "b", ok, 0, 10),
		}, []CRDTFinal{sets("s", []string{"b"}, []string{"b"})}, Fail, AnomalyLostAdd},
		{"set: a remove that ended before the add began cannot remove it", []workload.HistoryOp{
			upd(1, "set", "s", remove, "a", ok, 0, 5),
			upd(2, "set", "s", add, "a", ok, 10, 20),
		}, []CRDTFinal{sets("s", nil, nil)}, Fail, AnomalyLostAdd},
		{"set: a failed remove removes nothing", []workload.HistoryOp{
			upd(1, "set", "s", add, "a", ok, 0, 10),
			upd(2, "set", "s", remove, "a", fail, 20, 30),
		}, []CRDTFinal{sets("s", nil, nil)}, Fail, AnomalyLostAdd},
		{"set: a remove of unknown outcome may have removed it", []workload.HistoryOp{
			upd(1, "set", "s", add, "a", ok, 0, 10),
			upd(2, "set", "s", remove, "a", unknown, 20, -1),
		}, []CRDTFinal{sets("s", nil, nil)}, Pass, ""},
		{"set: an element only a failed add wrote", []workload.HistoryOp{
			upd(1, "set", "s", add, "a", fail, 0, 10),
		}, []CRDTFinal{sets("s", []string{"a"})}, Fail, AnomalyPhantomElement},
		{"set: an add of unknown outcome may show", []workload.HistoryOp{
			upd(1, "set", "s", add, "a", unknown, 0, -1),
		}, []CRDTFinal{sets("s", []string{"a"}, []string{"a"})}, Pass, ""},
		{"set: replicas differ", []workload.HistoryOp{
			upd(1, "set", "s", add, "a", ok, 0, 10),
		}, []CRDTFinal{sets("s", []string{"a"}, nil)}, Fail, AnomalyDiverged},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := CheckConverges(c.ops, c.finals)
			if res.Verdict != c.want {
				t.Fatalf("verdict %s, want %s: %s %v", res.Verdict, c.want, res.Detail, res.Anomalies)
			}
			if c.kind != "" && res.ByKind[c.kind] != 1 {
				t.Fatalf("anomalies %v, want one %s", res.ByKind, c.kind)
			}
			if c.want != Fail && len(res.Anomalies) > 0 {
				t.Fatalf("no anomaly expected, got %v", res.Anomalies)
			}
		})
	}
}
