package explore

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strings"
)

// writeHTML writes explore.html: one self-contained page (no scripts, no
// external resources) with the verdict, a table of the runs linked to
// their reports, each minimal schedule as a timeline, and the shrink steps.
func (r *Report) writeHTML(b *bytes.Buffer) error {
	v := htmlView{R: r}
	for _, m := range r.Minimal {
		v.Minimal = append(v.Minimal, minimalView{M: m, SVG: template.HTML(timelineSVG(m.Schedule, m.Duration))}) //nolint:gosec // every text in it is escaped
	}
	if err := htmlTemplate.Execute(b, v); err != nil {
		return fmt.Errorf("render %s: %w", FileHTML, err)
	}
	return nil
}

type htmlView struct {
	R       *Report
	Minimal []minimalView
}

type minimalView struct {
	M   Minimal
	SVG template.HTML
}

// timelineSVG draws a schedule: a row per fault, a bar over its window on
// an axis of the workload's seconds.
func timelineSVG(faults []ScheduledFault, duration float64) string {
	const width, left, row = 720.0, 200.0, 26.0
	if duration <= 0 {
		duration = 1
	}
	scale := (width - left - 10) / duration
	height := row*float64(len(faults)) + 30
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" role="img" aria-label="fault timeline">`, width, height)
	for i, f := range faults {
		y := float64(i) * row
		w := math.Max(f.Duration*scale, 2)
		fmt.Fprintf(&s, `<text x="0" y="%.0f" font-size="12">%s</text>`, y+16, template.HTMLEscapeString(f.Name))
		fmt.Fprintf(&s, `<rect x="%.1f" y="%.0f" width="%.1f" height="18" fill="#c0392b"><title>%s</title></rect>`,
			left+f.At*scale, y+3, w, template.HTMLEscapeString(f.YAML))
	}
	axis := float64(len(faults)) * row
	fmt.Fprintf(&s, `<line x1="%.0f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#555"/>`, left, axis+4, left+duration*scale, axis+4)
	step := math.Max(1, math.Ceil(duration/10))
	for t := 0.0; t <= duration+1e-9; t += step {
		fmt.Fprintf(&s, `<text x="%.1f" y="%.0f" font-size="10" text-anchor="middle">%gs</text>`, left+t*scale, axis+20, t)
	}
	s.WriteString(`</svg>`)
	return s.String()
}

var htmlTemplate = template.Must(template.New("explore").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>explore {{.R.Experiment}}: {{.R.Verdict}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
.pass{color:#1e7e34}.fail{color:#c0392b}.inconclusive{color:#b7791f}code,pre{font-size:90%}
</style></head><body>
<h1>explore {{.R.Experiment}}: <span class="{{.R.Verdict}}">{{.R.Verdict}}</span></h1>
<p>{{.R.Reason}}</p>
<p>File <code>{{.R.File}}</code>; stopped by: {{.R.Stopped}}; {{len .R.Runs}} runs from {{.R.Started.Format "2006-01-02 15:04:05Z"}} to {{.R.Ended.Format "15:04:05Z"}}. {{.R.Target.Sentence}}</p>
{{range .Minimal}}
<h2>{{.M.File}}: {{.M.Faults}} faults, failed the same way in {{.M.Reproduced}} of {{.M.Of}} runs</h2>
<p>Shrunk from run {{.M.Run}} (seed {{.M.Seed}}){{if .M.Reason}}, failing on <b>{{.M.Reason}}</b>{{end}}; the workload lasts {{.M.Duration}}s. Run it with <code>chaosctl run {{.M.File}}</code>.</p>
{{.SVG}}
<pre>{{range .M.Schedule}}- {{.YAML}}
{{end}}</pre>
{{end}}
<h2>Runs</h2>
<table><tr><th>run</th><th>seed</th><th>schedule</th><th>verdict</th><th>reason</th><th>report</th></tr>
{{range .R.Runs}}<tr><td>{{.Run}}</td><td>{{.Seed}}</td><td>{{range .Schedule}}{{.Name}} at {{.At}}s for {{.Duration}}s<br>{{end}}</td>
<td class="{{.Verdict}}">{{.Verdict}}</td><td>{{.Reason}}</td><td><a href="{{.Dir}}/report.html">{{.Dir}}</a></td></tr>
{{end}}</table>
{{range .R.Shrinks}}
<h2>Shrinking run {{.Run}} (seed {{.Seed}}){{if .Reason}}: keeping what fails {{.Reason}}{{end}}</h2>
<table><tr><th>step</th><th>change</th><th>faults</th><th>kept</th><th>runs</th></tr>
{{range .Steps}}<tr><td>{{.Step}}</td><td>{{.Change}}</td><td>{{.Faults}}</td><td>{{if .Invalid}}not valid: {{.Invalid}}{{else if .Kept}}<b>kept</b>{{else}}no{{end}}</td>
<td>{{range .Runs}}<a href="{{.Dir}}/report.html" class="{{.Verdict}}">{{.Verdict}}</a> {{end}}</td></tr>
{{end}}</table>
{{end}}
</body></html>
`))
