package report

import (
	"testing"
)

func TestRepeatPercentages(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{RatePct(0.9), "90 %"},
		{RatePct(2.0 / 3), "67 %"},
		{RatePct(1), "100 %"},
		{RequiredPct(1), "100 %"},
		{RequiredPct(0.95), "95 %"},
		{RequiredPct(0.995), "99.5 %"},
		{IntervalPct(0.5958, 0.9821), "60–98 %"},
		{IntervalPct(0, 0.2775), "0–28 %"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// A single run's result.json is not a repeat's; a repeat's reads back.
func TestReadRepeatJSONTellsTheFoldersApart(t *testing.T) {
	single, repeat := t.TempDir(), t.TempDir()
	if err := (&Result{Experiment: "x"}).WriteJSON(single); err != nil {
		t.Fatal(err)
	}
	want := &RepeatResult{Experiment: "x", Repeat: RepeatSummary{Planned: 3, Runs: 3, Passed: 2, Flaky: true, Rule: "r"}}
	if err := want.WriteJSON(repeat); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := ReadRepeatJSON(single); ok || err != nil {
		t.Errorf("a single run's folder: repeat %v, %v", ok, err)
	}
	got, ok, err := ReadRepeatJSON(repeat)
	if !ok || err != nil || got.Repeat != want.Repeat {
		t.Errorf("a repeat's folder: %v %v %+v", ok, err, got)
	}
	if err := RenderRepeat(single); err == nil {
		t.Errorf("RenderRepeat renders a single run's folder")
	}
}
