package slo

import (
	"strings"
	"testing"
)

// Operations of session c on key "k" for the session table tests.
func sput(c int, id uint64, v string, inv, comp int64, o Outcome) Op {
	return Op{ID: id, Client: c, Kind: OpPut, Key: "k", Value: s(v), Invoke: inv, Complete: comp, Outcome: o}
}

func sdel(c int, id uint64, inv, comp int64, o Outcome) Op {
	return Op{ID: id, Client: c, Kind: OpDelete, Key: "k", Invoke: inv, Complete: comp, Outcome: o}
}

// sget is a successful read of v (nil: absent).
func sget(c int, id uint64, v *string, inv, comp int64) Op {
	return Op{ID: id, Client: c, Kind: OpGet, Key: "k", Value: v, Invoke: inv, Complete: comp, Outcome: OutcomeOK}
}

func TestCheckReadYourWrites(t *testing.T) {
	cases := []struct {
		name      string
		ops       []Op
		want      Verdict
		anomalies int
		undecided int
	}{
		{"reads its own write", []Op{sput(1, 1, "a", 0, 10, OutcomeOK), sget(1, 2, s("a"), 20, 30)}, Pass, 0, 0},
		{"reads a later write of another session", []Op{sput(1, 1, "a", 0, 10, OutcomeOK), sput(2, 2, "b", 12, 15, OutcomeOK), sget(1, 3, s("b"), 20, 30)}, Pass, 0, 0},
		{"reads a write concurrent with its own", []Op{sput(2, 1, "b", 0, 20, OutcomeOK), sput(1, 2, "a", 5, 10, OutcomeOK), sget(1, 3, s("b"), 30, 40)}, Pass, 0, 0},
		{"reads a write that ended before its own began", []Op{sput(2, 1, "b", 0, 4, OutcomeOK), sput(1, 2, "a", 5, 10, OutcomeOK), sget(1, 3, s("b"), 30, 40)}, Fail, 1, 0},
		{"reads its own older write", []Op{sput(1, 1, "a", 0, 10, OutcomeOK), sput(1, 2, "b", 20, 30, OutcomeOK), sget(1, 3, s("a"), 40, 50)}, Fail, 1, 0},
		{"another session may read old values", []Op{sput(2, 1, "b", 0, 4, OutcomeOK), sput(1, 2, "a", 5, 10, OutcomeOK), sget(3, 3, s("b"), 30, 40)}, Inconclusive, 0, 0},
		{"a read before the write completed is not bound by it", []Op{sput(2, 1, "b", 0, 4, OutcomeOK), sput(1, 2, "a", 5, 25, OutcomeOK), sget(1, 3, s("b"), 20, 30)}, Inconclusive, 0, 0},
		{"an older write of unknown outcome may land late", []Op{sput(2, 1, "b", 0, 4, OutcomeUnknown), sput(1, 2, "a", 5, 10, OutcomeOK), sget(1, 3, s("b"), 30, 40)}, Pass, 0, 0},
		{"the session's own failed write is no floor", []Op{sput(2, 1, "b", 0, 4, OutcomeOK), sput(1, 2, "a", 5, 10, OutcomeFail), sget(1, 3, s("b"), 30, 40)}, Inconclusive, 0, 0},
		{"a resurrected value is undecided", []Op{sput(2, 1, "b", 0, 4, OutcomeFail), sput(1, 2, "a", 5, 10, OutcomeOK), sget(1, 3, s("b"), 30, 40)}, Inconclusive, 0, 1},
		{"a phantom value is undecided", []Op{sput(1, 2, "a", 5, 10, OutcomeOK), sget(1, 3, s("z"), 30, 40), sget(1, 4, s("a"), 50, 60)}, Pass, 0, 1},
		{"absent after its own put", []Op{sput(1, 1, "a", 0, 10, OutcomeOK), sget(1, 2, nil, 20, 30)}, Fail, 1, 0},
		{"absent after its own put and a concurrent delete", []Op{sdel(2, 1, 0, 8, OutcomeOK), sput(1, 2, "a", 5, 10, OutcomeOK), sget(1, 3, nil, 20, 30)}, Pass, 0, 0},
		{"absent after its own put, the delete ended before it", []Op{sdel(2, 1, 0, 4, OutcomeOK), sput(1, 2, "a", 5, 10, OutcomeOK), sget(1, 3, nil, 20, 30)}, Fail, 1, 0},
		{"absent after its own put and a later delete", []Op{sput(1, 1, "a", 0, 10, OutcomeOK), sdel(2, 2, 12, 14, OutcomeOK), sget(1, 3, nil, 20, 30)}, Pass, 0, 0},
		{"absent, a delete invoked after the read ended explains nothing", []Op{sput(1, 1, "a", 0, 10, OutcomeOK), sget(1, 2, nil, 20, 30), sdel(2, 3, 31, 40, OutcomeOK)}, Fail, 1, 0},
		{"absent, a failed delete explains nothing", []Op{sput(1, 1, "a", 0, 10, OutcomeOK), sdel(2, 2, 12, 14, OutcomeFail), sget(1, 3, nil, 20, 30)}, Fail, 1, 0},
		{"absent, an older delete of unknown outcome may land late", []Op{sdel(2, 1, 0, 4, OutcomeUnknown), sput(1, 2, "a", 5, 10, OutcomeOK), sget(1, 3, nil, 20, 30)}, Pass, 0, 0},
		{"absent after its own delete", []Op{sput(1, 1, "a", 0, 10, OutcomeOK), sdel(1, 2, 12, 14, OutcomeOK), sget(1, 3, nil, 20, 30)}, Pass, 0, 0},
		{"a value from before its own delete", []Op{sput(1, 1, "a", 0, 10, OutcomeOK), sdel(1, 2, 12, 14, OutcomeOK), sget(1, 3, s("a"), 20, 30)}, Fail, 1, 0},
		{"a value concurrent with its own delete", []Op{sput(2, 1, "b", 0, 13, OutcomeOK), sdel(1, 2, 12, 14, OutcomeOK), sget(1, 3, s("b"), 20, 30)}, Pass, 0, 0},
		{"an acknowledged cas is a write", []Op{sput(2, 1, "b", 0, 4, OutcomeOK), casOp(2, s("b"), "a", 5, 10, OutcomeOK), sget(0, 3, s("b"), 30, 40)}, Fail, 1, 0},
		{"nothing to judge", []Op{sput(1, 1, "a", 0, 10, OutcomeOK), sget(2, 2, nil, 20, 30)}, Inconclusive, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := CheckReadYourWrites(tc.ops)
			if res.Verdict != tc.want || res.Violations != tc.anomalies || len(res.Anomalies) != tc.anomalies || res.Undecided != tc.undecided {
				t.Fatalf("%s, %d violations %+v, %d undecided (%s); want %s, %d, %d", res.Verdict, res.Violations, res.Anomalies, res.Undecided, res.Detail, tc.want, tc.anomalies, tc.undecided)
			}
		})
	}
}

func TestCheckMonotonicReads(t *testing.T) {
	cases := []struct {
		name      string
		ops       []Op
		want      Verdict
		anomalies int
	}{
		{"reads the same value twice", []Op{sput(9, 1, "a", 0, 10, OutcomeOK), sget(1, 2, s("a"), 20, 30), sget(1, 3, s("a"), 40, 50)}, Pass, 0},
		{"reads a newer value", []Op{sput(9, 1, "a", 0, 10, OutcomeOK), sget(1, 2, s("a"), 20, 30), sput(9, 3, "b", 31, 35, OutcomeOK), sget(1, 4, s("b"), 40, 50)}, Pass, 0},
		{"goes back to an older value", []Op{sput(9, 1, "a", 0, 10, OutcomeOK), sput(9, 2, "b", 11, 15, OutcomeOK), sget(1, 3, s("b"), 20, 30), sget(1, 4, s("a"), 40, 50)}, Fail, 1},
		{"goes between concurrent writes", []Op{sput(8, 1, "a", 0, 15, OutcomeOK), sput(9, 2, "b", 11, 15, OutcomeOK), sget(1, 3, s("b"), 20, 30), sget(1, 4, s("a"), 40, 50)}, Pass, 0},
		{"overlapping reads bind nothing", []Op{sput(9, 1, "a", 0, 10, OutcomeOK), sput(9, 2, "b", 11, 15, OutcomeOK), sget(1, 3, s("b"), 20, 45), sget(1, 4, s("a"), 40, 50)}, Inconclusive, 0},
		{"two sessions may disagree", []Op{sput(9, 1, "a", 0, 10, OutcomeOK), sput(9, 2, "b", 11, 15, OutcomeOK), sget(1, 3, s("b"), 20, 30), sget(2, 4, s("a"), 40, 50)}, Inconclusive, 0},
		{"an older write of unknown outcome may land late", []Op{sput(9, 1, "a", 0, 10, OutcomeUnknown), sput(9, 2, "b", 11, 15, OutcomeOK), sget(1, 3, s("b"), 20, 30), sget(1, 4, s("a"), 40, 50)}, Pass, 0},
		{"absent after a value, no delete", []Op{sput(9, 1, "a", 0, 10, OutcomeOK), sget(1, 2, s("a"), 20, 30), sget(1, 3, nil, 40, 50)}, Fail, 1},
		{"absent after a value, then deleted", []Op{sput(9, 1, "a", 0, 10, OutcomeOK), sget(1, 2, s("a"), 20, 30), sdel(9, 3, 31, 35, OutcomeOK), sget(1, 4, nil, 40, 50)}, Pass, 0},
		{"absent after a value, the delete was older", []Op{sdel(9, 1, 0, 3, OutcomeOK), sput(9, 2, "a", 5, 10, OutcomeOK), sget(1, 3, s("a"), 20, 30), sget(1, 4, nil, 40, 50)}, Fail, 1},
		{"a value after an absent read", []Op{sput(9, 1, "a", 0, 10, OutcomeOK), sget(1, 2, nil, 20, 30), sget(1, 3, s("a"), 40, 50)}, Inconclusive, 0},
		{"a phantom sets no floor", []Op{sput(9, 1, "a", 0, 10, OutcomeOK), sget(1, 2, s("z"), 20, 30), sget(1, 3, s("a"), 40, 50)}, Inconclusive, 0},
		{"a resurrected floor still binds", []Op{sput(9, 1, "a", 0, 10, OutcomeOK), sput(9, 2, "b", 11, 15, OutcomeFail), sget(1, 3, s("b"), 20, 30), sget(1, 4, s("a"), 40, 50)}, Fail, 1},
		{"the session's own writes are no floor", []Op{sput(9, 1, "a", 0, 10, OutcomeOK), sput(1, 2, "b", 11, 15, OutcomeOK), sget(1, 3, s("a"), 20, 30)}, Inconclusive, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := CheckMonotonicReads(tc.ops)
			if res.Verdict != tc.want || res.Violations != tc.anomalies || len(res.Anomalies) != tc.anomalies {
				t.Fatalf("%s, %d violations %+v (%s); want %s, %d", res.Verdict, res.Violations, res.Anomalies, res.Detail, tc.want, tc.anomalies)
			}
		})
	}
}

// The anomaly names the ops involved, and the list is capped.
func TestSessionAnomaliesNameTheOpsAndAreCapped(t *testing.T) {
	ops := []Op{sput(2, 1, "b", 0, 4, OutcomeOK), sput(1, 2, "a", 5, 10, OutcomeOK)}
	for i := range 3 * MaxListed {
		ops = append(ops, sget(1, uint64(10+i), s("b"), int64(20+10*i), int64(25+10*i)))
	}
	res := CheckReadYourWrites(ops)
	if res.Verdict != Fail || res.Violations != 3*MaxListed || len(res.Anomalies) != MaxListed || res.Sessions != 1 {
		t.Fatalf("%s %d violations, %d listed, %d sessions", res.Verdict, res.Violations, len(res.Anomalies), res.Sessions)
	}
	a := res.Anomalies[0]
	want := SessionAnomaly{Session: 1, Key: "k", Read: 10, Found: "b", Source: 1, Floor: 2, FloorValue: "a"}
	if a != want {
		t.Fatalf("anomaly %+v, want %+v", a, want)
	}
	if got := a.String(); !strings.Contains(got, "session 1 key k: read op 10") || !strings.Contains(got, `"b" (op 1)`) || !strings.Contains(got, `op 2's "a"`) {
		t.Fatalf("anomaly line %q", got)
	}
}
