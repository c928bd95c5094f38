package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// burnJournal is a small journal of an availability SLO at 99 % over six
// measured seconds of 100 requests: 5 bad in the first second, 3 in the
// fourth. Each burn event carries what the judge wrote: the budget consumed
// of the events so far (which falls as good seconds arrive) and, in the
// new format, the cumulative bad and eligible counts.
func burnJournal(cumulative bool) string {
	badPer := []int64{5, 0, 0, 3, 0, 0}
	var b strings.Builder
	b.WriteString(`{"time":"2026-12-06T23:41:03Z","type":"workload-start","data":{"measuredStart":"2026-12-06T23:41:05Z","warmup":"2s"}}` + "\n")
	var bad, total int64
	for i, n := range badPer {
		bad, total = bad+n, total+100
		fmt.Fprintf(&b, `{"time":"2026-12-06T23:41:%02dZ","type":"second","data":{"second":%d,"warmup":false,"sent":100,"ok":%d,"bad":%d,"dropped":0}}`+"\n", 6+i, i, 100-n, n)
		consumed := float64(bad) / (0.01 * float64(total))
		counts := ""
		if cumulative {
			counts = fmt.Sprintf(`,"bad":%d,"total":%d`, bad, total)
		}
		fmt.Fprintf(&b, `{"time":"2026-12-06T23:41:%02dZ","type":"burn","data":{"second":%d,"slo":"avail","burnRate":1,"window":"last 5s","consumed":%g%s}}`+"\n", 6+i, i, consumed, counts)
	}
	return b.String()
}

func TestBurnDownIsMonotonicAgainstTheWholeRunsBudget(t *testing.T) {
	tl, err := ParseJournal(strings.NewReader(burnJournal(true)))
	if err != nil || tl.Malformed != 0 {
		t.Fatalf("parse: %v, %d malformed", err, tl.Malformed)
	}
	// The old chart plotted "consumed" against the events so far: 500 %,
	// 250 %, 167 %, 200 %, 160 %, 133 %. It falls.
	var old []float64
	for _, p := range tl.Burns {
		old = append(old, p.Consumed)
	}
	if slices.IsSorted(old) {
		t.Fatalf("the fixture should not be monotonic under the old computation: %v", old)
	}
	// budget: (1 − 0.99) × 600 eligible events = 6 bad events.
	o := SLOResult{Name: "avail", SLI: "availability", Objective: 0.99, Total: 600, Bad: 8, Budget: 6, Consumed: 8.0 / 6}
	for _, tt := range []struct {
		name  string
		burns []BurnPoint
		src   string
	}{
		{"cumulative counts in the burn events", tl.Burns, "burn events"},
		{"an old journal: the per-second counts", nil, "per-second counts"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, noData := burnDown(o, tt.burns, tl.Seconds)
			if noData != "" {
				t.Fatalf("no data: %s", noData)
			}
			want := []float64{0, 500.0 / 6, 500.0 / 6, 500.0 / 6, 800.0 / 6, 800.0 / 6, 800.0 / 6}
			if len(c.Y) != len(want) {
				t.Fatalf("Y = %v, want %v", c.Y, want)
			}
			for i := range want {
				if math.Abs(c.Y[i]-want[i]) > 1e-9 || c.X[i] != float64(i) {
					t.Fatalf("point %d = (%g, %g), want (%d, %g); all %v", i, c.X[i], c.Y[i], i, want[i], c.Y)
				}
			}
			if !slices.IsSorted(c.Y) {
				t.Errorf("burn-down falls: %v", c.Y)
			}
			if !c.ExhaustedOK || c.Exhausted != 4 {
				t.Errorf("exhausted at %g (%v), want at the end of second 3 (t = 4)", c.Exhausted, c.ExhaustedOK)
			}
			if !strings.Contains(c.Source, tt.src) {
				t.Errorf("source %q, want it to name %q", c.Source, tt.src)
			}
		})
	}
}

func TestBurnDownOfAnOldJournalWithoutCounts(t *testing.T) {
	tl, err := ParseJournal(strings.NewReader(burnJournal(false)))
	if err != nil {
		t.Fatal(err)
	}
	// A read-latency SLO cannot be computed from the per-second counts.
	o := SLOResult{Name: "avail", SLI: "latency", Op: "read", Objective: 0.99, Budget: 6, Consumed: 0.5}
	if _, noData := burnDown(o, tl.Burns, tl.Seconds); !strings.Contains(noData, "predates") || !strings.Contains(noData, "50.0%") {
		t.Errorf("no-data text %q, want it to say the journal predates the counts and give the final 50.0%%", noData)
	}
	// Within budget: never exhausted.
	o = SLOResult{Name: "avail", SLI: "availability", Objective: 0.99, Budget: 60}
	c, noData := burnDown(o, tl.Burns, tl.Seconds)
	if noData != "" || c.ExhaustedOK || c.Y[len(c.Y)-1] != 100*8.0/60 {
		t.Errorf("within budget: %+v %q", c, noData)
	}
}

func TestBurnChartMarksExhaustion(t *testing.T) {
	tl, err := ParseJournal(strings.NewReader(burnJournal(true)))
	if err != nil {
		t.Fatal(err)
	}
	run := &Run{Result: &Result{SLOs: []SLOResult{{Name: "avail", SLI: "availability", Objective: 0.99, Total: 600, Bad: 8, Budget: 6, Consumed: 8.0 / 6, BurnRate: 8.0 / 6}}}, Timeline: tl}
	ax, ok := newTimeAxis(run)
	if !ok {
		t.Fatal("no time axis")
	}
	figs, err := burnFigures(run, ax)
	if err != nil || len(figs) != 1 {
		t.Fatalf("%d figures, %v", len(figs), err)
	}
	f := figs[0]
	for _, want := range []string{">exhausted at t = 4 s</text>", ">100 %: budget exhausted</text>"} {
		if !strings.Contains(string(f.SVG), want) {
			t.Errorf("the chart has no %q", want)
		}
	}
	for _, want := range []string{"exhausted at t = 4 s (23:41:09 UTC)", "burn rate (last 5s)", "burn rate (whole run): 1.33"} {
		if !strings.Contains(strings.ToLower(f.Caption), strings.ToLower(want)) {
			t.Errorf("caption %q does not say %q", f.Caption, want)
		}
	}
}

// An SLO judged on the faults only: the curve still counts every bad event,
// and the caption says what the verdict counted.
func TestBurnChartOfAnSLOJudgedOnTheFaults(t *testing.T) {
	tl, err := ParseJournal(strings.NewReader(burnJournal(true)))
	if err != nil {
		t.Fatal(err)
	}
	run := &Run{Result: &Result{SLOs: []SLOResult{{Name: "avail", SLI: "availability", Objective: 0.99, Total: 600, Bad: 8, Budget: 6, Consumed: 0.5, Judge: "faults"}}}, Timeline: tl}
	ax, _ := newTimeAxis(run)
	figs, err := burnFigures(run, ax)
	if err != nil || len(figs) != 1 {
		t.Fatalf("%d figures, %v", len(figs), err)
	}
	if want := "judged on the faults' only (judge: faults), which consumed 50.0% of the budget"; !strings.Contains(figs[0].Caption, want) {
		t.Errorf("caption %q lacks %q", figs[0].Caption, want)
	}
}
