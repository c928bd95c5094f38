package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// result.json is a public, stable schema: its rendering of a fixed run is a
// golden file, so a renamed or dropped field shows up as a diff.
func TestResultJSONGolden(t *testing.T) {
	for _, fixture := range []string{"run", "run-pass"} {
		t.Run(fixture, func(t *testing.T) {
			run := loadFixture(t, filepath.Join("testdata", fixture))
			dir := t.TempDir()
			if err := run.Result.WriteJSON(dir); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, FileResult))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "result-"+fixture+".json", got)
			back, err := ReadJSON(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, run.Result) {
				t.Fatalf("result.json does not round-trip:\n got %+v\nwant %+v", back, run.Result)
			}
		})
	}
}

// result.json places the faults and the stop condition at t, seconds from
// the end of warmup (measuredStart), beside their UTC times.
func TestResultOffsetsFromTheEndOfWarmup(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 23, 41, 5, 0, time.UTC)
	applied, reverted, stop := t0.Add(4012*time.Millisecond), t0.Add(9*time.Second), t0.Add(-500*time.Millisecond)
	r := &Result{MeasuredStart: &t0, Faults: []FaultResult{{Name: "cut", Applied: &applied, Reverted: &reverted}, {Name: "never"}},
		StopCondition: &StopCondition{At: stop}}
	r.SetOffsets()
	f := r.Faults[0]
	if f.AppliedT == nil || *f.AppliedT != 4.012 || f.RevertedT == nil || *f.RevertedT != 9 {
		t.Errorf("fault offsets %v, %v; want 4.012 and 9", f.AppliedT, f.RevertedT)
	}
	if r.Faults[1].AppliedT != nil || r.Faults[1].RevertedT != nil {
		t.Error("a fault never applied has offsets")
	}
	if sc := r.StopCondition; sc.T == nil || *sc.T != -0.5 {
		t.Errorf("stop condition t = %v, want -0.5 (in warmup)", sc.T)
	}
	// Without measuredStart nothing is made up.
	r = &Result{Faults: []FaultResult{{Name: "cut", Applied: &applied}}}
	r.SetOffsets()
	if r.Faults[0].AppliedT != nil {
		t.Error("offsets without a measuredStart")
	}
}

// Every journal event written once the origin is set carries t, seconds
// from the end of warmup; events before it have none.
func TestJournalEventsCarryT(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	j.Add("run-start", nil)
	j.SetOrigin(time.Now().Add(-2 * time.Second))
	j.Add("fault-applied", map[string]any{"fault": "cut"})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, FileJournal))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var evs []Event
	for _, l := range lines {
		var ev Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	if len(evs) != 2 || evs[0].T != nil || evs[1].T == nil || *evs[1].T < 2 || *evs[1].T > 3 {
		t.Fatalf("events %s: want no t before the origin, t ≈ 2 after", b)
	}
}
