package report

import (
	"bytes"
	"encoding/xml"
	stdhtml "html"
	"strings"
	"testing"
)

// withControl is the passing fixture run with a comparison against its
// control run: a latency SLO failed in both runs (excused) and an
// availability SLO reported only.
func withControl(t *testing.T) *Run {
	run := loadFixture(t, fixturePass)
	limit := 0.02
	run.Result.SLOs = append(run.Result.SLOs, SLOResult{Name: "fast", SLI: "latency", Verdict: Fail, Reason: "budget exhausted"})
	run.Result.Control = &ControlResult{Dir: "control", ControlVerdict: Fail, Verdict: Pass, Reason: "no significant degradation beyond the limits",
		Rule: "the rule", Confidence: 0.95, Alpha: 0.05, SLIs: []ControlSLI{
			{Name: "fast", Kind: ControlLatency, Series: "p99 latency per second", Seconds: "run", ControlN: 20, ExperimentN: 20,
				ControlMedian: 0.061, ExperimentMedian: 0.0615, Shift: 0.0004, Low: -0.002, High: 0.003, U: 210, P: 0.61,
				Limit: &limit, Verdict: Pass, Reason: "no significant degradation", ControlSLOVerdict: Fail, Excused: true},
			{Name: "up", Kind: ControlErrors, Series: "error ratio per second", Seconds: "run", ControlN: 20, ExperimentN: 20,
				ControlBad: 2, ControlTotal: 2000, ExperimentBad: 40, ExperimentTotal: 2000, ControlRatio: 0.001, ExperimentRatio: 0.02,
				Shift: 0.019, Low: 0.013, High: 0.026, U: 380, P: 3e-7, Significant: true, Reason: "reported"},
		}}
	return run
}

func TestControlInEveryReport(t *testing.T) {
	run := withControl(t)
	var term, md, html, junit bytes.Buffer
	if err := Terminal(&term, run.Result, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, run); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, run); err != nil {
		t.Fatal(err)
	}
	if err := WriteJUnit(&junit, run.Result); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"terminal": term.String(), "summary.md": md.String(), "report.html": stdhtml.UnescapeString(html.String())} {
		for _, want := range []string{"+400µs", "-2ms to +3ms", "0.61", "20ms", "+1.9%", "3.0e-07", "2% (40 / 2000)", "control/"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q:\n%s", name, want, out)
			}
		}
	}
	if !strings.Contains(md.String(), "SLO failed in the control run too") || !strings.Contains(md.String(), "reported only") {
		t.Errorf("summary.md:\n%s", md.String())
	}
	var doc struct {
		Suites []struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(junit.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range doc.Suites[0].Cases {
		seen[c.Name] = true
		if c.Failure != nil {
			t.Errorf("case %s failed: the SLO failed in the control run too, and the comparison passed", c.Name)
		}
	}
	if !seen["control SLO fast"] || !seen["control SLO up"] || !seen["SLO fast"] {
		t.Errorf("cases %v", seen)
	}
	// A degraded SLO is a failed case of its own.
	run.Result.Control.SLIs[0].Verdict = Fail
	run.Result.Control.SLIs[0].Excused = false
	junit.Reset()
	if err := WriteJUnit(&junit, run.Result); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(junit.String(), `type="degraded-against-control"`) {
		t.Errorf("junit.xml:\n%s", junit.String())
	}
}
