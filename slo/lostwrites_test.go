package slo

import (
	"math"
	"testing"
)

func TestCheckNoLostWrites(t *testing.T) {
	put := putOp
	del := delOp
	cas := casOp
	cases := []struct {
		name  string
		ops   []Op
		final *string
		want  Verdict
		kinds map[string]int // the exact anomaly counts (nil: none)
	}{
		{"last write read", []Op{put(1, "a", 0, 10, OutcomeOK), put(2, "b", 20, 30, OutcomeOK)}, s("b"), Pass, nil},
		{"concurrent writes, either may win", []Op{put(1, "a", 0, 30, OutcomeOK), put(2, "b", 10, 20, OutcomeOK)}, s("a"), Pass, nil},
		{"older value came back", []Op{put(1, "a", 0, 10, OutcomeOK), put(2, "b", 20, 30, OutcomeOK)}, s("a"), Fail, map[string]int{AnomalyStale: 1}},
		{"acknowledged write gone", []Op{put(1, "a", 0, 10, OutcomeOK)}, nil, Fail, map[string]int{AnomalyLost: 1}},
		{"deleted after", []Op{put(1, "a", 0, 10, OutcomeOK), del(2, 20, 30, OutcomeOK)}, nil, Pass, nil},
		{"unknown write may win", []Op{put(1, "a", 0, 10, OutcomeOK), put(2, "b", 20, 30, OutcomeUnknown)}, s("b"), Pass, nil},
		{"failed write visible", []Op{put(1, "a", 0, 10, OutcomeOK), put(2, "b", 20, 30, OutcomeFail)}, s("b"), Fail,
			map[string]int{AnomalyResurrected: 1, AnomalyLost: 1}},
		// Issue 13: a timed-out write may land after a later acknowledged
		// one; its recorded completion is when the client gave up.
		{"unknown write landed after a later acknowledged one", []Op{put(1, "a", 0, 10, OutcomeUnknown), put(2, "b", 20, 30, OutcomeOK)}, s("a"), Pass, nil},
		{"unknown write never completed landed late", []Op{put(1, "a", 0, math.MaxInt64, OutcomeUnknown), put(2, "b", 20, 30, OutcomeOK)}, s("a"), Pass, nil},
		{"unknown delete landed after a later acknowledged put", []Op{del(1, 0, 10, OutcomeUnknown), put(2, "b", 20, 30, OutcomeOK)}, nil, Pass, nil},
		{"failed delete cannot explain an absent key", []Op{del(1, 0, 10, OutcomeFail), put(2, "b", 20, 30, OutcomeOK)}, nil, Fail, map[string]int{AnomalyLost: 1}},
		{"delete ended before the acknowledged put began", []Op{del(1, 0, 10, OutcomeOK), put(2, "b", 20, 30, OutcomeOK)}, nil, Fail, map[string]int{AnomalyLost: 1}},
		{"older value came back after an acknowledged delete", []Op{put(1, "a", 0, 10, OutcomeOK), del(2, 20, 30, OutcomeOK)}, s("a"), Fail, map[string]int{AnomalyStale: 1}},
		{"only unknown writes, one of them read", []Op{put(1, "a", 0, 10, OutcomeUnknown), put(2, "b", 20, 30, OutcomeUnknown)}, s("a"), Pass, nil},
		{"only unknown writes, none landed", []Op{put(1, "a", 0, 10, OutcomeUnknown)}, nil, Pass, nil},
		{"only failed writes, none landed", []Op{put(1, "a", 0, 10, OutcomeFail)}, nil, Pass, nil},
		{"only a failed write, and it is visible", []Op{put(1, "a", 0, 10, OutcomeFail)}, s("a"), Fail, map[string]int{AnomalyResurrected: 1}},
		{"only unknown writes, a value none wrote", []Op{put(1, "a", 0, 10, OutcomeUnknown), put(2, "b", 20, 30, OutcomeFail)}, s("z"), Fail,
			map[string]int{AnomalyPhantom: 1}},
		{"acknowledged writes, a value none wrote", []Op{put(1, "a", 0, 10, OutcomeOK), put(2, "b", 20, 30, OutcomeUnknown)}, s("z"), Fail,
			map[string]int{AnomalyPhantom: 1, AnomalyLost: 1}},
		{"cas swapped last", []Op{put(1, "a", 0, 10, OutcomeOK), cas(2, s("a"), "b", 20, 30, OutcomeOK)}, s("b"), Pass, nil},
		{"cas value came back after a later put", []Op{cas(1, nil, "a", 0, 10, OutcomeOK), put(2, "b", 20, 30, OutcomeOK)}, s("a"), Fail, map[string]int{AnomalyStale: 1}},
		{"acknowledged cas lost", []Op{put(1, "a", 0, 10, OutcomeOK), cas(2, s("a"), "b", 20, 30, OutcomeOK)}, s("a"), Fail, map[string]int{AnomalyStale: 1}},
		{"unknown cas landed late", []Op{cas(1, nil, "a", 0, 10, OutcomeUnknown), put(2, "b", 20, 30, OutcomeOK)}, s("a"), Pass, nil},
		{"rejected cas visible", []Op{put(1, "a", 0, 10, OutcomeOK), cas(2, s("z"), "b", 20, 30, OutcomeRejected)}, s("b"), Fail,
			map[string]int{AnomalyResurrected: 1, AnomalyLost: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := CheckNoLostWrites(tc.ops, map[string]*string{"k": tc.final})
			if res.Verdict != tc.want {
				t.Fatalf("verdict %s (%s), want %s", res.Verdict, res.Detail, tc.want)
			}
			for _, kind := range []string{AnomalyLost, AnomalyStale, AnomalyResurrected, AnomalyPhantom} {
				if res.ByKind[kind] != tc.kinds[kind] {
					t.Fatalf("%s anomalies %d, want %d: %+v", kind, res.ByKind[kind], tc.kinds[kind], res.Anomalies)
				}
			}
			if tc.kinds == nil && len(res.Anomalies) > 0 {
				t.Fatalf("anomalies listed on a pass: %+v", res.Anomalies)
			}
		})
	}
	if r := CheckNoLostWrites([]Op{put(1, "a", 0, 10, OutcomeOK)}, map[string]*string{}); r.Verdict != Inconclusive {
		t.Fatalf("unread key: %s, want inconclusive", r.Verdict)
	}
	// A key the history never wrote that holds a value.
	r := CheckNoLostWrites([]Op{put(1, "a", 0, 10, OutcomeOK)}, map[string]*string{"k": s("a"), "other": s("x")})
	if r.Verdict != Fail || r.ByKind[AnomalyPhantom] != 1 || r.Anomalies[0].Key != "other" || r.Anomalies[0].Found != "x" || r.Keys != 2 {
		t.Fatalf("unwritten key with a value: %s %+v (%s)", r.Verdict, r.Anomalies, r.Detail)
	}
	// ... and one the history never wrote that is absent is no anomaly.
	if r := CheckNoLostWrites([]Op{put(1, "a", 0, 10, OutcomeOK)}, map[string]*string{"k": s("a"), "other": nil}); r.Verdict != Pass || r.Keys != 1 {
		t.Fatalf("unwritten absent key: %s (%s)", r.Verdict, r.Detail)
	}
}
