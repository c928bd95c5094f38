package slo

import "testing"

func TestCheckNoLostWrites(t *testing.T) {
	put := func(id uint64, v string, inv, comp int64, o Outcome) Op {
		return Op{ID: id, Kind: OpPut, Key: "k", Value: s(v), Invoke: inv, Complete: comp, Outcome: o}
	}
	del := func(id uint64, inv, comp int64, o Outcome) Op {
		return Op{ID: id, Kind: OpDelete, Key: "k", Invoke: inv, Complete: comp, Outcome: o}
	}
	cases := []struct {
		name  string
		ops   []Op
		final *string
		want  Verdict
		kind  string
	}{
		{"last write read", []Op{put(1, "a", 0, 10, OutcomeOK), put(2, "b", 20, 30, OutcomeOK)}, s("b"), Pass, ""},
		{"concurrent writes, either may win", []Op{put(1, "a", 0, 30, OutcomeOK), put(2, "b", 10, 20, OutcomeOK)}, s("a"), Pass, ""},
		{"older value came back", []Op{put(1, "a", 0, 10, OutcomeOK), put(2, "b", 20, 30, OutcomeOK)}, s("a"), Fail, AnomalyStale},
		{"acknowledged write gone", []Op{put(1, "a", 0, 10, OutcomeOK)}, nil, Fail, AnomalyLost},
		{"deleted after", []Op{put(1, "a", 0, 10, OutcomeOK), del(2, 20, 30, OutcomeOK)}, nil, Pass, ""},
		{"unknown write may win", []Op{put(1, "a", 0, 10, OutcomeOK), put(2, "b", 20, 30, OutcomeUnknown)}, s("b"), Pass, ""},
		{"failed write visible", []Op{put(1, "a", 0, 10, OutcomeOK), put(2, "b", 20, 30, OutcomeFail)}, s("b"), Fail, AnomalyResurrected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := CheckNoLostWrites(tc.ops, map[string]*string{"k": tc.final})
			if res.Verdict != tc.want {
				t.Fatalf("verdict %s (%s), want %s", res.Verdict, res.Detail, tc.want)
			}
			if tc.kind != "" && res.ByKind[tc.kind] == 0 {
				t.Fatalf("no %s anomaly: %+v", tc.kind, res.ByKind)
			}
		})
	}
	if r := CheckNoLostWrites([]Op{put(1, "a", 0, 10, OutcomeOK)}, map[string]*string{}); r.Verdict != Inconclusive {
		t.Fatalf("unread key: %s, want inconclusive", r.Verdict)
	}
}
