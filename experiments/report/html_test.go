package report

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

var svgElement = regexp.MustCompile(`(?s)<svg .*?</svg>`)

// faultFill is the fault band's fill as vgsvg writes it.
var faultFill = fmt.Sprintf("fill:#%02X%02X%02X", colourFaultBand.R, colourFaultBand.G, colourFaultBand.B)

func renderHTML(t *testing.T, run *Run) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, run); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestHTMLCharts(t *testing.T) {
	tests := []struct {
		name       string
		dir        string
		svgs       int // 3 over time, one per SLO with data, one per member, the load per shard
		withFaults int // charts whose fault bands are drawn and labelled
		contains   []string
	}{
		{"fail with member and burn events", fixtureFail, 3 + 2 + 4 + 1, 3 + 2 + 4 + 1, []string{
			`class="banner fail"`, "Verdict: FAIL", "Load per shard", "from the journal&#39;s burn events (cumulative bad events)", "exhausted at t = 5 s", "Member g1", "Member n2", "down for 3 s",
			"non-linearizable keys: 2", "key k17: read of v-3-17 after write of v-1-40 completed", "t = 4.04 s (22:05:05.660 UTC) → t = 9.01 s (22:05:10.636 UTC)",
			"t = 0 (end of warmup) at 22:05:01.623 UTC", "t (s) from the end of warmup; t = 0 at 22:05:01 UTC",
			"Times: t = seconds from the end of warmup (t = 0), where a fault&#39;s <code>at</code> in the experiment file counts from",
			"started 2026-11-26 22:04:59.464 UTC (t = -2.16 s)", "ended 22:05:26.933 UTC (t = 25.31 s)",
		}},
		{"pass without member or burn events", fixturePass, 3 + 1, 3 + 1, []string{
			`class="banner pass"`, "Verdict: PASS",
			"No member samples in the journal",
			"from the journal&#39;s per-second counts (bad and dropped requests)",
			"No data: the journal has no burn events for this SLO, and a latency (read) SLI cannot be computed",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := loadFixture(t, tt.dir)
			page := renderHTML(t, run)
			svgs := svgElement.FindAllString(page, -1)
			if len(svgs) != tt.svgs {
				t.Fatalf("%d <svg> charts, want %d", len(svgs), tt.svgs)
			}
			labelled := 0
			for i, svg := range svgs {
				if len(svg) < 4000 || strings.Count(svg, "<path") < 10 {
					t.Errorf("chart %d is trivial: %d bytes, %d paths", i, len(svg), strings.Count(svg, "<path"))
				}
				if !strings.Contains(svg, `aria-label="`) {
					t.Errorf("chart %d has no accessible name", i)
				}
				hasAll := strings.Contains(svg, faultFill)
				for _, f := range run.Result.Faults {
					hasAll = hasAll && regexp.MustCompile(`<text [^>]*>`+regexp.QuoteMeta(f.Name)+`</text>`).MatchString(svg)
				}
				if hasAll {
					labelled++
				}
			}
			if labelled != tt.withFaults {
				t.Errorf("%d charts have every fault band shaded and labelled, want %d", labelled, tt.withFaults)
			}
			for _, want := range tt.contains {
				if !strings.Contains(page, want) {
					t.Errorf("report.html lacks %q", want)
				}
			}
			assertSelfContained(t, page)
		})
	}
}

// assertSelfContained fails when the page would load anything: scripts,
// stylesheets, fonts, images or any URL other than the SVG namespaces.
func assertSelfContained(t *testing.T, page string) {
	t.Helper()
	for _, banned := range []string{"<script", "<link", "<img", "<iframe", "@import", "url(", "src=", "@font-face"} {
		if strings.Contains(strings.ToLower(page), banned) {
			t.Errorf("report.html contains %q: it must be self-contained", banned)
		}
	}
	withoutNS := strings.NewReplacer(`xmlns="http://www.w3.org/2000/svg"`, "", `xmlns:xlink="http://www.w3.org/1999/xlink"`, "").Replace(page)
	if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`).FindString(withoutNS); m != "" {
		t.Errorf("report.html refers to %q: it must be self-contained", m)
	}
}

func TestHTMLEscapesTheExperimentFile(t *testing.T) {
	page := renderHTML(t, loadFixture(t, fixtureFail))
	if strings.Contains(page, "<script>alert(1)</script>") {
		t.Fatal("the experiment file's text reached the page unescaped")
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quotes&#34;") {
		t.Error("the experiment file is not shown, escaped, on the page")
	}
	if !strings.Contains(page, "apiVersion: chaosctl/v1") || !strings.Contains(page, "run again with <code>--seed 1</code>") {
		t.Error("the experiment file or the seed is missing")
	}
}

func TestHTMLWithoutJournal(t *testing.T) {
	run := loadFixture(t, fixtureFail)
	run.Timeline, run.Experiment = Timeline{}, nil
	page := renderHTML(t, run)
	if n := len(svgElement.FindAllString(page, -1)); n != 0 {
		t.Errorf("%d charts drawn without a journal", n)
	}
	for _, want := range []string{"nothing to draw over time", "No member samples", "No data over time.", "experiment.yaml is not in the output folder", "Verdict: FAIL"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html without a journal lacks %q", want)
		}
	}
}

func TestHTMLStopCondition(t *testing.T) {
	run := loadFixture(t, fixtureFail)
	t0, _ := run.measuredStart()
	run.Result.StopCondition = &StopCondition{Reason: "availability burn rate 30.0 over 5s exceeds 14.4", At: t0.Add(7 * time.Second), SLO: "availability", Burn: 30}
	page := renderHTML(t, run)
	if !strings.Contains(page, "Stopped early:") {
		t.Error("the verdict banner does not say the run stopped early")
	}
	svgs := svgElement.FindAllString(page, -1)
	for i, svg := range svgs[:3] {
		if !strings.Contains(svg, ">stop condition</text>") {
			t.Errorf("chart %d does not mark the stop condition", i)
		}
	}
}

func TestHTMLIsDeterministic(t *testing.T) {
	run := loadFixture(t, fixtureFail)
	if a, b := renderHTML(t, run), renderHTML(t, run); a != b {
		t.Error("two renders of the same run differ")
	}
}

func BenchmarkWriteHTML(b *testing.B) {
	run := loadFixture(b, fixtureFail)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := WriteHTML(&buf, run); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/page")
}

// Several runs may be rendered at once (`chaosctl run a.yaml b.yaml`); the
// renderer shares no mutable state.
func TestHTMLConcurrentRenders(t *testing.T) {
	run := loadFixture(t, fixtureFail)
	want := renderHTML(t, run)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			var buf bytes.Buffer
			err := WriteHTML(&buf, run)
			if err == nil && buf.String() != want {
				err = fmt.Errorf("a concurrent render differs")
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
