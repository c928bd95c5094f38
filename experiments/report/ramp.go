package report

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// RampResult is the result.json of a ramp's parent folder (`chaosctl run`
// of a file with a ramp section): the breaking-point search and each of its
// steps, a run (or a repeat) in a folder of its own inside it. Header.Verdict
// and Reason are the search's, decided by ramp.require; Header.Seed is every
// step's seed. Like result.json, its fields are only ever added.
type RampResult struct {
	Experiment string `json:"experiment"`
	Header
	Margin      Margin   `json:"margin"`
	Interrupted bool     `json:"interrupted,omitempty"`
	Errors      []string `json:"errors,omitempty"`
}

// Margin is what a ramp found: the harshest value of Param that held, the
// mildest that broke and what broke there, and every step.
type Margin struct {
	Param string `json:"param"`
	Fault string `json:"fault,omitempty"`
	// Subject names what was ramped: "latency.delay of slow-n1 (n1)".
	Subject string `json:"subject"`
	From    string `json:"from"`
	To      string `json:"to"`
	// Unit is the unit of every step's X: ms, kB/s, members, nodes or
	// requests/s.
	Unit string `json:"unit"`
	// Bisect is the bisection steps planned after the two ends; RunsPerStep
	// the runs that judge each step (a repeat's pass-rate rule above 1).
	Bisect      int `json:"bisect"`
	RunsPerStep int `json:"runsPerStep"`
	// Holds is the harshest value that held (nil: none did), Breaks the
	// mildest that broke (nil: none did), BrokenBy what failed there (SLOs,
	// checks, probes as name/phase), Unknown the mildest value between them
	// that stayed inconclusive on its rerun.
	Holds    *string  `json:"holds"`
	Breaks   *string  `json:"breaks"`
	BrokenBy []string `json:"brokenBy"`
	Unknown  *string  `json:"unknown,omitempty"`
	// Require is ramp.require and Meets whether the margin reaches it (nil:
	// undecided, or no require).
	Require *string `json:"require,omitempty"`
	Meets   *bool   `json:"meets,omitempty"`
	// Status is bracketed, holds-to-to, breaks-at-from or inconclusive;
	// Text the margin in words: "holds to 180ms, breaks at 220ms: fast-reads".
	Status string     `json:"status"`
	Text   string     `json:"text"`
	Steps  []RampStep `json:"steps"`
}

// RampStep is one step of a ramp: a run (or a repeat) at one value.
type RampStep struct {
	Step  int    `json:"step"`
	Value string `json:"value"`
	// X is Value in the margin's Unit, for charts.
	X       float64 `json:"x"`
	Verdict string  `json:"verdict"`
	Reason  string  `json:"reason"`
	// Dir is the step's folder, relative to the ramp's; a repeat's parent
	// folder when RunsPerStep is above 1.
	Dir  string `json:"dir"`
	Seed int64  `json:"seed"`
	// Try 2 is the rerun of an inconclusive step.
	Try      int      `json:"try"`
	BrokenBy []string `json:"brokenBy,omitempty"`
	// Budgets is each SLO's budget consumed (a repeat's median).
	Budgets     []StepBudget   `json:"budgets"`
	Repeat      *RepeatSummary `json:"repeat,omitempty"`
	Took        string         `json:"took,omitempty"`
	Interrupted bool           `json:"interrupted,omitempty"`
	Error       string         `json:"error,omitempty"`
}

// StepBudget is one SLO's verdict and budget consumed (a fraction: 1 is the
// whole budget) at a step.
type StepBudget struct {
	Name     string  `json:"name"`
	Verdict  string  `json:"verdict"`
	Consumed float64 `json:"consumed"`
}

// FileRampSteps is the folder of a ramp's parent folder that holds one
// folder per step.
const FileRampSteps = "steps"

// WriteJSON writes the ramp's result.json into dir.
func (r *RampResult) WriteJSON(dir string) error { return writeResultJSON(dir, r) }

// ReadRampJSON reads a ramp's result.json from dir; ok is false when the
// folder's result.json is not a ramp's (it has no margin section).
func ReadRampJSON(dir string) (*RampResult, bool, error) {
	return readResultWith[RampResult](dir, "margin")
}

// WriteRampReports writes a ramp's summary.md, junit.xml and report.html
// into dir, reading each step's own result.json from its folder.
func WriteRampReports(dir string, r *RampResult) error {
	var md, junit, page bytes.Buffer
	if err := WriteRampMarkdown(&md, r); err != nil {
		return err
	}
	if err := WriteJUnitEntries(&junit, JUnitEntry{Ramp: r, RampDir: dir}); err != nil {
		return err
	}
	if err := writeRampHTML(&page, r); err != nil {
		return err
	}
	for name, b := range map[string][]byte{FileMarkdown: md.Bytes(), FileJUnit: junit.Bytes(), FileHTML: page.Bytes()} {
		if err := writeFileAtomic(filepath.Join(dir, name), b); err != nil {
			return err
		}
	}
	return nil
}

// RenderRamp re-renders a ramp's summary.md, junit.xml and report.html from
// its parent folder: result.json and each step's own.
func RenderRamp(dir string) error {
	r, ok, err := ReadRampJSON(dir)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s is not a ramp's folder", dir)
	}
	return WriteRampReports(dir, r)
}

// rampStepSuites are the testsuites of a ramp's steps, read from their
// folders in dir: a run's suite, or a repeat's aggregate suite; a step
// that left no result is one erroring case.
func rampStepSuites(dir string, r *RampResult) []junitSuite {
	var out []junitSuite
	for _, s := range r.Margin.Steps {
		name := fmt.Sprintf("%s step %d %s=%s", r.Experiment, s.Step, r.Margin.Param, s.Value)
		var suite junitSuite
		sdir := filepath.Join(dir, s.Dir)
		if rep, ok, err := ReadRepeatJSON(sdir); err == nil && ok {
			suite = repeatSuite(rep)
		} else if res, err := ReadJSON(sdir); err == nil {
			suite = junitSuiteOf(res)
		} else {
			msg := "the step left no result"
			if s.Error != "" {
				msg += ": " + s.Error
			}
			suite = junitSuite{Time: "0.000", Tests: 1, Errors: 1, Cases: []junitCase{{Name: "run", Classname: r.Experiment, Time: "0.000",
				Error: &junitProblem{Message: msg, Type: junitRunError, Body: s.Error}}}}
		}
		suite.Name = name
		out = append(out, suite)
	}
	return out
}

// rampSuite is the testsuite of a ramp as a whole: the margin's figures as
// properties and the "margin" case its verdict judged.
func rampSuite(r *RampResult) junitSuite {
	m := r.Margin
	s := junitSuite{Name: r.Experiment + " ramp", Time: junitSeconds(runSeconds(&Result{Header: r.Header})), Timestamp: junitTimestamp(r.Started),
		File: r.File, SystemOut: fmt.Sprintf("verdict: %s: %s", r.Verdict, r.Reason)}
	for _, pr := range []junitProperty{
		{"seed", strconv.FormatInt(r.Seed, 10)}, {"param", m.Param}, {"fault", m.Fault}, {"from", m.From}, {"to", m.To},
		{"holds", deref(m.Holds)}, {"breaks", deref(m.Breaks)}, {"brokenBy", strings.Join(m.BrokenBy, " ")}, {"unknown", deref(m.Unknown)},
		{"require", deref(m.Require)}, {"status", m.Status}, {"verdict", r.Verdict}, {"chaosctlVersion", r.ChaosctlVersion}, {"runtime", r.Runtime},
	} {
		if pr.Value != "" {
			s.Properties = append(s.Properties, pr)
		}
	}
	c := junitCase{Name: "margin", Classname: r.Experiment, Time: s.Time, SystemOut: marginSentence(m)}
	c.judge(r.Verdict, &junitProblem{Message: r.Reason, Type: junitMarginBelow, Body: rampStepsText(r)}, r.Reason)
	s.Cases, s.Tests = []junitCase{c}, 1
	switch {
	case c.Failure != nil:
		s.Failures = 1
	case c.Skipped != nil:
		s.Skipped = 1
	}
	if r.Interrupted {
		s.Cases = append(s.Cases, junitCase{Name: "ramp", Classname: r.Experiment, Time: "0.000",
			Error: &junitProblem{Message: fmt.Sprintf("interrupted after %d steps; every fault was reverted", len(m.Steps)), Type: junitRunError, Body: strings.Join(r.Errors, "\n")}})
		s.Tests++
		s.Errors++
	}
	return s
}

const junitMarginBelow = "margin-below-required"

func rampStepsText(r *RampResult) string {
	var b strings.Builder
	b.WriteString(marginSentence(r.Margin))
	for _, s := range r.Margin.Steps {
		fmt.Fprintf(&b, "\nstep %d %s=%s: %s: %s", s.Step, r.Margin.Param, s.Value, s.Verdict, s.Reason)
	}
	return b.String()
}

// marginSentence is the margin with what was ramped and on which members:
// "latency.delay of slow-n1 (n1) holds to 180ms, breaks at 220ms:
// fast-reads".
func marginSentence(m Margin) string {
	if m.Subject == "" {
		return m.Text
	}
	return m.Subject + " " + m.Text
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// budgetText lists a step's budgets: "fast-reads 12.0%, availability 0.0%".
func budgetText(bs []StepBudget) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = b.Name + " " + consumedPct(b.Consumed)
	}
	return strings.Join(parts, ", ")
}

// stepReport is the report a step's row links to: a run's report.html, a
// repeat's summary.md.
func stepReport(s RampStep) string {
	if s.Repeat != nil {
		return s.Dir + "/" + FileMarkdown
	}
	return s.Dir + "/" + FileHTML
}

// RampTerminal writes the table `chaosctl run` prints after a ramp: a line
// per step, the margin and the verdict.
func RampTerminal(w io.Writer, r *RampResult) error {
	m := r.Margin
	fmt.Fprintf(w, "\nramp %s  %s from %s to %s  seed %d  %d steps\n", r.Experiment, m.Subject, m.From, m.To, r.Seed, len(m.Steps))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSTEP\tVALUE\tVERDICT\tBUDGET USED\tBROKEN BY")
	for _, s := range m.Steps {
		v := s.Verdict
		if s.Try > 1 {
			v += " (rerun)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", s.Step, s.Value, v, budgetText(s.Budgets), strings.Join(s.BrokenBy, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Interrupted {
		fmt.Fprintf(w, "\ninterrupted after %d steps; every fault was reverted\n", len(m.Steps))
	}
	_, err := fmt.Fprintf(w, "\nmargin: %s %s\nverdict: %s — %s\n", m.Subject, m.Text, r.Verdict, r.Reason)
	return err
}

// WriteRampMarkdown writes a ramp's summary.md: the verdict, the margin, a
// row per step linking its report.
func WriteRampMarkdown(w io.Writer, r *RampResult) error {
	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	m := r.Margin
	p("## chaosctl ramp %s: %s\n\n", mdCode(r.Experiment), verdictWord(r.Verdict))
	p("**Verdict: %s.** %s\n\n", verdictWord(r.Verdict), mdText(r.Reason))
	if r.Description != "" {
		p("%s\n\n", mdText(r.Description))
	}
	p("**Margin:** %s %s.\n\n", mdCode(m.Subject), mdText(m.Text))
	meta := []string{fmt.Sprintf("%s from %s to %s", mdCode(m.Param), mdCode(m.From), mdCode(m.To)),
		fmt.Sprintf("%d bisection steps", m.Bisect), fmt.Sprintf("%d run%s per step", m.RunsPerStep, plural(m.RunsPerStep)),
		"seed " + mdCode(fmt.Sprint(r.Seed))}
	if m.Require != nil {
		meta = append(meta, "require "+mdCode(*m.Require))
	}
	meta = append(meta, headerMeta(r.Header)...)
	p("%s\n\n", strings.Join(meta, " · "))
	if r.Interrupted {
		p("**Interrupted:** after %d steps; every fault was reverted and no further step was started.\n\n", len(m.Steps))
	}
	p("### Steps\n\n| Step | %s | Verdict | Budget consumed | Broken by | Report |\n|---:|---:|---|---|---|---|\n", mdCell(m.Param))
	for _, s := range m.Steps {
		v := mdVerdict(s.Verdict)
		if s.Try > 1 {
			v += " (rerun)"
		}
		p("| %d | %s | %s | %s | %s | [%s](%s) |\n", s.Step, mdCell(s.Value), v, mdCell(budgetText(s.Budgets)), mdCell(strings.Join(s.BrokenBy, ", ")),
			mdCell(s.Dir), stepReport(s))
	}
	p("\n")
	if len(r.Errors) > 0 {
		p("### Errors\n\n")
		for _, e := range r.Errors {
			p("- %s\n", mdText(e))
		}
		p("\n")
	}
	p("Every step ran with seed %s, so only %s changed between them; `chaosctl run --seed %d` repeats the search.\n",
		mdCode(fmt.Sprint(r.Seed)), mdCode(m.Param), r.Seed)
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write summary.md: %w", err)
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// rampPalette colours the SLOs' lines on the ramp chart.
var rampPalette = []color.Color{colourBlue, colourPurple, colourGreen, colourGrey}

// rampCap is the most of a budget the chart draws (in %): a step far past
// its budget would squash the others to the floor.
const rampCap = 300.0

// rampChart draws each SLO's budget consumed against the ramped value, one
// point per judged step (the last judgement of a value), with the margin's
// two values as vertical lines.
func rampChart(r *RampResult) (template.HTML, []legendItem, error) {
	m := r.Margin
	type point struct{ x, y float64 }
	bySLO := map[string]map[float64]float64{}
	var names []string
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, s := range m.Steps {
		xmin, xmax = math.Min(xmin, s.X), math.Max(xmax, s.X)
		if s.Verdict == Inconclusive && len(s.Budgets) == 0 {
			continue
		}
		for _, b := range s.Budgets {
			if bySLO[b.Name] == nil {
				bySLO[b.Name] = map[float64]float64{}
				names = append(names, b.Name)
			}
			bySLO[b.Name][s.X] = math.Min(100*b.Consumed, rampCap)
		}
	}
	if len(names) == 0 || math.IsInf(xmin, 0) {
		return "", nil, nil
	}
	var lines []series
	var legend []legendItem
	for i, name := range names {
		pts := make([]point, 0, len(bySLO[name]))
		for x, y := range bySLO[name] {
			pts = append(pts, point{x, y})
		}
		slices.SortFunc(pts, func(a, b point) int { return cmp.Compare(a.x, b.x) })
		s := series{Name: name, Colour: rampPalette[i%len(rampPalette)]}
		dots := series{Name: name + " steps", Colour: s.Colour}
		for _, pt := range pts {
			s.X, s.Y = append(s.X, pt.x), append(s.Y, pt.y)
			// Each point alone between gaps: a dot per step run.
			dots.X, dots.Y = append(dots.X, pt.x, pt.x), append(dots.Y, pt.y, math.NaN())
		}
		lines = append(lines, s, dots)
		legend = append(legend, legendItem{Name: name, Colour: cssColour(s.Colour)})
	}
	pad := (xmax - xmin) * 0.03
	ch := chart{YLabel: "% of the budget consumed", XLabel: m.Param + " (" + m.Unit + ")", Series: lines,
		XMin: xmin - pad, XMax: xmax + pad, YMaxAtLeast: 110}
	ch.Rules = append(ch.Rules, rule{At: 100, Label: "100 %: budget exhausted", Colour: colourRed})
	xOf := func(v *string) (float64, bool) {
		for _, s := range m.Steps {
			if v != nil && s.Value == *v {
				return s.X, true
			}
		}
		return 0, false
	}
	if x, ok := xOf(m.Holds); ok {
		ch.Rules = append(ch.Rules, rule{At: x, Vertical: true, Colour: colourGreen, Solid: true})
		legend = append(legend, legendItem{Name: "holds to " + *m.Holds, Colour: cssColour(colourGreen)})
	}
	if x, ok := xOf(m.Breaks); ok {
		ch.Rules = append(ch.Rules, rule{At: x, Vertical: true, Colour: colourRed, Solid: true})
		legend = append(legend, legendItem{Name: "breaks at " + *m.Breaks, Colour: cssColour(colourRed)})
	}
	p, err := ch.newPlot()
	if err != nil {
		return "", nil, err
	}
	svg, err := svgOf("budget consumed against "+m.Param, panelW*1.6, panelH*1.4, p)
	return svg, legend, err
}

func writeRampHTML(w io.Writer, r *RampResult) error {
	svg, legend, err := rampChart(r)
	if err != nil {
		return err
	}
	v := struct {
		R      *RampResult
		SVG    template.HTML
		Legend []legendItem
		Cap    float64
		Meta   []string
		Report func(RampStep) string
		Budget func([]StepBudget) string
	}{R: r, SVG: svg, Legend: legend, Cap: rampCap, Report: stepReport, Budget: budgetText}
	v.Meta = []string{fmt.Sprintf("%s from %s to %s", r.Margin.Param, r.Margin.From, r.Margin.To),
		fmt.Sprintf("%d bisection steps, %d run%s per step", r.Margin.Bisect, r.Margin.RunsPerStep, plural(r.Margin.RunsPerStep)),
		fmt.Sprintf("seed %d for every step", r.Seed)}
	if r.Runtime != "" {
		v.Meta = append(v.Meta, "runtime "+r.Runtime)
	}
	if r.ChaosctlVersion != "" {
		v.Meta = append(v.Meta, "chaosctl "+r.ChaosctlVersion)
	}
	if err := rampTemplate.Execute(w, v); err != nil {
		return fmt.Errorf("render %s: %w", FileHTML, err)
	}
	return nil
}

var rampTemplate = template.Must(template.New("ramp").Funcs(template.FuncMap{"verdictWord": verdictWord}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>chaosctl ramp {{.R.Experiment}}: {{verdictWord .R.Verdict}}</title>
<style>
:root { --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #c41e2a; --fail-bg: #ffebe9; --inconclusive: #8a5a00; --inconclusive-bg: #fff5d1; --line: #d1d9e0; }
body { margin: 0; font: 15px/1.45 "Liberation Sans", Arial, Helvetica, sans-serif; color: #1f2328; background: #f6f8fa; }
main { max-width: 1160px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 24px; margin: 0 0 6px; } h2 { font-size: 19px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); }
.muted, figcaption { color: #59636e; }
.banner { border-radius: 8px; padding: 14px 18px; margin: 8px 0 14px; border: 1px solid; }
.banner .word { font-size: 22px; font-weight: bold; }
.banner.pass { background: var(--pass-bg); border-color: var(--pass); } .banner.fail { background: var(--fail-bg); border-color: var(--fail); }
.banner.inconclusive { background: var(--inconclusive-bg); border-color: var(--inconclusive); }
td.pass { color: var(--pass); } td.fail { color: var(--fail); } td.inconclusive { color: var(--inconclusive); }
td.pass, td.fail, td.inconclusive { font-weight: bold; text-transform: uppercase; font-size: 13px; }
.meta span:not(:last-child)::after { content: " · "; color: #59636e; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin: 0 0 14px; }
svg.plot { display: block; width: 100%; height: auto; }
.legend { font-size: 13px; } .legend span { margin-right: 14px; white-space: nowrap; }
.legend i { display: inline-block; width: 22px; border-top: 3px solid; vertical-align: middle; margin-right: 5px; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 14px; }
th, td { text-align: left; padding: 6px 9px; border-bottom: 1px solid var(--line); vertical-align: top; } th { background: #eef1f4; }
</style></head><body><main>
<h1>chaosctl ramp {{.R.Experiment}}</h1>
{{with .R.Description}}<p class="muted">{{.}}</p>{{end}}
<div class="banner {{.R.Verdict}}" id="verdict"><div class="word">Verdict: {{verdictWord .R.Verdict}}</div><div>{{.R.Reason}}</div>
{{if .R.Interrupted}}<div><strong>Interrupted:</strong> no further step was started; every fault was reverted.</div>{{end}}</div>
<p id="margin"><strong>Margin:</strong> {{.R.Margin.Subject}} {{.R.Margin.Text}}.</p>
<p class="meta">{{range .Meta}}<span>{{.}}</span>{{end}}</p>
<h2>Budget consumed against {{.R.Margin.Param}}</h2>
<div class="card"><figure>
<div class="legend">{{range .Legend}}<span><i style="border-top-color: {{.Colour}}"></i>{{.Name}}</span>{{end}}</div>
{{if .SVG}}{{.SVG}}{{else}}<p class="muted">No step was judged with an SLO: nothing to draw.</p>{{end}}
<figcaption>Each SLO's error budget consumed at each value the search ran (a repeat's median), drawn at most {{.Cap}} % (a step above it is drawn at {{.Cap}} %). Every step ran with seed {{.R.Seed}}: only {{.R.Margin.Param}} changed.</figcaption>
</figure></div>
<h2>Steps</h2>
<table><tr><th>step</th><th>{{.R.Margin.Param}}</th><th>verdict</th><th>budget consumed</th><th>broken by</th><th>reason</th><th>report</th></tr>
{{range .R.Margin.Steps}}<tr><td>{{.Step}}</td><td>{{.Value}}</td><td class="{{.Verdict}}">{{.Verdict}}{{if gt .Try 1}} (rerun){{end}}</td><td>{{call $.Budget .Budgets}}</td>
<td>{{range .BrokenBy}}{{.}} {{end}}</td><td>{{.Reason}}</td><td><a href="{{call $.Report .}}">{{.Dir}}</a></td></tr>
{{end}}</table>
{{with .R.Errors}}<h2>Errors</h2><ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
</main></body></html>
`))
