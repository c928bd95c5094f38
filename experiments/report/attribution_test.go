package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// attributedRun is the failing fixture with its SLOs' bad events
// attributed, the second judged on the faults, and a ratio SLO.
func attributedRun(t *testing.T) *Run {
	t.Helper()
	run := loadFixture(t, fixtureFail)
	r := run.Result
	r.SLOs[0].Judge, r.SLOs[0].Attribution = "run", &Attribution{BeforeFaults: 12, Faults: map[string]int64{"isolate-one": 170, "kill-n2": 30}, Recovery: 4, Other: 4}
	r.SLOs[1].Judge, r.SLOs[1].Attribution = "faults", &Attribution{BeforeFaults: 0, Faults: map[string]int64{"isolate-one": 0, "kill-n2": 25}, Recovery: 6, Other: 0}
	r.SLOs = append(r.SLOs, SLOResult{Name: "checkout", SLI: "ratio", Objective: 0.99, Total: 1000, Bad: 3, Judge: "run", Verdict: Pass, Reason: "3 bad of 1000"})
	return run
}

const (
	availabilityLine = "bad events: 12 before faults, 170 in isolate-one, 30 in kill-n2, 4 in recovery, 4 other"
	fastReadsLine    = "bad events: 0 before faults, 25 in kill-n2, 6 in recovery, 0 other; judged on the 31 the faults caused (judge: faults)"
	ratioLine        = "bad events: not attributed (a ratio SLI has no per-second data)"
)

func TestAttributionInTheTerminal(t *testing.T) {
	var buf bytes.Buffer
	if err := Terminal(&buf, attributedRun(t).Result, false); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(out, "\n")
	header := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "SLO ") {
			header = i
		}
	}
	if header < 0 || len(lines) < header+7 {
		t.Fatalf("no SLO table:\n%s", out)
	}
	// Each SLO's row, then its attribution indented under it; the rows keep
	// their columns.
	col := strings.Index(lines[header], "VERDICT")
	for i, want := range []struct{ row, under string }{
		{"availability", availabilityLine}, {"fast-reads", fastReadsLine}, {"checkout", ratioLine},
	} {
		row, under := lines[header+1+2*i], lines[header+2+2*i]
		if !strings.HasPrefix(row, want.row) || strings.Index(row, "fail") != col && strings.Index(row, "pass") != col {
			t.Errorf("row %q: not the %s row with its verdict at column %d", row, want.row, col)
		}
		if under != "    "+want.under {
			t.Errorf("under %s: %q, want %q", want.row, under, "    "+want.under)
		}
	}
	if strings.ContainsRune(out, '\xff') {
		t.Error("the tabwriter's escape characters reached the output")
	}
}

func TestAttributionInMarkdownAndHTML(t *testing.T) {
	run := attributedRun(t)
	var md bytes.Buffer
	if err := WriteMarkdown(&md, run); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		attributionNote,
		"- `availability`: " + availabilityLine + "\n",
		"- `fast-reads`: " + fastReadsLine + "\n",
		"- `checkout`: " + ratioLine + "\n",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md.String())
		}
	}
	page := renderHTML(t, run)
	for _, want := range []string{availabilityLine, fastReadsLine, ratioLine} {
		if !strings.Contains(page, `<td colspan="7" class="muted">`+want+`</td>`) {
			t.Errorf("report.html lacks the row %q", want)
		}
	}
	// Without attributions (an older result.json) no line is added.
	old := loadFixture(t, fixtureFail)
	md.Reset()
	if err := WriteMarkdown(&md, old); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), attributionNote) || strings.Contains(md.String(), "- `availability`") {
		t.Errorf("summary.md of a result without attributions names bad events:\n%s", md.String())
	}
}

func TestAttributionText(t *testing.T) {
	faults := []FaultResult{{Name: "f6"}, {Name: "f5"}, {Name: "f4"}, {Name: "f3"}, {Name: "f2"}, {Name: "f1"}}
	many := SLOResult{SLI: "availability", Attribution: &Attribution{Faults: map[string]int64{"f1": 1, "f2": 2, "f3": 3, "f4": 4, "f5": 5, "f6": 6, "zz": 7}}}
	if got, want := attributionText(many, faults), "bad events: 0 before faults, 6 in f6, 5 in f5, 4 in f4, 3 in f3, 10 in 3 more faults, 0 in recovery, 0 other"; got != want {
		t.Errorf("many faults: %q, want %q", got, want)
	}
	quiet := SLOResult{SLI: "latency", Attribution: &Attribution{BeforeFaults: 3, Faults: map[string]int64{"f1": 0}, Other: 1}}
	if got, want := attributionText(quiet, faults), "bad events: 3 before faults, 0 in fault windows, 0 in recovery, 1 other"; got != want {
		t.Errorf("no bad event in a fault: %q, want %q", got, want)
	}
	none := SLOResult{SLI: "availability", Attribution: &Attribution{BeforeFaults: 3, Faults: map[string]int64{}}}
	if got, want := attributionText(none, nil), "bad events: 3 before faults, 0 in recovery, 0 other"; got != want {
		t.Errorf("no faults: %q, want %q", got, want)
	}
}

// The JSON fields are the documented ones.
func TestAttributionJSON(t *testing.T) {
	b, err := json.Marshal(SLOResult{Judge: "faults", Attribution: &Attribution{BeforeFaults: 1, Faults: map[string]int64{"kill-n2": 2}, Recovery: 3, Other: 4}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `"judge":"faults","attribution":{"beforeFaults":1,"faults":{"kill-n2":2},"recovery":3,"other":4}`; !strings.Contains(string(b), want) {
		t.Errorf("%s lacks %s", b, want)
	}
}
