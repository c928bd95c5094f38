package report

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseJournal(t *testing.T) {
	tests := []struct {
		name                          string
		journal                       string
		seconds, members, burns, skip int
	}{
		{"empty", "", 0, 0, 0, 0},
		{"every kind", `{"time":"2026-01-01T00:00:01Z","type":"run-start","data":{"seed":1}}
{"time":"2026-01-01T00:00:02Z","type":"second","data":{"second":0,"warmup":false,"sent":10,"ok":9,"bad":1,"dropped":0,"p50":0.002,"p99":0.01,"faults":["a"]}}
{"time":"2026-01-01T00:00:02Z","type":"member","data":{"second":0,"member":"n1","up":true,"cpu":0.12,"inflight":3,"shedRate":0}}
{"time":"2026-01-01T00:00:02Z","type":"burn","data":{"second":0,"slo":"availability","burnRate":1.2,"consumed":0.1}}

{"time":"2026-01-01T00:00:03Z","type":"verdict","data":{"verdict":"pass"}}
`, 1, 1, 1, 0},
		{"unknown types are ignored", `{"time":"2026-01-01T00:00:01Z","type":"something-new","data":{"x":[1,2]}}`, 0, 0, 0, 0},
		{"a partial last line is skipped", `{"time":"2026-01-01T00:00:02Z","type":"second","data":{"second":0,"sent":10,"ok":10}}
{"time":"2026-01-01T00:00:03Z","type":"second","data":{"sec`, 1, 0, 0, 1},
		{"wrong types are skipped", `{"time":"2026-01-01T00:00:02Z","type":"second","data":{"second":"zero"}}
{"time":"2026-01-01T00:00:02Z","type":"member","data":{"second":0}}`, 0, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl, err := ParseJournal(strings.NewReader(tt.journal))
			if err != nil {
				t.Fatal(err)
			}
			if len(tl.Seconds) != tt.seconds || len(tl.Members) != tt.members || len(tl.Burns) != tt.burns || tl.Malformed != tt.skip {
				t.Errorf("seconds/members/burns/malformed = %d/%d/%d/%d, want %d/%d/%d/%d",
					len(tl.Seconds), len(tl.Members), len(tl.Burns), tl.Malformed, tt.seconds, tt.members, tt.burns, tt.skip)
			}
		})
	}
}

func TestParseJournalValues(t *testing.T) {
	tl, err := ParseJournal(strings.NewReader(`{"time":"2026-01-01T00:00:02Z","type":"second","data":{"second":3,"warmup":false,"sent":200,"ok":190,"bad":10,"dropped":2,"p50":0.002,"p99":0.4,"faults":["isolate-one"]}}
{"time":"2026-01-01T00:00:02Z","type":"member","data":{"second":3,"member":"n1","up":false,"cpu":0.5,"inflight":7,"shedRate":2.5,"breakerOpen":1,"serverErrorRatio":0.1,"serverLatencyP99":0.003,"cacheHitRatio":0.9,"requestRate":120}}
{"time":"2026-01-01T00:00:02Z","type":"burn","data":{"second":3,"slo":"availability","burnRate":1.5,"consumed":0.25}}`))
	if err != nil {
		t.Fatal(err)
	}
	s := tl.Seconds[0]
	if s.Second != 3 || s.Sent != 200 || s.OK != 190 || s.Bad != 10 || s.Dropped != 2 || s.P99 != 0.4 || len(s.Faults) != 1 || s.Time.IsZero() {
		t.Errorf("second = %+v", s)
	}
	m := tl.Members[0]
	if m.Member != "n1" || m.Up || m.CPU != 0.5 || m.Inflight != 7 || m.ShedRate != 2.5 || m.BreakerOpen != 1 || m.CacheHitRatio != 0.9 || m.RequestRate != 120 {
		t.Errorf("member = %+v", m)
	}
	if b := tl.Burns[0]; b.SLO != "availability" || b.BurnRate != 1.5 || b.Consumed != 0.25 {
		t.Errorf("burn = %+v", b)
	}
}

// The fixture's faults were scheduled at 4s (5s long) and 12s (restart after
// 3s) from the end of warmup; the windows must land there.
func TestFaultWindowsOnTheMeasuredTimeline(t *testing.T) {
	run := loadFixture(t, fixturePass)
	ws, ok := run.faultWindows()
	if !ok || len(ws) != 2 {
		t.Fatalf("windows %v, ok %v", ws, ok)
	}
	want := []faultWindow{{Name: "isolate-one", Start: 4, End: 9}, {Name: "kill-n2", Start: 12, End: 15}}
	for i, w := range ws {
		if w.Name != want[i].Name || math.Abs(w.Start-want[i].Start) > 0.1 || math.Abs(w.End-want[i].End) > 0.1 {
			t.Errorf("window %d = %+v, want %+v within 0.1 s", i, w, want[i])
		}
	}
	t0, _ := run.measuredStart()
	if d := t0.Sub(run.Result.Started); d < 2*time.Second || d > 4*time.Second {
		t.Errorf("measured start %s after the run start; the fixture's cluster started in about 1 s and warmup is 2 s", d)
	}
}

func TestMemberOrder(t *testing.T) {
	tl := Timeline{Members: []MemberPoint{{Member: "n10"}, {Member: "n2"}, {Member: "g1"}, {Member: "n1"}, {Member: "n2"}, {Member: "web"}}}
	got := strings.Join(tl.members(), ",")
	if want := "g1,n1,n2,n10,web"; got != want {
		t.Errorf("members = %s, want %s", got, want)
	}
}

// t = 0 is result.json's measuredStart, else the journal's workload-start
// event, else an estimate from the seconds (runs recorded before either).
func TestMeasuredStartSources(t *testing.T) {
	run := loadFixture(t, fixtureFail)
	want := time.Date(2026, 11, 26, 22, 5, 1, 623906000, time.UTC)
	if got, ok := run.measuredStart(); !ok || !got.Equal(want) {
		t.Errorf("from result.json: %s, %v; want %s", got, ok, want)
	}
	run.Result.MeasuredStart = nil
	if got, ok := run.measuredStart(); !ok || !got.Equal(run.Timeline.MeasuredStart) || !got.Equal(want) {
		t.Errorf("from the workload-start event: %s, %v; want %s", got, ok, want)
	}
	run.Timeline.MeasuredStart = time.Time{}
	if got, ok := run.measuredStart(); !ok || got.Sub(want).Abs() > 50*time.Millisecond {
		t.Errorf("estimated from the seconds: %s, %v; want about %s", got, ok, want)
	}
}
