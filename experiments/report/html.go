package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html"
	"html/template"
	"image/color"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

//go:embed report.html.tmpl
var htmlTemplateText string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"verdictWord": verdictWord,
	"receiptWord": receiptWord,
}).Parse(htmlTemplateText))

// WriteHTML writes report.html: one self-contained page (no scripts, no
// external stylesheets, fonts or images) with the charts drawn server-side
// as inline SVG: throughput, error ratio and latency over time with every
// fault window shaded and labelled, the error-budget burn-down per SLO,
// per-member USE panels, the verdict tables, the experiment file and the
// seed. Panels without data say so instead of drawing nothing.
func WriteHTML(w io.Writer, run *Run) error {
	v, err := newHTMLView(run)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := htmlTemplate.Execute(&buf, v); err != nil {
		return fmt.Errorf("render report.html: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write report.html: %w", err)
	}
	return nil
}

// figure is one chart on the page, or the reason it has none.
type figure struct {
	Title   string
	Caption string
	SVG     template.HTML
	Legend  []legendItem
	NoData  string
}

type legendItem struct {
	Name   string
	Colour template.CSS
	Dashed bool
	Band   bool
}

type htmlView struct {
	R              *Result
	Verdict        string
	Meta           []string
	Workload       string
	Stop           string
	TimeSeries     []figure
	TimeNote       string
	TimeOrigin     template.HTML
	Burn           []figure
	Members        []figure
	MembersNote    string
	SLOs           []sloRow
	Control        []controlRow
	ControlLine    string
	ControlRule    string
	Probes         []probeRow
	Checks         []checkRow
	Faults         []faultRow
	Receipts       []receiptRow
	FaultOrigin    template.HTML
	Experiment     string
	MalformedLines int
}

// Chart sizes in points (the SVG's user units); the page scales them to
// its width.
const (
	wideW, wideH     = 10 * vg.Inch, 2.5 * vg.Inch
	panelW, panelH   = 5 * vg.Inch, 2.3 * vg.Inch
	memberW, memberH = 5 * vg.Inch, 4.2 * vg.Inch
)

func newHTMLView(run *Run) (*htmlView, error) {
	r := run.Result
	v := &htmlView{R: r, Verdict: r.Verdict, Workload: workloadLine(r), Stop: stopLine(run),
		SLOs: sloRows(r), Control: controlRows(r), Probes: probeRows(r), Checks: checkRows(r), Experiment: string(run.Experiment),
		MalformedLines: run.Timeline.Malformed}
	if v.Verdict != Pass && v.Verdict != Fail {
		v.Verdict = Inconclusive
	}
	if c := r.Control; c != nil {
		v.ControlLine, v.ControlRule = upperFirst(controlLine(c))+".", "Rule: "+c.Rule+"."
	}
	v.Meta = append(v.Meta, fmt.Sprintf("seed %d", r.Seed))
	if r.ChaosctlVersion != "" {
		v.Meta = append(v.Meta, "chaosctl "+r.ChaosctlVersion)
	}
	if r.Runtime != "" {
		v.Meta = append(v.Meta, "runtime "+r.Runtime)
	}
	if r.File != "" {
		v.Meta = append(v.Meta, "file "+r.File)
	}
	if s := runTimes(r, clockOf(run)); s != "" {
		v.Meta = append(v.Meta, s, "ran "+runDuration(r))
	}
	var origin string
	v.Faults, origin = faultRows(run)
	v.Receipts = receiptRows(run.Result)
	v.FaultOrigin = codeAt(origin)
	if c := clockOf(run); c.anchored() {
		v.TimeOrigin = codeAt("Times: " + OriginText + "; " + c.zeroText() + ".")
	}

	ax, ok := newTimeAxis(run)
	if !ok {
		v.TimeNote = "The journal has no workload seconds (journal.ndjson is missing or the workload never ran), so there is nothing to draw over time."
		v.MembersNote = "No member samples: nothing was recorded over time."
		for _, o := range r.SLOs {
			v.Burn = append(v.Burn, figure{Title: "SLO " + o.Name, NoData: "No data over time."})
		}
		return v, nil
	}
	var err error
	if v.TimeSeries, err = timeSeriesFigures(run, ax); err != nil {
		return nil, err
	}
	if v.Burn, err = burnFigures(run, ax); err != nil {
		return nil, err
	}
	if v.Members, err = memberFigures(run, ax); err != nil {
		return nil, err
	}
	if load, ok, err := shardLoadFigure(run, ax); err != nil {
		return nil, err
	} else if ok {
		v.Members = append(v.Members, load)
	}
	if len(v.Members) == 0 {
		v.MembersNote = "No member samples in the journal: this run recorded no per-member scrapes (\"member\" events), so there are no USE panels."
	}
	return v, nil
}

// codeAt escapes s for the page, with `at` set as code.
func codeAt(s string) template.HTML {
	return template.HTML(strings.ReplaceAll(html.EscapeString(s), "`at`", "<code>at</code>")) //nolint:gosec // escaped here
}

// timeAxis is the shared time axis: seconds from the end of warmup.
type timeAxis struct {
	Label    string // names the origin and its wall-clock time
	Min, Max float64
	Bands    []band // warmup, then the faults
	Rules    []rule // the stop condition
	Legend   []legendItem
}

const timeLabel = "t (s) from the end of warmup"

func newTimeAxis(run *Run) (timeAxis, bool) {
	secs := run.Timeline.Seconds
	if len(secs) == 0 {
		return timeAxis{}, false
	}
	ax := timeAxis{Label: timeLabel, Min: float64(secs[0].Second), Max: float64(secs[len(secs)-1].Second + 1)}
	if t0, ok := run.measuredStart(); ok {
		ax.Label += "; t = 0 at " + t0.UTC().Format("15:04:05") + " UTC"
	}
	if ax.Min < 0 {
		ax.Bands = append(ax.Bands, band{From: ax.Min, To: 0, Label: "warmup", Fill: colourWarmupBand, Text: colourWarmupText})
	}
	ws, _ := run.faultWindows()
	for _, w := range ws {
		ax.Bands = append(ax.Bands, band{From: w.Start, To: w.End, Label: w.Name, Fill: colourFaultBand, Text: colourFaultText})
	}
	if len(ws) > 0 {
		ax.Legend = append(ax.Legend, legendItem{Name: "fault window", Colour: cssColour(colourFaultBand), Band: true})
	}
	if at, ok := run.stopSecond(); ok {
		ax.Rules = append(ax.Rules, rule{At: at, Vertical: true, Label: "stop condition", Colour: colourRed})
		ax.Legend = append(ax.Legend, legendItem{Name: "stop condition", Colour: cssColour(colourRed), Dashed: true})
	}
	return ax, true
}

func (ax timeAxis) chart(yLabel string, ss ...series) chart {
	return chart{XLabel: ax.Label, YLabel: yLabel, Series: ss, Bands: ax.Bands, Rules: append([]rule(nil), ax.Rules...), XMin: ax.Min, XMax: ax.Max}
}

func (ax timeAxis) legend(ss ...series) []legendItem {
	var out []legendItem
	for _, s := range ss {
		out = append(out, legendItem{Name: s.Name, Colour: cssColour(s.Colour), Dashed: s.Dashed})
	}
	return append(out, ax.Legend...)
}

func timeSeriesFigures(run *Run, ax timeAxis) ([]figure, error) {
	secs := run.Timeline.Seconds
	n := len(secs)
	xs := make([]float64, n)
	sent, ok, dropped := make([]float64, n), make([]float64, n), make([]float64, n)
	errRatio, p50, p99 := make([]float64, n), make([]float64, n), make([]float64, n)
	anyDropped := false
	for i, s := range secs {
		xs[i] = float64(s.Second) + 0.5
		sent[i], ok[i], dropped[i] = float64(s.Sent), float64(s.OK), float64(s.Dropped)
		anyDropped = anyDropped || s.Dropped > 0
		errRatio[i], p50[i], p99[i] = math.NaN(), math.NaN(), math.NaN()
		if done := s.OK + s.Bad; done > 0 {
			errRatio[i] = 100 * float64(s.Bad) / float64(done)
		}
		if s.OK > 0 {
			p50[i], p99[i] = 1000*s.P50, 1000*s.P99
		}
	}

	var figs []figure
	tput := []series{
		{Name: "sent/s", X: xs, Y: sent, Colour: colourGrey, Dashed: true},
		{Name: "ok/s", X: xs, Y: ok, Colour: colourBlue},
	}
	if anyDropped {
		tput = append(tput, series{Name: "dropped/s", X: xs, Y: dropped, Colour: colourRed})
	}
	errs := []series{{Name: "error ratio %", X: xs, Y: errRatio, Colour: colourRed}}
	lat := []series{
		{Name: "p50", X: xs, Y: p50, Colour: colourBlue},
		{Name: "p99", X: xs, Y: p99, Colour: colourPurple},
	}
	specs := []struct {
		title, caption, yLabel string
		ss                     []series
		yMax                   float64
		logY                   bool
	}{
		{"Throughput", "Requests per second: sent by the open-model generator, answered successfully, and dropped (could not be sent on time).", "requests/s", tput, 1, false},
		{"Error ratio", "Bad answers (5xx, 429, timeouts, transport errors) as a share of the answers completed in each second; gaps are seconds with no answer at all.", "errors %", errs, 1, false},
		{"Latency", "p50 and p99 per second of successful requests, timed from the intended send time; gaps are seconds with no successful request. The axis is logarithmic when p99 and p50 are far apart.", "ms", lat, 0.001, true},
	}
	for _, sp := range specs {
		ch := ax.chart(sp.yLabel, sp.ss...)
		ch.YMaxAtLeast, ch.LogY = sp.yMax, sp.logY
		p, err := ch.newPlot()
		if err != nil {
			return nil, err
		}
		svg, err := svgOf(sp.title+" over time", wideW, wideH, p)
		if err != nil {
			return nil, err
		}
		figs = append(figs, figure{Title: sp.title, Caption: sp.caption, SVG: svg, Legend: ax.legend(sp.ss...)})
	}
	return figs, nil
}

// burnCurve is an SLO's budget consumed over time, as a share of the whole
// run's budget: cumulative bad events up to the end of each second divided
// by the bad events the run allowed ((1 − objective) × the run's eligible
// events, result.json's budget). It never falls.
type burnCurve struct {
	X, Y []float64 // end of each second (t), percent of the whole run's budget
	// Exhausted is the end of the second the curve first went above 100 %;
	// ok false when it never did.
	Exhausted   float64
	ExhaustedOK bool
	// Source says where the counts came from, for the caption.
	Source string
}

// burnDown computes an SLO's burn-down from the journal: the cumulative bad
// counts of its burn events (journals written since they carry them), else
// for an availability SLO over all operations the per-second counts (bad +
// dropped); noData says why there is none.
func burnDown(o SLOResult, pts []BurnPoint, secs []SecondPoint) (c burnCurve, noData string) {
	budget := o.Budget
	if budget <= 0 && o.SLI == "availability" && o.Op == "" {
		var total int64
		for _, s := range secs {
			if !s.Warmup {
				total += s.OK + s.Bad + s.Dropped
			}
		}
		budget = (1 - o.Objective) * float64(total)
	}
	cumulative := len(pts) > 0
	for _, p := range pts {
		cumulative = cumulative && p.Bad != nil
	}
	switch {
	case budget <= 0 && (cumulative || o.SLI == "availability" && o.Op == ""):
		return c, "No data: the SLO has no error budget (objective 100% or no events)."
	case cumulative:
		c.Source = "the journal's burn events (cumulative bad events)"
		c.X, c.Y = []float64{0}, []float64{0}
		for _, p := range pts {
			c.X = append(c.X, float64(p.Second+1))
			c.Y = append(c.Y, clampPct(float64(*p.Bad)/budget))
		}
	case o.SLI == "availability" && o.Op == "":
		c.Source = "the journal's per-second counts (bad and dropped requests)"
		var bad int64
		c.X, c.Y = []float64{0}, []float64{0}
		for _, s := range secs {
			if s.Warmup {
				continue
			}
			bad += s.Bad + s.Dropped
			c.X = append(c.X, float64(s.Second+1))
			c.Y = append(c.Y, clampPct(float64(bad)/budget))
		}
	default:
		why := "has no burn events for this SLO"
		if len(pts) > 0 {
			why = "predates the cumulative bad counts in burn events"
		}
		return c, fmt.Sprintf("No data: the journal %s, and a %s SLI cannot be computed from the per-second counts. Final: %s of the budget consumed.", why, sloKind(o), consumedPct(o.Consumed))
	}
	for i, y := range c.Y {
		if y > 100 {
			c.Exhausted, c.ExhaustedOK = c.X[i], true
			break
		}
	}
	return c, ""
}

// burnFigures draws each SLO's burn-down (see burnDown): the share of the
// whole run's budget consumed by the end of each second, the 100 % line,
// and the second it was exhausted.
func burnFigures(run *Run, ax timeAxis) ([]figure, error) {
	bySLO := map[string][]BurnPoint{}
	for _, b := range run.Timeline.Burns {
		bySLO[b.SLO] = append(bySLO[b.SLO], b)
	}
	t0, anchored := run.measuredStart()
	var figs []figure
	for _, o := range run.Result.SLOs {
		fig := figure{Title: "SLO " + o.Name}
		pts := bySLO[o.Name]
		c, noData := burnDown(o, pts, run.Timeline.Seconds)
		if noData != "" {
			fig.NoData = noData
			figs = append(figs, fig)
			continue
		}
		fig.Caption = fmt.Sprintf("Bad events so far as a share of the whole run's budget (%.1f bad events allowed: (1 − objective) × the run's eligible events), from %s; it never falls.", o.Budget, c.Source)
		if len(pts) > 0 {
			last := pts[len(pts)-1]
			window := last.Window
			if window == "" {
				window = "over abort.window"
			}
			fig.Caption += fmt.Sprintf(" Burn rate (%s) at the last sample: %s; burn rate (whole run): %s.", window, burnText(last.BurnRate), burnText(o.BurnRate))
		}
		if o.Judge == "faults" {
			fig.Caption += fmt.Sprintf(" The curve counts every bad event; this SLO is judged on the faults' only (judge: faults), which consumed %s of the budget.", consumedPct(o.Consumed))
		}
		s := series{Name: "% of the run's budget consumed", X: c.X, Y: c.Y, Colour: colourBlue}
		ch := ax.chart("% of the run's budget", s)
		ch.XMin = math.Min(0, ax.Min)
		ch.YMaxAtLeast = 110
		ch.Rules = append(ch.Rules, rule{At: 100, Label: "100 %: budget exhausted", Colour: colourRed})
		legend := ax.legend(s)
		if c.ExhaustedOK {
			label := fmt.Sprintf("exhausted at t = %s s", trimFloat(c.Exhausted))
			when := ""
			if anchored {
				when = " (" + clockText(t0.Add(time.Duration(c.Exhausted*float64(time.Second)))) + ")"
			}
			ch.Rules = append(ch.Rules, rule{At: c.Exhausted, Vertical: true, Label: label, Colour: colourRed, Solid: true})
			fig.Caption += fmt.Sprintf(" The budget was exhausted at t = %s s%s.", trimFloat(c.Exhausted), when)
			legend = append(legend, legendItem{Name: "budget exhausted", Colour: cssColour(colourRed)})
		}
		p, err := ch.newPlot()
		if err != nil {
			return nil, err
		}
		if fig.SVG, err = svgOf("SLO "+o.Name+" error budget consumed over time", panelW, panelH, p); err != nil {
			return nil, err
		}
		fig.Legend = legend
		figs = append(figs, fig)
	}
	return figs, nil
}

func sloKind(o SLOResult) string {
	if o.Op != "" {
		return o.SLI + " (" + o.Op + ")"
	}
	return o.SLI
}

// clampPct turns a consumed fraction into a percentage a chart can hold.
func clampPct(f float64) float64 {
	return math.Min(100*f, 1e6)
}

// memberFigures draws one USE panel per member: CPU, in-flight requests and
// shed rate, with the seconds the member was down shaded.
func memberFigures(run *Run, ax timeAxis) ([]figure, error) {
	byMember := map[string][]MemberPoint{}
	for _, m := range run.Timeline.Members {
		byMember[m.Member] = append(byMember[m.Member], m)
	}
	faults, _ := run.faultWindows()
	var figs []figure
	for _, name := range run.Timeline.members() {
		pts := byMember[name]
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].Second < pts[j].Second })
		xs := make([]float64, len(pts))
		cpu, infl, shed := make([]float64, len(pts)), make([]float64, len(pts)), make([]float64, len(pts))
		var downSecs []int
		for i, m := range pts {
			xs[i] = float64(m.Second) + 0.5
			cpu[i], infl[i], shed[i] = 100*m.CPU, m.Inflight, m.ShedRate
			if !m.Up {
				downSecs = append(downSecs, m.Second)
				cpu[i], infl[i], shed[i] = math.NaN(), math.NaN(), math.NaN()
			}
		}
		downSeconds := len(downSecs)
		bands := append(append([]band(nil), ax.Bands...), downBands(name, downSecs, faults)...)
		rows := []struct {
			label string
			s     series
		}{
			{"CPU %", series{Name: "CPU % of one core", X: xs, Y: cpu, Colour: colourBlue}},
			{"in-flight", series{Name: "in-flight requests", X: xs, Y: infl, Colour: colourPurple}},
			{"shed/s", series{Name: "shed requests/s", X: xs, Y: shed, Colour: colourRed}},
		}
		plots := make([]*plot.Plot, 0, len(rows))
		legend := make([]legendItem, 0, len(rows)+2)
		for i, row := range rows {
			ch := ax.chart(row.label, row.s)
			ch.Bands = bands
			ch.YMaxAtLeast = 1
			ch.NoBandLabels = i > 0
			if i < len(rows)-1 {
				ch.XLabel, ch.HideXTickLbl = "", true
			}
			p, err := ch.newPlot()
			if err != nil {
				return nil, err
			}
			plots = append(plots, p)
			legend = append(legend, legendItem{Name: row.s.Name, Colour: cssColour(row.s.Colour)})
		}
		legend = append(legend, ax.Legend...)
		caption := fmt.Sprintf("%d samples", len(pts))
		if downSeconds > 0 {
			legend = append(legend, legendItem{Name: "member down", Colour: cssColour(colourDownBand), Band: true})
			caption += fmt.Sprintf("; down for %d s", downSeconds)
		}
		svg, err := svgOf("member "+name+" utilisation and saturation", memberW, memberH, plots...)
		if err != nil {
			return nil, err
		}
		figs = append(figs, figure{Title: "Member " + name, Caption: caption + ".", SVG: svg, Legend: legend})
	}
	return figs, nil
}

// shardLoadFigure draws the load per shard: the requests per second each
// store node (members n1, n2, ...) answered, one line per node. A gateway
// sends each request to the first node of its key's preference list, the
// owner of the key's shard, so a node's line is its shard's load; one line
// far above the others is a hot shard (see hot_shard_share). ok is false
// with fewer than two store nodes sampled.
func shardLoadFigure(run *Run, ax timeAxis) (figure, bool, error) {
	byNode := map[string][]MemberPoint{}
	for _, m := range run.Timeline.Members {
		if strings.HasPrefix(m.Member, "n") {
			byNode[m.Member] = append(byNode[m.Member], m)
		}
	}
	if len(byNode) < 2 {
		return figure{}, false, nil
	}
	colours := []color.RGBA{colourBlue, colourRed, colourGreen, colourPurple, colourGrey}
	var (
		ss     []series
		legend []legendItem
	)
	for i, name := range run.Timeline.members() {
		pts, ok := byNode[name]
		if !ok {
			continue
		}
		sort.SliceStable(pts, func(a, b int) bool { return pts[a].Second < pts[b].Second })
		xs, ys := make([]float64, len(pts)), make([]float64, len(pts))
		for j, m := range pts {
			xs[j], ys[j] = float64(m.Second)+0.5, m.RequestRate
			if !m.Up {
				ys[j] = math.NaN()
			}
		}
		c := colours[i%len(colours)]
		ss = append(ss, series{Name: name, X: xs, Y: ys, Colour: c})
		legend = append(legend, legendItem{Name: name, Colour: cssColour(c)})
	}
	ch := ax.chart("requests/s", ss...)
	ch.YMaxAtLeast = 1
	p, err := ch.newPlot()
	if err != nil {
		return figure{}, false, err
	}
	svg, err := svgOf("load per shard: requests per second each store node answered", memberW, memberH, p)
	if err != nil {
		return figure{}, false, err
	}
	return figure{Title: "Load per shard", SVG: svg, Legend: append(legend, ax.Legend...),
		Caption: "Requests/s each store node answered. A gateway sends each key to the owner of its shard first, so a node's line is its shard's load: one line far above the others is a hot shard."}, true, nil
}

// downBands shades the spans a member was down. The scrapes see it second by
// second; where a crash or pause of the member explains a span, the band is
// that fault's window instead, from when it was applied to when it was
// reverted, so the two line up. Down seconds no such fault explains (a
// member still starting after its restart, one that fell over on its own)
// stay whole seconds.
func downBands(member string, downSecs []int, faults []faultWindow) []band {
	var out []band
	used := map[string]bool{}
	for _, s := range downSecs {
		from, to := float64(s), float64(s+1)
		explained := false
		for _, f := range faults {
			if (f.Kind != "crash" && f.Kind != "pause") || !slices.Contains(f.Targets, member) || f.End <= from || to <= f.Start {
				continue
			}
			explained = true
			if !used[f.Name] {
				used[f.Name] = true
				out = append(out, band{From: f.Start, To: f.End})
			}
		}
		if explained {
			continue
		}
		if k := len(out) - 1; k >= 0 && out[k].To == from {
			out[k].To = to
		} else {
			out = append(out, band{From: from, To: to})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].From < out[j].From })
	for i := range out {
		out[i].Label, out[i].Fill, out[i].Text = "down", colourDownBand, colourDownText
	}
	return out
}

func cssColour(c color.Color) template.CSS {
	r, g, b, _ := c.RGBA()
	return template.CSS(fmt.Sprintf("#%02x%02x%02x", r>>8, g>>8, b>>8))
}
