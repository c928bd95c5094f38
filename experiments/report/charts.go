package report

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart colours. The fault band is opaque and used for nothing else, so a
// screenshot can find the fault windows by colour (see the screenshot test).
var (
	colourFaultBand  = color.RGBA{R: 0xfb, G: 0xd3, B: 0xa4, A: 0xff}
	colourFaultText  = color.RGBA{R: 0x8a, G: 0x3e, B: 0x00, A: 0xff}
	colourWarmupBand = color.RGBA{R: 0xee, G: 0xee, B: 0xee, A: 0xff}
	colourWarmupText = color.RGBA{R: 0x66, G: 0x66, B: 0x66, A: 0xff}
	colourDownBand   = color.RGBA{R: 0xd8, G: 0xd0, B: 0xf0, A: 0xff}
	colourDownText   = color.RGBA{R: 0x4b, G: 0x2f, B: 0x9a, A: 0xff}
	colourBlue       = color.RGBA{R: 0x1f, G: 0x5f, B: 0xd0, A: 0xff}
	colourGrey       = color.RGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xff}
	colourRed        = color.RGBA{R: 0xc4, G: 0x1e, B: 0x2a, A: 0xff}
	colourPurple     = color.RGBA{R: 0x7a, G: 0x3f, B: 0xc8, A: 0xff}
	colourGreen      = color.RGBA{R: 0x1a, G: 0x7f, B: 0x37, A: 0xff}
	colourGrid       = color.RGBA{R: 0xdd, G: 0xdd, B: 0xdd, A: 0xff}
)

// The charts' fonts: Liberation Sans is metric-compatible with Arial and
// Helvetica, which the page's stylesheet names as fallbacks, so text drawn
// by the browser fits the boxes gonum measured.
func sans(size vg.Length) font.Font {
	return font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, size)
}

// series is one line; NaN values are gaps.
type series struct {
	Name   string
	X, Y   []float64
	Colour color.Color
	Dashed bool
}

// band is a shaded span of the time axis with a label at its top.
type band struct {
	From, To   float64
	Label      string
	Fill, Text color.Color
}

// rule is a horizontal (Y) or vertical (X) reference line.
type rule struct {
	At       float64
	Vertical bool
	Label    string
	Colour   color.Color
	Solid    bool // drawn solid, not dashed
}

// chart is one time-series plot.
type chart struct {
	YLabel       string
	XLabel       string
	Series       []series
	Bands        []band
	Rules        []rule
	XMin, XMax   float64
	YMin         float64
	YMaxAtLeast  float64
	HideXTickLbl bool
	// NoBandLabels draws the bands without their labels (the lower rows of
	// a stacked panel).
	NoBandLabels bool
	// LogY draws the Y axis on a log scale when the positive data span more
	// than logSpan (latency: p50 and p99 apart by orders of magnitude).
	LogY bool
}

const logSpan = 20

// newPlot builds the gonum plot of a chart.
func (ch chart) newPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.TextStyle.Font = sans(12)
	p.X.Label.TextStyle.Font = sans(10)
	p.Y.Label.TextStyle.Font = sans(10)
	p.X.Tick.Label.Font = sans(9)
	p.Y.Tick.Label.Font = sans(9)
	p.Legend.TextStyle.Font = sans(9)
	p.X.Label.Text = ch.XLabel
	p.Y.Label.Text = ch.YLabel
	if ch.HideXTickLbl {
		p.X.Tick.Label.Color = color.Transparent
	}

	p.X.Tick.Marker, p.Y.Tick.Marker = tidyTicks{}, tidyTicks{}
	ymax, ypos := ch.YMaxAtLeast, math.Inf(1)
	for _, s := range ch.Series {
		for _, y := range s.Y {
			if math.IsNaN(y) || math.IsInf(y, 0) {
				continue
			}
			ymax = math.Max(ymax, y)
			if y > 0 {
				ypos = math.Min(ypos, y)
			}
		}
	}
	for _, r := range ch.Rules {
		if !r.Vertical && r.At > ymax {
			ymax = r.At
		}
	}
	if ymax <= ch.YMin {
		ymax = ch.YMin + 1
	}
	// Headroom for the band labels above the data.
	lanes := 1 + overlaps(ch.Bands)
	logY := ch.LogY && !math.IsInf(ypos, 1) && ymax/ypos > logSpan
	lines := ch.Series
	if logY {
		lines = positiveOnly(lines)
	}
	p.Add(&bandPlotter{Bands: ch.Bands, NoLabels: ch.NoBandLabels})
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = colourGrid, colourGrid
	p.Add(grid)
	for _, s := range lines {
		if err := addSeries(p, s); err != nil {
			return nil, err
		}
	}
	p.Add(&rulePlotter{Rules: ch.Rules})
	p.X.Min, p.X.Max = ch.XMin, ch.XMax
	p.Y.Min, p.Y.Max = ch.YMin, ch.YMin+(ymax-ch.YMin)*(1.08+0.1*float64(lanes))
	if logY {
		// Decades from below the smallest value, with headroom above the
		// largest for the labels.
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, tidyTicks{Log: true}
		p.Y.Min = math.Pow(10, math.Floor(math.Log10(ypos)))
		p.Y.Max = math.Pow(10, math.Log10(ymax)+0.22*math.Log10(ymax/p.Y.Min)*float64(lanes)/2+0.05)
		p.Y.Label.Text += " (log)"
	}
	// Every plotted value lies under a labelled tick: no line runs above
	// the last number of its axis.
	p.Y.Max = coverMax(p.Y.Tick.Marker, p.Y.Min, p.Y.Max, ymax)
	return p, nil
}

// coverMax raises an axis's max, when it must, to the first labelled tick
// at or above top, so the axis reads up to its largest value.
func coverMax(m plot.Ticker, min, max, top float64) float64 {
	for range 8 {
		ticks := m.Ticks(min, max)
		next, step, last := math.Inf(1), 0.0, math.NaN()
		for _, tk := range ticks {
			if tk.Label == "" {
				continue
			}
			if tk.Value >= top*(1-1e-9) {
				return max
			}
			if !math.IsNaN(last) {
				step = tk.Value - last
			}
			last = tk.Value
		}
		// The next labelled tick: one more step (linear), or the next
		// labelled value of the log ticks above max.
		if t, ok := m.(tidyTicks); ok && t.Log {
			next = logCeil(min, max, top)
		} else if step > 0 {
			next = last + step*math.Ceil((top-last)/step-1e-9)
		} else {
			next = top
		}
		if math.IsInf(next, 1) || next <= max {
			return max
		}
		max = next
	}
	return max
}

// positiveOnly turns values a log axis cannot hold into gaps.
func positiveOnly(ss []series) []series {
	out := make([]series, len(ss))
	for i, s := range ss {
		s.Y = append([]float64(nil), s.Y...)
		for j, y := range s.Y {
			if y <= 0 {
				s.Y[j] = math.NaN()
			}
		}
		out[i] = s
	}
	return out
}

// tidyTicks are gonum's ticks with short labels ("25", not "25.00").
type tidyTicks struct{ Log bool }

func (t tidyTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	if t.Log {
		ticks = logTicks(min, max)
	} else {
		ticks = plot.DefaultTicks{}.Ticks(min, max)
	}
	out := ticks[:0]
	for _, tk := range ticks {
		// Ticks outside the axis would pad the plot for labels never drawn.
		if tk.Value < min || tk.Value > max {
			continue
		}
		if tk.Label != "" {
			tk.Label = strconv.FormatFloat(tk.Value, 'g', 6, 64)
		}
		out = append(out, tk)
	}
	return out
}

// logTicks are a tick at every 1–9 × 10^k in [min, max], labelled at each
// power of ten and, over at most three decades, at 2 and 5 × 10^k too.
func logTicks(min, max float64) []plot.Tick {
	if min <= 0 || max <= min {
		return nil
	}
	lo, hi := math.Floor(math.Log10(min)), math.Ceil(math.Log10(max))
	labelMinor := hi-lo <= 3
	var ticks []plot.Tick
	for e := lo; e <= hi; e++ {
		base := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := float64(m) * base
			if v < min*(1-1e-9) || v > max*(1+1e-9) {
				continue
			}
			tk := plot.Tick{Value: v}
			if m == 1 || labelMinor && (m == 2 || m == 5) {
				tk.Label = strconv.FormatFloat(v, 'g', 6, 64)
			}
			ticks = append(ticks, tk)
		}
	}
	return ticks
}

// logCeil is the first value at or above top that logTicks would label on
// an axis from min to max.
func logCeil(min, max, top float64) float64 {
	mults := []float64{1}
	if math.Ceil(math.Log10(max))-math.Floor(math.Log10(min)) <= 3 {
		mults = []float64{1, 2, 5}
	}
	for e := math.Floor(math.Log10(top)); ; e++ {
		for _, m := range mults {
			if v := m * math.Pow(10, e); v >= top*(1-1e-9) {
				return v
			}
		}
	}
}

// overlaps is how many bands start inside an earlier one (extra label lanes).
func overlaps(bs []band) int {
	n := 0
	for i := range bs {
		for j := range i {
			if bs[i].From < bs[j].To && bs[j].From < bs[i].To {
				n++
				break
			}
		}
	}
	return n
}

// addSeries adds a series as lines between gaps; an isolated point becomes
// a dot.
func addSeries(p *plot.Plot, s series) error {
	style := draw.LineStyle{Color: s.Colour, Width: vg.Points(1.4)}
	if s.Dashed {
		style.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	var seg plotter.XYs
	flush := func() error {
		switch len(seg) {
		case 0:
		case 1:
			sc, err := plotter.NewScatter(seg)
			if err != nil {
				return fmt.Errorf("plot %s: %w", s.Name, err)
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: s.Colour, Radius: vg.Points(1.6), Shape: draw.CircleGlyph{}}
			p.Add(sc)
		default:
			l, err := plotter.NewLine(seg)
			if err != nil {
				return fmt.Errorf("plot %s: %w", s.Name, err)
			}
			l.LineStyle = style
			p.Add(l)
		}
		seg = nil
		return nil
	}
	for i := range s.X {
		if math.IsNaN(s.Y[i]) || math.IsInf(s.Y[i], 0) {
			if err := flush(); err != nil {
				return err
			}
			continue
		}
		seg = append(seg, plotter.XY{X: s.X[i], Y: s.Y[i]})
	}
	return flush()
}

// bandPlotter shades spans of the time axis over the whole data area and
// labels each at its top left; overlapping labels take lower lanes.
type bandPlotter struct {
	Bands    []band
	NoLabels bool
}

func (b *bandPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	type placed struct{ x0, x1 vg.Length }
	var lanes [][]placed
	span := func(bd band) (x0, x1 vg.Length, ok bool) {
		from, to := math.Max(bd.From, p.X.Min), math.Min(bd.To, p.X.Max)
		if to < from {
			return 0, 0, false
		}
		x0, x1 = trX(from), trX(to)
		if x1-x0 < vg.Points(1.5) {
			x1 = x0 + vg.Points(1.5)
		}
		return x0, x1, true
	}
	// Every fill first, then every label: a band drawn later (a member's
	// down span over a fault's window) never hides an earlier one's label.
	for _, bd := range b.Bands {
		if x0, x1, ok := span(bd); ok {
			c.FillPolygon(bd.Fill, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		}
	}
	for _, bd := range b.Bands {
		x0, _, ok := span(bd)
		if !ok || bd.Label == "" || b.NoLabels {
			continue
		}
		sty := text.Style{Color: bd.Text, Font: sans(9), XAlign: draw.XLeft, YAlign: draw.YTop, Handler: p.TextHandler}
		w := sty.Width(bd.Label)
		lx := x0 + vg.Points(2)
		if lx+w > c.Max.X {
			lx = c.Max.X - w - vg.Points(1)
		}
		lane := 0
		for ; lane < len(lanes); lane++ {
			free := true
			for _, pl := range lanes[lane] {
				if lx < pl.x1+vg.Points(4) && pl.x0 < lx+w+vg.Points(4) {
					free = false
					break
				}
			}
			if free {
				break
			}
		}
		if lane == len(lanes) {
			lanes = append(lanes, nil)
		}
		lanes[lane] = append(lanes[lane], placed{lx, lx + w})
		h := sty.Height(bd.Label)
		c.FillText(sty, vg.Point{X: lx, Y: c.Max.Y - vg.Points(2) - vg.Length(lane)*(h+vg.Points(1))}, bd.Label)
	}
}

// rulePlotter draws reference lines, dashed, with a label.
type rulePlotter struct{ Rules []rule }

func (rp *rulePlotter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, r := range rp.Rules {
		sty := draw.LineStyle{Color: r.Colour, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
		if r.Solid {
			sty.Dashes = nil
		}
		tsty := text.Style{Color: r.Colour, Font: sans(9), Handler: p.TextHandler}
		if r.Vertical {
			if r.At < p.X.Min || r.At > p.X.Max {
				continue
			}
			x := trX(r.At)
			c.StrokeLine2(sty, x, c.Min.Y, x, c.Max.Y)
			tsty.XAlign, tsty.YAlign = draw.XRight, draw.YBottom
			c.FillText(tsty, vg.Point{X: x - vg.Points(2), Y: c.Min.Y + vg.Points(2)}, r.Label)
			continue
		}
		if r.At < p.Y.Min || r.At > p.Y.Max {
			continue
		}
		y := trY(r.At)
		c.StrokeLine2(sty, c.Min.X, y, c.Max.X, y)
		tsty.XAlign, tsty.YAlign = draw.XLeft, draw.YBottom
		c.FillText(tsty, vg.Point{X: c.Min.X + vg.Points(3), Y: y + vg.Points(1)}, r.Label)
	}
}

// rightPad keeps the last x tick's label, centred on the right edge of the
// data area, inside the picture.
const rightPad = 12 * vg.Millimeter / 3

// svgOf renders plots stacked in one column into an inline SVG element.
func svgOf(label string, w, h vg.Length, plots ...*plot.Plot) (template.HTML, error) {
	canvas := vgsvg.New(w, h)
	dc := draw.Crop(draw.New(canvas), 0, -rightPad, 0, 0)
	if len(plots) == 1 {
		plots[0].Draw(dc)
	} else {
		grid := make([][]*plot.Plot, len(plots))
		for i, p := range plots {
			grid[i] = []*plot.Plot{p}
		}
		tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(6), PadTop: vg.Points(2), PadBottom: vg.Points(2)}
		cs := plot.Align(grid, tiles, dc)
		for i, p := range plots {
			p.Draw(cs[i][0])
		}
	}
	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("render the %s chart: %w", label, err)
	}
	return inlineSVG(buf.String(), label), nil
}

// inlineSVG turns a standalone SVG document into an element for an HTML
// page: no XML declaration or comment, an accessible name.
func inlineSVG(doc, label string) template.HTML {
	if i := strings.Index(doc, "<svg"); i >= 0 {
		doc = doc[i:]
	}
	doc = strings.Replace(doc, "<svg ", `<svg class="plot" role="img" aria-label="`+html.EscapeString(label)+`" `, 1)
	// The chart's content is gonum's: numbers, paths, and text it escaped
	// with html.EscapeString.
	return template.HTML(strings.TrimSpace(doc)) //nolint:gosec // generated SVG, text escaped by vgsvg
}
