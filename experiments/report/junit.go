package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
)

// JUnit XML, in the shape of the common junit.xsd that Jenkins, GitLab and
// GitHub's test reporters read: testsuites > testsuite > testcase >
// failure | error | skipped. One testsuite per run (the experiment), one
// testcase per SLO, per probe judgement (probe and phase) and per check;
// plus a failing "stop condition" case when one fired, an erroring case per
// fault that could not be applied or reverted, and an erroring "run" case
// when the run itself failed or was interrupted. Inconclusive judgements are
// skipped, with the reason as the message: never a pass.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	File       string          `xml:"file,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	Skipped   *junitProblem `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// judge marks the case failed with failure when verdict is Fail, and
// skipped with the reason when it is inconclusive (neither Fail nor Pass).
func (c *junitCase) judge(verdict string, failure *junitProblem, reason string) {
	switch verdict {
	case Fail:
		c.Failure = failure
	case Pass:
	default:
		c.Skipped = &junitProblem{Message: inconclusiveMessage(reason)}
	}
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",cdata"`
}

// Failure and error types in junit.xml.
const (
	junitSLOExhausted = "slo-budget-exhausted"
	junitProbeFailed  = "probe-violated"
	junitCheckFailed  = "check-failed"
	junitStopped      = "stop-condition"
	junitFaultError   = "fault-error"
	junitRevertFailed = "revert-failed"
	junitRunError     = "run-error"
	junitNotLanded    = "fault-not-landed"
	junitLeftInPlace  = "fault-left-in-place"
	junitPassRate     = "pass-rate-below-required"
	junitDegraded     = "degraded-against-control"
)

// WriteJUnit writes junit.xml for one or more runs, one testsuite per run in
// the order given (`chaosctl run a.yaml b.yaml --junit FILE` writes them all
// in one file).
func WriteJUnit(w io.Writer, results ...*Result) error {
	doc := junitSuites{Name: "chaosctl"}
	var total float64
	for _, r := range results {
		if r == nil {
			continue
		}
		s := junitSuiteOf(r)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		total += runSeconds(r)
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = junitSeconds(total)
	return encodeJUnit(w, doc)
}

// WriteRepeatJUnit writes a repeat's junit.xml: a first testsuite for the
// repeat as a whole, named "<experiment> repeat", whose one testcase "pass
// rate" fails when the policy failed the repeat and is skipped when it was
// inconclusive (the rule is the message), then one testsuite per run, as
// WriteJUnit writes it, named "<experiment> run <i> seed <S>". runs are the
// runs' results in the order of r.Runs; a run that left none (nil) is one
// erroring "run" testcase.
func WriteRepeatJUnit(w io.Writer, r *RepeatResult, runs []*Result) error {
	return WriteJUnitEntries(w, JUnitEntry{Repeat: r, Runs: runs})
}

// JUnitEntry is one experiment of a combined JUnit file: a single run
// (Result) or a repeat (Repeat and its runs' results, as WriteRepeatJUnit
// takes them).
type JUnitEntry struct {
	Result *Result
	Repeat *RepeatResult
	Runs   []*Result
	// Ramp is a ramp, whose steps' results are read from their folders
	// in RampDir (its parent folder).
	Ramp    *RampResult
	RampDir string
}

// WriteJUnitEntries writes one JUnit file for single runs and repeats
// alike, in the order given: a run's testsuite as WriteJUnit writes it, a
// repeat's as WriteRepeatJUnit does.
func WriteJUnitEntries(w io.Writer, entries ...JUnitEntry) error {
	doc := junitSuites{Name: "chaosctl"}
	var total float64
	add := func(s junitSuite, seconds float64) {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		total += seconds
		doc.Suites = append(doc.Suites, s)
	}
	for _, e := range entries {
		switch {
		case e.Repeat != nil:
			add(repeatSuite(e.Repeat), 0)
			for i, run := range e.Repeat.Runs {
				var res *Result
				if i < len(e.Runs) {
					res = e.Runs[i]
				}
				s, secs := repeatRunSuite(e.Repeat, run, res)
				add(s, secs)
			}
		case e.Ramp != nil:
			add(rampSuite(e.Ramp), 0)
			for _, s := range rampStepSuites(e.RampDir, e.Ramp) {
				secs, _ := strconv.ParseFloat(s.Time, 64)
				add(s, secs)
			}
		case e.Result != nil:
			add(junitSuiteOf(e.Result), runSeconds(e.Result))
		}
	}
	doc.Time = junitSeconds(total)
	return encodeJUnit(w, doc)
}

// WriteJUnitEntriesFile is WriteJUnitEntries to path, replacing it whole.
func WriteJUnitEntriesFile(path string, entries ...JUnitEntry) error {
	var buf bytes.Buffer
	if err := WriteJUnitEntries(&buf, entries...); err != nil {
		return err
	}
	return writeFileAtomic(path, buf.Bytes())
}

// repeatSuite is the testsuite of a repeat as a whole: its figures as
// properties and the "pass rate" case the policy judged.
func repeatSuite(r *RepeatResult) junitSuite {
	agg := junitSuite{
		Name: r.Experiment + " repeat", Time: junitSeconds(runSeconds(&Result{Header: r.Header})), Timestamp: junitTimestamp(r.Started),
		File: r.File, SystemOut: fmt.Sprintf("verdict: %s: %s", r.Verdict, r.Reason),
	}
	s := r.Repeat
	for _, pr := range []junitProperty{
		{"seed", strconv.FormatInt(r.Seed, 10)}, {"planned", strconv.Itoa(s.Planned)}, {"runs", strconv.Itoa(s.Runs)},
		{"passed", strconv.Itoa(s.Passed)}, {"passRate", strconv.FormatFloat(s.PassRate, 'f', 4, 64)},
		{"low", strconv.FormatFloat(s.Low, 'f', 4, 64)}, {"high", strconv.FormatFloat(s.High, 'f', 4, 64)},
		{"required", strconv.FormatFloat(s.Required, 'f', 4, 64)}, {"flaky", strconv.FormatBool(s.Flaky)},
		{"verdict", r.Verdict}, {"rule", s.Rule}, {"chaosctlVersion", r.ChaosctlVersion}, {"runtime", r.Runtime},
	} {
		if pr.Value != "" {
			agg.Properties = append(agg.Properties, pr)
		}
	}
	c := junitCase{Name: "pass rate", Classname: r.Experiment, Time: agg.Time, SystemOut: s.Rule}
	c.judge(r.Verdict, &junitProblem{Message: s.Rule, Type: junitPassRate, Body: repeatRunsText(r)}, s.Rule)
	agg.Cases = append(agg.Cases, c)
	agg.Tests = 1
	switch {
	case c.Failure != nil:
		agg.Failures = 1
	case c.Skipped != nil:
		agg.Skipped = 1
	}
	if r.Interrupted {
		msg := fmt.Sprintf("interrupted after %d of %d runs; every fault was reverted", len(r.Runs), s.Planned)
		agg.Cases = append(agg.Cases, junitCase{Name: "repeat", Classname: r.Experiment, Time: "0.000",
			Error: &junitProblem{Message: msg, Type: junitRunError, Body: strings.Join(r.Errors, "\n")}})
		agg.Tests++
		agg.Errors++
	}
	return agg
}

// repeatRunSuite is the testsuite of one run of a repeat (res nil: the run
// left no result, one erroring case) and the run's seconds.
func repeatRunSuite(r *RepeatResult, run RepeatRun, res *Result) (junitSuite, float64) {
	var suite junitSuite
	secs := 0.0
	if res != nil {
		suite, secs = junitSuiteOf(res), runSeconds(res)
	} else {
		suite = junitSuite{Time: "0.000", Tests: 1, Errors: 1, Cases: []junitCase{{Name: "run", Classname: r.Experiment, Time: "0.000",
			Error: &junitProblem{Message: "the run left no result: " + run.Error, Type: junitRunError, Body: run.Error}}}}
	}
	suite.Name = fmt.Sprintf("%s run %d seed %d", r.Experiment, run.Run, run.Seed)
	return suite, secs
}

// repeatRunsText lists a repeat's runs, one a line, for the pass rate's
// failure body.
func repeatRunsText(r *RepeatResult) string {
	var b strings.Builder
	b.WriteString(r.Repeat.Rule)
	for _, run := range r.Runs {
		fmt.Fprintf(&b, "\nrun %d seed %d: %s: %s", run.Run, run.Seed, run.Verdict, run.Reason)
	}
	return b.String()
}

// encodeJUnit writes doc as junit.xml, dropping the characters XML cannot
// carry from the problems' bodies.
func encodeJUnit(w io.Writer, doc junitSuites) error {
	var buf bytes.Buffer
	for i := range doc.Suites {
		for j := range doc.Suites[i].Cases {
			c := &doc.Suites[i].Cases[j]
			for _, pr := range []*junitProblem{c.Failure, c.Error, c.Skipped} {
				if pr != nil {
					pr.Body = xmlSafe(pr.Body)
				}
			}
		}
	}
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode junit.xml: %w", err)
	}
	buf.WriteByte('\n')
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write junit.xml: %w", err)
	}
	return nil
}

// WriteJUnitFile writes junit.xml for one or more runs to path, replacing it
// whole (a reader never sees half a file).
func WriteJUnitFile(path string, results ...*Result) error {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, results...); err != nil {
		return err
	}
	return writeFileAtomic(path, buf.Bytes())
}

func junitSuiteOf(r *Result) junitSuite {
	s := junitSuite{
		Name:      r.Experiment,
		Time:      junitSeconds(runSeconds(r)),
		Timestamp: junitTimestamp(r.Started),
		File:      r.File,
		SystemOut: fmt.Sprintf("verdict: %s: %s", r.Verdict, r.Reason),
	}
	prop := func(name, value string) {
		if value != "" {
			s.Properties = append(s.Properties, junitProperty{Name: name, Value: value})
		}
	}
	prop("seed", strconv.FormatInt(r.Seed, 10))
	prop("chaosctlVersion", r.ChaosctlVersion)
	prop("runtime", r.Runtime)
	prop("verdict", r.Verdict)
	prop("reason", r.Reason)
	prop("started", timeText(r.Started))
	prop("ended", timeText(r.Ended))
	if r.MeasuredStart != nil {
		prop("measuredStart", timeText(*r.MeasuredStart))
	}
	clk := resultClock(r)
	for _, f := range r.Faults {
		applied, reverted := faultTimes(f, clk)
		prop("fault."+f.Name+".applied", applied)
		prop("fault."+f.Name+".reverted", reverted)
	}
	prop("description", r.Description)
	for _, f := range r.Faults {
		prop("fault."+f.Name+".receipt", ReceiptText(f.Receipt))
		prop("fault."+f.Name+".revertReceipt", ReceiptText(f.RevertReceipt))
	}

	add := func(c junitCase) {
		c.Classname = r.Experiment
		s.Tests++
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
		s.Cases = append(s.Cases, c)
	}
	measured := junitSeconds(r.measuredDuration().Seconds())
	for _, o := range r.SLOs {
		c := junitCase{Name: "SLO " + o.Name, Time: measured, SystemOut: sloFigures(o)}
		verdict := o.Verdict
		if verdict == Fail && r.Control.Excuses(o.Name) {
			// Not the run's failure: the budget was spent without faults
			// too, and the control case judges the SLO.
			verdict = Pass
			c.SystemOut += "; budget exhausted in the control run too, without faults: judged against the control run (case \"control SLO " + o.Name + "\")"
		}
		c.judge(verdict, &junitProblem{Message: fmt.Sprintf("SLO %s: %s", o.Name, sloFigures(o)), Type: junitSLOExhausted, Body: sloDetail(o)}, o.Reason)
		add(c)
	}
	if ctl := r.Control; ctl != nil {
		prop("control.dir", ctl.Dir)
		prop("control.controlVerdict", ctl.ControlVerdict)
		prop("control.verdict", ctl.Verdict)
		for _, sli := range ctl.SLIs {
			c := junitCase{Name: "control SLO " + sli.Name, Time: measured, SystemOut: controlFigures(sli) + "; " + sli.Reason}
			verdict := sli.Verdict
			if verdict == "" {
				verdict = Pass // reported only: no limit to fail
			}
			c.judge(verdict, &junitProblem{Message: fmt.Sprintf("SLO %s degraded against the control run: %s", sli.Name, controlFigures(sli)),
				Type: junitDegraded, Body: sli.Reason + "\nRule: " + ctl.Rule}, sli.Reason)
			add(c)
		}
	}
	for _, p := range r.Probes {
		c := junitCase{Name: fmt.Sprintf("probe %s (%s)", p.Name, p.Phase), Time: junitSeconds(float64(p.Samples)), SystemOut: probeFigures(p)}
		c.judge(p.Verdict, &junitProblem{Message: fmt.Sprintf("probe %s (%s): %s", p.Name, p.Phase, probeFigures(p)), Type: junitProbeFailed, Body: p.Reason}, p.Reason)
		add(c)
	}
	for _, ch := range r.Checks {
		took, _ := time.ParseDuration(ch.Took)
		c := junitCase{Name: "check " + ch.Name, Time: junitSeconds(took.Seconds()), SystemOut: ch.Detail}
		c.judge(ch.Verdict, &junitProblem{Message: fmt.Sprintf("check %s: %s", ch.Name, checkFigures(ch)), Type: junitCheckFailed, Body: checkDetail(ch)}, ch.Detail)
		add(c)
	}
	if sc := r.StopCondition; sc != nil {
		msg := "stop condition: " + sc.Reason
		body := msg
		if !sc.At.IsZero() {
			body += "\nfired at " + timeText(sc.At) + " (" + clk.t(sc.At) + ")"
		}
		if sc.SLO != "" {
			body += fmt.Sprintf("\nSLO %s %s %.2f", sc.SLO, stopBurnName(sc), sc.Burn)
		}
		add(junitCase{Name: "stop condition", Time: "0.000", Failure: &junitProblem{Message: msg, Type: junitStopped, Body: body}})
	}
	for _, f := range r.Faults {
		if f.StillApplied {
			msg := fmt.Sprintf("fault %s (%s) was not reverted and may still be in place: %s", f.Name, f.Kind, f.RevertError)
			add(junitCase{Name: "fault " + f.Name + " revert", Time: "0.000", Error: &junitProblem{Message: msg, Type: junitRevertFailed, Body: msg + "\nrun `chaosctl recover` to finish the revert"}})
		}
		if f.Error != "" {
			add(junitCase{Name: "fault " + f.Name, Time: "0.000", Error: &junitProblem{Message: fmt.Sprintf("fault %s (%s): %s", f.Name, f.Kind, f.Error), Type: junitFaultError, Body: f.Error}})
		}
		for _, rc := range []struct {
			name, typ, msg string
			r              *injectors.Receipt
		}{
			{"fault " + f.Name + " receipt", junitNotLanded, "fault did not land: " + f.Name, f.Receipt},
			{"fault " + f.Name + " revert receipt", junitLeftInPlace, "fault still in place after its revert: " + f.Name, f.RevertReceipt},
		} {
			if rc.r.Failed() {
				msg := fmt.Sprintf("%s (%s): %s", rc.msg, f.Kind, rc.r.Summary)
				add(junitCase{Name: rc.name, Time: "0.000", Error: &junitProblem{Message: msg, Type: rc.typ, Body: receiptBody(rc.r, clk)}})
			}
		}
	}
	if r.Interrupted || len(r.Errors) > 0 {
		msg := "the run did not complete normally"
		if r.Interrupted {
			msg = "interrupted before the end; every fault was reverted"
		}
		add(junitCase{Name: "run", Time: junitSeconds(runSeconds(r)), Error: &junitProblem{Message: msg, Type: junitRunError, Body: strings.Join(r.Errors, "\n")}})
	}
	return s
}

// faultTimes are a fault's applied and reverted times for the JUnit
// properties: at the run's one origin and in UTC.
func faultTimes(f FaultResult, c runClock) (applied, reverted string) {
	if f.Applied == nil {
		return "not applied", ""
	}
	applied = c.t(*f.Applied) + " (" + timeText(*f.Applied) + ")"
	switch {
	case f.Reverted != nil:
		reverted = c.t(*f.Reverted) + " (" + timeText(*f.Reverted) + ")"
	case f.StillApplied:
		reverted = "not reverted"
	}
	return applied, reverted
}

// xmlSafe drops the characters XML 1.0 cannot carry (a CDATA section is
// written as is; attributes and text are escaped by encoding/xml).
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r <= 0xDFFF:
			return '\uFFFD'
		}
		return r
	}, s)
}

func inconclusiveMessage(reason string) string {
	if reason == "" {
		return "inconclusive"
	}
	return "inconclusive: " + reason
}

// sloFigures is the one-line figures of an SLO: bad/total, budget consumed
// and burn rate.
func sloFigures(o SLOResult) string {
	return fmt.Sprintf("%d bad of %d (%s), objective %s, budget %.1f bad events, %s consumed, burn rate (whole run) %s",
		o.Bad, o.Total, ratioPct(o.Bad, o.Total), pct(o.Objective), o.Budget, consumedPct(o.Consumed), burnText(o.BurnRate))
}

func sloDetail(o SLOResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SLO %s: SLI %s", o.Name, o.SLI)
	if o.Op != "" {
		fmt.Fprintf(&b, ", op %s", o.Op)
	}
	if o.Threshold != "" {
		fmt.Fprintf(&b, ", threshold %s", o.Threshold)
	}
	fmt.Fprintf(&b, ", objective %s\n", pct(o.Objective))
	fmt.Fprintf(&b, "events: %d, bad: %d (%s)\n", o.Total, o.Bad, ratioPct(o.Bad, o.Total))
	fmt.Fprintf(&b, "error budget: %.1f bad events allowed, %s consumed\n", o.Budget, consumedPct(o.Consumed))
	fmt.Fprintf(&b, "burn rate (whole run): %s\n", burnText(o.BurnRate))
	if o.Reason != "" {
		fmt.Fprintf(&b, "verdict: %s: %s", o.Verdict, o.Reason)
	}
	return b.String()
}

func probeFigures(p ProbeResult) string {
	metric := p.Metric
	if metric == "" {
		metric = "value"
	}
	if p.Samples == 0 {
		return fmt.Sprintf("%s: no samples, bound %s", metric, strings.TrimSpace(p.Bound))
	}
	return fmt.Sprintf("%s = %s, bound %s, over %d s", metric, probeValueText(p), strings.TrimSpace(p.Bound), p.Samples)
}

func checkFigures(c CheckResult) string {
	s := fmt.Sprintf("%d anomalies in %d operations", c.Anomalies, c.Operations)
	if c.Keys > 0 {
		s += fmt.Sprintf(" on %d keys", c.Keys)
	}
	return s
}

func checkDetail(c CheckResult) string {
	var b strings.Builder
	b.WriteString(c.Detail)
	kinds := make([]string, 0, len(c.ByKind))
	for k := range c.ByKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "\n%s: %d", k, c.ByKind[k])
	}
	for _, l := range c.Listed {
		b.WriteString("\n- " + l)
	}
	return b.String()
}

// probeValueText formats a probe's value in its metric's unit: latencies as
// durations, ratios as percentages.
func probeValueText(p ProbeResult) string {
	switch {
	case p.Samples == 0:
		return "no data"
	case strings.Contains(p.Metric, "latency"):
		return secs(p.Value)
	case strings.HasSuffix(p.Metric, "ratio"):
		return pct(p.Value)
	}
	return strconv.FormatFloat(p.Value, 'g', 4, 64)
}

func ratioPct(bad, total int64) string {
	if total == 0 {
		return "no events"
	}
	return fmt.Sprintf("%.3f%%", 100*float64(bad)/float64(total))
}

// consumedPct formats a consumed budget fraction; a run with events but no
// budget (objective 100%) has consumed "all of a zero budget".
func consumedPct(c float64) string {
	if c >= math.MaxFloat64/2 || math.IsInf(c, 1) {
		return "infinite (zero budget)"
	}
	return fmt.Sprintf("%.1f%%", 100*c)
}

// stopBurnName names the stop condition's burn rate with its window: "burn
// rate (last 5s)"; a result written before the window was recorded says
// "burn rate (over abort.window)".
func stopBurnName(sc *StopCondition) string {
	if sc.Window == "" {
		return "burn rate (over abort.window)"
	}
	return "burn rate (" + sc.Window + ")"
}

func burnText(b float64) string {
	if b >= math.MaxFloat64/2 || math.IsInf(b, 1) {
		return "infinite"
	}
	return strconv.FormatFloat(b, 'f', 2, 64)
}

// junitSeconds formats seconds for the time attributes: digits and a point,
// no exponent, never negative (the schema's pattern).
func junitSeconds(s float64) string {
	if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		s = 0
	}
	return strconv.FormatFloat(s, 'f', 3, 64)
}

// junitTimestamp is ISO 8601 without a zone, as Ant writes it; chaosctl
// writes UTC.
func junitTimestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

func runSeconds(r *Result) float64 {
	if r.Started.IsZero() || r.Ended.Before(r.Started) {
		return 0
	}
	return r.Ended.Sub(r.Started).Seconds()
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func offsetText(start, t time.Time) string {
	return "+" + t.Sub(start).Round(time.Millisecond).String()
}
