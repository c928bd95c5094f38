package gameday

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// WriteHTML writes gameday.html: one self-contained page (no scripts, no
// external resources) with an SVG timeline of every step, fault, probe
// judgement and note in wall-clock time, the same events as a table, every
// step with its instructions, expected observations, notes and, for
// experiments, the verdict with a link to the experiment's own report, and
// a closing table of the steps.
func WriteHTML(w io.Writer, r *Result) error {
	v := htmlView{R: r, Verdict: bannerVerdict(r.Verdict), Meta: meta(r), SVG: template.HTML(timelineSVG(r))} //nolint:gosec // every text in it is escaped
	for _, e := range Timeline(r) {
		v.Events = append(v.Events, eventRow{Time: clock(&e.Time), Offset: offset(r.Started, e.Time), Step: fmt.Sprintf("%d. %s", e.Step, e.Name),
			Kind: e.Kind, Text: e.Text, Class: verdictClass(e.Verdict)})
	}
	for _, s := range r.Steps {
		v.Steps = append(v.Steps, stepView{S: s, Class: verdictClass(s.Verdict), Word: verdictWord(s.Verdict),
			Started: clock(s.Started), Ended: clock(s.Ended), Duration: stepDuration(s)})
	}
	var buf bytes.Buffer
	if err := htmlTemplate.Execute(&buf, v); err != nil {
		return fmt.Errorf("render %s: %w", FileHTML, err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", FileHTML, err)
	}
	return nil
}

type htmlView struct {
	R       *Result
	Verdict string
	Meta    []string
	SVG     template.HTML
	Events  []eventRow
	Steps   []stepView
}

type eventRow struct {
	Time, Offset, Step, Kind, Text, Class string
}

type stepView struct {
	S                        StepResult
	Class, Word              string
	Started, Ended, Duration string
}

func bannerVerdict(v string) string {
	if v != report.Pass && v != report.Fail {
		return report.Inconclusive
	}
	return v
}

// verdictClass maps a verdict to the page's colour classes.
func verdictClass(v string) string {
	switch v {
	case report.Pass, report.Fail, report.Inconclusive:
		return v
	case Aborted:
		return report.Fail
	case Interrupted, Error:
		return report.Inconclusive
	case Skipped, NotRun:
		return "muted"
	}
	return ""
}

func verdictColour(v string) string {
	switch verdictClass(v) {
	case report.Pass:
		return "#1a7f37"
	case report.Fail:
		return "#c41e2a"
	case report.Inconclusive:
		return "#bf8700"
	}
	return "#8c959f"
}

func offset(t0, t time.Time) string {
	if t0.IsZero() {
		return ""
	}
	return "+" + t.Sub(t0).Round(100*time.Millisecond).String()
}

// Timeline drawing sizes, in the SVG's user units (it scales to the page).
const (
	svgWidth   = 1100.0
	svgLabelW  = 190.0
	svgRight   = 20.0
	svgTop     = 16.0
	svgLaneH   = 40.0
	svgAxisH   = 34.0
	svgBarH    = 14.0
	svgFaultH  = 7.0
	svgMarkerR = 5.0
)

// timelineSVG draws one lane per step over wall-clock time: the step's bar
// coloured by its verdict, its faults as orange bars below it, probe
// judgements as diamonds and notes as blue circles. Every element carries
// a <title> with its details.
func timelineSVG(r *Result) string {
	t0, t1 := r.Started, r.Ended
	for _, s := range r.Steps {
		if s.Ended != nil && s.Ended.After(t1) {
			t1 = *s.Ended
		}
	}
	if t0.IsZero() || !t1.After(t0) {
		return `<div class="nodata">No step ran: there is nothing to draw over time.</div>`
	}
	span := t1.Sub(t0).Seconds()
	plotW := svgWidth - svgLabelW - svgRight
	x := func(t time.Time) float64 { return svgLabelW + plotW*math.Max(0, math.Min(1, t.Sub(t0).Seconds()/span)) }
	height := svgTop + svgLaneH*float64(len(r.Steps)) + svgAxisH
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	esc := html.EscapeString
	p(`<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" aria-label="GameDay timeline">`, svgWidth, height)
	p(`<style>text{font:12px "Liberation Sans",Arial,Helvetica,sans-serif;fill:#1f2328}.tick{fill:#59636e;font-size:11px}</style>`)

	// Grid and axis.
	step := tickStep(span)
	bottom := svgTop + svgLaneH*float64(len(r.Steps))
	for s := 0.0; s <= span+1e-9; s += step {
		tx := svgLabelW + plotW*s/span
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d1d9e0" stroke-width="1"/>`, tx, svgTop-6, tx, bottom)
		label := t0.Add(time.Duration(s * float64(time.Second))).UTC().Format("15:04:05")
		p(`<text class="tick" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, tx, bottom+14, label)
		p(`<text class="tick" x="%.1f" y="%.1f" text-anchor="middle">+%s</text>`, tx, bottom+27, time.Duration(s*float64(time.Second)).String())
	}

	for i, s := range r.Steps {
		y := svgTop + svgLaneH*float64(i)
		if i%2 == 1 {
			p(`<rect x="0" y="%.1f" width="%.0f" height="%.0f" fill="#f6f8fa"/>`, y, svgWidth, svgLaneH)
		}
		label := fmt.Sprintf("%d. %s", s.Index, s.Name)
		if len(label) > 28 {
			label = label[:27] + "…"
		}
		p(`<text x="6" y="%.1f"><title>%s</title>%s</text>`, y+svgBarH+2, esc(fmt.Sprintf("%d. %s (%s)", s.Index, s.Name, s.Kind)), esc(label))
		p(`<text class="tick" x="6" y="%.1f">%s · %s</text>`, y+svgBarH+16, esc(s.Kind), esc(verdictWord(s.Verdict)))
		if s.Started == nil {
			continue
		}
		end := t1
		if s.Ended != nil {
			end = *s.Ended
		}
		bx, bw := x(*s.Started), math.Max(2, x(end)-x(*s.Started))
		p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.0f" rx="3" fill="%s" fill-opacity="0.8"><title>%s</title></rect>`,
			bx, y+4, bw, svgBarH, verdictColour(s.Verdict),
			esc(fmt.Sprintf("%d. %s (%s) %s–%s: %s, %s", s.Index, s.Name, s.Kind, clock(s.Started), clock(s.Ended), verdictWord(s.Verdict), s.Reason)))
		if e := s.Experiment; e != nil {
			// Fault bars first, then their labels where they fit: right of
			// the bar, else left of it, else only in the bar's tooltip.
			type span struct{ from, to float64 }
			var bars, labels []span
			for _, f := range e.Faults {
				if f.Applied == nil {
					continue
				}
				fe := end
				if f.Reverted != nil {
					fe = *f.Reverted
				}
				bx, bw := x(*f.Applied), math.Max(2, x(fe)-x(*f.Applied))
				bars = append(bars, span{bx, bx + bw})
				p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.0f" fill="#e16f24"><title>%s</title></rect>`,
					bx, y+svgBarH+8, bw, svgFaultH,
					esc(fmt.Sprintf("fault %s (%s) on %s: applied %s, reverted %s", f.Name, f.Kind, strings.Join(f.Targets, ", "), clock(f.Applied), clock(f.Reverted))))
			}
			free := func(c span) bool {
				if c.from < svgLabelW || c.to > svgWidth {
					return false
				}
				for _, o := range append(append([]span(nil), bars...), labels...) {
					if c.from < o.to && o.from < c.to {
						return false
					}
				}
				return true
			}
			i := 0
			for _, f := range e.Faults {
				if f.Applied == nil {
					continue
				}
				b := bars[i]
				i++
				w := 6.0 * float64(len(f.Name))
				for _, c := range []span{{b.to + 4, b.to + 4 + w}, {b.from - 4 - w, b.from - 4}} {
					if free(c) {
						labels = append(labels, c)
						p(`<text class="tick" x="%.1f" y="%.1f">%s</text>`, c.from, y+svgBarH+15, esc(f.Name))
						break
					}
				}
			}
			for _, pr := range e.Probes {
				if pr.At == nil {
					continue
				}
				cx, cy := x(*pr.At), y+4+svgBarH/2
				p(`<path d="M%.1f %.1f l%.1f %.1f l%.1f %.1f l%.1f %.1f z" fill="%s" stroke="#fff" stroke-width="1"><title>%s</title></path>`,
					cx, cy-svgMarkerR, svgMarkerR, svgMarkerR, -svgMarkerR, svgMarkerR, -svgMarkerR, -svgMarkerR, verdictColour(pr.Verdict),
					esc(fmt.Sprintf("probe %s (%s) at %s: %s, %s", pr.Name, pr.Phase, clock(pr.At), verdictWord(pr.Verdict), pr.Reason)))
			}
		}
		for _, n := range s.Notes {
			p(`<circle cx="%.1f" cy="%.1f" r="%.1f" fill="#0969da" stroke="#fff" stroke-width="1"><title>%s</title></circle>`,
				x(n.Time), y+4+svgBarH/2, svgMarkerR, esc(fmt.Sprintf("note at %s: %s", clock(&n.Time), n.Text)))
		}
	}
	p(`</svg>`)
	return b.String()
}

// tickStep picks a tick interval giving at most about ten ticks.
func tickStep(span float64) float64 {
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200} {
		if span/s <= 10 {
			return s
		}
	}
	return math.Ceil(span/10/3600) * 3600
}

var htmlTemplate = template.Must(template.New("gameday").Funcs(template.FuncMap{
	"verdictWord":  verdictWord,
	"verdictClass": verdictClass,
	"clock":        clock,
	"pct":          func(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) },
	"join":         strings.Join,
}).Parse(htmlTemplateText))

const htmlTemplateText = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="chaosctl {{.R.ChaosctlVersion}}">
<title>chaosctl GameDay {{.R.GameDay}}: {{verdictWord .R.Verdict}}</title>
<style>
:root { --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #c41e2a; --fail-bg: #ffebe9; --inconclusive: #8a5a00; --inconclusive-bg: #fff5d1; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 "Liberation Sans", Arial, Helvetica, sans-serif; color: var(--ink); background: #f6f8fa; }
main { max-width: 1160px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 24px; margin: 0 0 6px; }
h2 { font-size: 19px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 0 0 6px; }
.muted { color: var(--muted); }
.banner { border-radius: 8px; padding: 14px 18px; margin: 8px 0 14px; border: 1px solid; }
.banner .word { font-size: 22px; font-weight: bold; letter-spacing: 0.04em; }
.banner.pass { background: var(--pass-bg); border-color: var(--pass); }
.banner.fail { background: var(--fail-bg); border-color: var(--fail); }
.banner.inconclusive { background: var(--inconclusive-bg); border-color: var(--inconclusive); }
.pass .word, .v.pass { color: var(--pass); }
.fail .word, .v.fail { color: var(--fail); }
.inconclusive .word, .v.inconclusive { color: var(--inconclusive); }
.v.muted { color: var(--muted); }
.v { font-weight: bold; text-transform: uppercase; font-size: 13px; }
.meta span:not(:last-child)::after { content: " · "; color: var(--muted); }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin: 0 0 14px; }
.card.pass { border-left: 5px solid var(--pass); }
.card.fail { border-left: 5px solid var(--fail); }
.card.inconclusive { border-left: 5px solid var(--inconclusive); }
.card.muted { border-left: 5px solid var(--line); }
svg.timeline { display: block; width: 100%; height: auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
.legend { font-size: 13px; margin: 6px 0 4px; color: var(--muted); }
.legend span { margin-right: 16px; white-space: nowrap; }
.legend i { display: inline-block; width: 18px; height: 10px; vertical-align: middle; margin-right: 5px; border-radius: 2px; }
.nodata { display: flex; align-items: center; justify-content: center; min-height: 80px; border: 2px dashed var(--line); border-radius: 6px; color: var(--muted); padding: 12px; text-align: center; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 14px; margin-bottom: 14px; }
th, td { text-align: left; padding: 6px 9px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f4; font-weight: 600; }
td.num, td.time { font-variant-numeric: tabular-nums; white-space: nowrap; }
.instructions, .expect { white-space: pre-wrap; }
.expect { background: #f6f8fa; border-left: 3px solid #0969da; padding: 6px 10px; margin: 6px 0; }
ul.notes { margin: 4px 0 0 18px; padding: 0; }
footer { margin-top: 30px; font-size: 13px; color: var(--muted); }
</style>
</head>
<body>
<main>
<h1>chaosctl GameDay {{.R.GameDay}}</h1>
{{with .R.Description}}<p class="muted">{{.}}</p>{{end}}
<div class="banner {{.Verdict}}" id="verdict">
<div class="word">Verdict: {{verdictWord .R.Verdict}}</div>
<div>{{.R.Reason}}</div>
{{if .R.Aborted}}<div><strong>Aborted</strong> by the operator; the remaining steps did not run.</div>{{end}}
{{if .R.Interrupted}}<div><strong>Interrupted:</strong> the GameDay was cancelled; every fault was reverted and the shared target stopped.</div>{{end}}
</div>
<p class="meta">{{range .Meta}}<span>{{.}}</span>{{end}}</p>
<p><strong>Shared target:</strong> {{.R.Target}}. It was started once and every step ran against it.</p>
{{if .R.Errors}}<div class="card"><h3>Errors</h3><ul>{{range .R.Errors}}<li>{{.}}</li>{{end}}</ul></div>{{end}}

<h2 id="timeline">Timeline</h2>
{{.SVG}}
<p class="legend"><span><i style="background:#1a7f37"></i>step passed</span><span><i style="background:#c41e2a"></i>failed or aborted</span><span><i style="background:#bf8700"></i>inconclusive</span><span><i style="background:#8c959f"></i>skipped</span><span><i style="background:#e16f24;height:5px"></i>fault active</span><span>◆ probe judgement (its window closed)</span><span><b style="color:#0969da">●</b> operator note</span></p>

<h2 id="events">Events</h2>
{{if .Events}}<table>
<tr><th>Time (UTC)</th><th>Offset</th><th>Step</th><th>Event</th><th>Detail</th></tr>
{{range .Events}}<tr><td class="time">{{.Time}}</td><td class="time">{{.Offset}}</td><td>{{.Step}}</td><td>{{.Kind}}</td><td{{with .Class}} class="{{.}}"{{end}}>{{.Text}}</td></tr>
{{end}}</table>{{else}}<p class="muted">No events: no step ran.</p>{{end}}

<h2 id="steps">Steps</h2>
{{range $step := .Steps}}<div class="card {{.Class}}" id="step-{{.S.Index}}">
<h3>{{.S.Index}}. {{.S.Name}} <span class="muted">({{.S.Kind}})</span> · <span class="v {{.Class}}">{{.Word}}</span></h3>
<div class="muted">{{if .Started}}{{.Started}} – {{.Ended}} UTC{{with .Duration}} ({{.}}){{end}}{{else}}did not run{{end}}{{with .S.Wait}} · wait {{.}}{{end}}{{if .S.ContinueOnFail}} · continueOnFail{{end}}</div>
<p>{{.S.Reason}}</p>
{{with .S.Instructions}}<div><strong>Instructions:</strong><div class="instructions">{{.}}</div></div>{{end}}
{{with .S.Expect}}<div class="expect"><strong>Expected observations:</strong> {{.}}</div>{{end}}
{{if .S.Notes}}<div><strong>Notes:</strong><ul class="notes">{{range .S.Notes}}<li>{{clock .Time}} UTC: {{.Text}}</li>{{end}}</ul></div>{{end}}
{{with .S.Experiment}}<p><strong>Experiment {{.Name}}</strong>: <span class="v {{verdictClass .Verdict}}">{{verdictWord .Verdict}}</span> — {{.Reason}}. Seed {{.Seed}}. <a href="{{.Report}}">Its report</a> · folder <code>{{.Dir}}</code>{{with .File}} · file <code>{{.}}</code>{{end}}.{{if .TargetReplaced}} The file's own target section was replaced by the shared target.{{end}}{{if $step.S.KeysReset}} Before it, the workload's {{$step.S.KeysReset}} keys were deleted so the consistency checks start from an empty store.{{end}}</p>
<p class="muted">Workload: {{.Workload.Requests}} requests at {{.Workload.Rate}}/s over {{.Workload.Duration}}, {{.Workload.Errors}} errors ({{pct .Workload.ErrorRatio}}).</p>
{{if .Faults}}<table><tr><th>Fault</th><th>Kind</th><th>Targets</th><th>Applied (UTC)</th><th>Reverted (UTC)</th><th>Error</th></tr>
{{range .Faults}}<tr><td>{{.Name}}</td><td>{{.Kind}}</td><td>{{join .Targets ", "}}</td><td class="time">{{clock .Applied}}</td><td class="time">{{clock .Reverted}}</td><td>{{.Error}}</td></tr>
{{end}}</table>{{end}}
{{if .Probes}}<table><tr><th>Probe</th><th>Phase</th><th>Window closed (UTC)</th><th>Verdict</th><th>Reason</th></tr>
{{range .Probes}}<tr><td>{{.Name}}</td><td>{{.Phase}}</td><td class="time">{{clock .At}}</td><td class="v {{verdictClass .Verdict}}">{{verdictWord .Verdict}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>{{end}}
{{if .SLOs}}<table><tr><th>SLO</th><th>SLI</th><th>Bad / total</th><th>Budget consumed</th><th>Verdict</th></tr>
{{range .SLOs}}<tr><td>{{.Name}}</td><td>{{.SLI}}</td><td class="num">{{.Bad}} / {{.Total}}</td><td class="num">{{pct .Consumed}}</td><td class="v {{verdictClass .Verdict}}">{{verdictWord .Verdict}}</td></tr>
{{end}}</table>{{end}}
{{if .Checks}}<table><tr><th>Check</th><th>Verdict</th><th>Detail</th></tr>
{{range .Checks}}<tr><td>{{.Name}}</td><td class="v {{verdictClass .Verdict}}">{{verdictWord .Verdict}}</td><td>{{.Detail}}</td></tr>
{{end}}</table>{{end}}
{{end}}</div>
{{end}}

<h2 id="summary">Closing table</h2>
<table>
<tr><th>#</th><th>Step</th><th>Kind</th><th>Started (UTC)</th><th>Duration</th><th>Verdict</th><th>Reason</th><th>Report</th></tr>
{{range .Steps}}<tr><td class="num">{{.S.Index}}</td><td><a href="#step-{{.S.Index}}">{{.S.Name}}</a></td><td>{{.S.Kind}}</td><td class="time">{{.Started}}</td><td class="time">{{.Duration}}</td><td class="v {{.Class}}">{{.Word}}</td><td>{{.S.Reason}}{{if .S.Notes}} ({{len .S.Notes}} note{{if gt (len .S.Notes) 1}}s{{end}}){{end}}</td><td>{{with .S.Experiment}}<a href="{{.Report}}">report.html</a>{{end}}</td></tr>
{{end}}</table>
<p><strong>GameDay verdict: <span class="v {{.Verdict}}">{{verdictWord .R.Verdict}}</span></strong> — {{.R.Reason}}</p>
<footer>chaosctl {{.R.ChaosctlVersion}} · gameday.json holds every figure on this page.</footer>
</main>
</body>
</html>
`
