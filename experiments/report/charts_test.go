package report

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
)

// Every plotted value lies under a labelled Y tick: no line plateaus above
// the last number of its axis, linear or logarithmic.
func TestYAxisLabelsCoverEveryValue(t *testing.T) {
	xs := []float64{0, 1, 2, 3}
	tests := []struct {
		name string
		logY bool
		ys   []float64
	}{
		{"cpu a little over a tick", false, []float64{10, 29, 31, 12}},
		{"ratio under one", false, []float64{0.1, 0.93, 0.2, 0.5}},
		{"requests per second", false, []float64{200, 201, 199, 204}},
		{"burn-down at 1234 %", false, []float64{0, 300, 1234, 1234}},
		{"latency just over a decade", true, []float64{2, 3, 1100, 1500}},
		{"latency under a decade", true, []float64{1.5, 2, 130, 180}},
		{"latency over five decades", true, []float64{0.05, 1, 2000, 9000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := chart{XMin: 0, XMax: 4, Series: []series{{Name: "s", X: xs, Y: tt.ys}}, LogY: tt.logY,
				Bands: []band{{From: 1, To: 2, Label: "fault"}, {From: 1.5, To: 3, Label: "other"}}}
			p, err := ch.newPlot()
			if err != nil {
				t.Fatal(err)
			}
			top := 0.0
			for _, y := range tt.ys {
				top = math.Max(top, y)
			}
			var labels []string
			covered := false
			for _, tk := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
				if tk.Label == "" {
					continue
				}
				labels = append(labels, tk.Label)
				if tk.Value >= top && tk.Value <= p.Y.Max {
					covered = true
				}
			}
			if !covered {
				t.Errorf("largest value %g above the last labelled tick: axis %g–%g, labels %v", top, p.Y.Min, p.Y.Max, labels)
			}
			if p.Y.Max > 40*top {
				t.Errorf("axis up to %g for values up to %g: too much headroom", p.Y.Max, top)
			}
		})
	}
}

func TestLogTicksLabelTwoAndFiveOverFewDecades(t *testing.T) {
	var labels []string
	for _, tk := range logTicks(1, 300) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "1 2 5 10 20 50 100 200" {
		t.Errorf("labels over 1–300: %s", got)
	}
	labels = nil
	for _, tk := range logTicks(0.01, 1e4) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "0.01 0.1 1 10 100 1000 10000" {
		t.Errorf("labels over six decades: %s", got)
	}
}

// svgText is a text element of a chart: its left edge, size and content.
var svgText = regexp.MustCompile(`<svg[^>]* width="([\d.]+)pt"|<text x="([-\d.]+)" y="[-\d.]+" transform="([^"]*)"\s+style="[^"]*font-size:([\d.]+)px">([^<]*)</text>`)

// No text of any chart runs off its picture: the last x tick's label, the
// fault and band labels, the exhaustion marker.
func TestChartTextStaysInsideThePicture(t *testing.T) {
	for _, dir := range []string{fixtureFail, fixturePass} {
		page := renderHTML(t, loadFixture(t, dir))
		for i, svg := range svgElement.FindAllString(page, -1) {
			width, texts := 0.0, 0
			for _, m := range svgText.FindAllStringSubmatch(svg, -1) {
				if m[1] != "" {
					width, _ = strconv.ParseFloat(m[1], 64)
					continue
				}
				if strings.Contains(m[3], "rotate") {
					continue // the Y axis label
				}
				x, _ := strconv.ParseFloat(m[2], 64)
				size, _ := strconv.ParseFloat(m[4], 64)
				face := font.DefaultCache.Lookup(sans(vg.Length(size)), vg.Length(size))
				w := float64(face.Width(unescape(m[5])))
				texts++
				if x < 0 || x+w > width-2 {
					t.Errorf("%s chart %d: %q spans x %.1f–%.1f, outside the picture's 0–%g", dir, i, m[5], x, x+w, width)
				}
			}
			if width == 0 || texts < 5 {
				t.Fatalf("%s chart %d: width %g, %d texts: the pattern no longer matches vgsvg's output", dir, i, width, texts)
			}
		}
	}
}

func unescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#39;", "'", "&#34;", `"`).Replace(s)
}

// A member's down span that a crash of it explains is drawn from the
// fault's applied to its reverted time, not in whole scraped seconds; down
// seconds no fault explains stay whole seconds.
func TestDownBandsAlignWithTheFault(t *testing.T) {
	faults := []faultWindow{
		{Name: "cut", Kind: "partition", Targets: []string{"n2"}, Start: 4.04, End: 9.01},
		{Name: "kill-n2", Kind: "crash", Targets: []string{"n2"}, Start: 12.006, End: 15.014},
	}
	got := downBands("n2", []int{6, 12, 13, 14, 15, 16, 17}, faults)
	want := []band{{From: 6, To: 7}, {From: 12.006, To: 15.014}, {From: 16, To: 18}}
	if len(got) != len(want) {
		t.Fatalf("bands %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].From != want[i].From || got[i].To != want[i].To || got[i].Label != "down" {
			t.Errorf("band %d = %+v, want %g–%g labelled down", i, got[i], want[i].From, want[i].To)
		}
	}
	if got := downBands("n3", []int{13}, faults); len(got) != 1 || got[0].From != 13 || got[0].To != 14 {
		t.Errorf("n3, down at 13 with no fault of its own: %+v", got)
	}
}

// Every fault's label is drawn over the member-down bands, not under them.
func TestFaultLabelsAreDrawnOverDownBands(t *testing.T) {
	ch := chart{XMin: 0, XMax: 20, Series: []series{{Name: "cpu", X: []float64{1, 19}, Y: []float64{10, 12}, Colour: colourBlue}},
		Bands: []band{
			{From: 12.006, To: 15.014, Label: "kill-n2", Fill: colourFaultBand, Text: colourFaultText},
			{From: 12.006, To: 15.014, Label: "down", Fill: colourDownBand, Text: colourDownText},
		}}
	p, err := ch.newPlot()
	if err != nil {
		t.Fatal(err)
	}
	svg, err := svgOf("member n2", panelW, panelH, p)
	if err != nil {
		t.Fatal(err)
	}
	downFill := fmt.Sprintf("fill:#%02X%02X%02X", colourDownBand.R, colourDownBand.G, colourDownBand.B)
	label, last := strings.Index(string(svg), ">kill-n2</text>"), strings.LastIndex(string(svg), downFill)
	if label < 0 || last < 0 {
		t.Fatalf("no kill-n2 label (%d) or no down band (%d)", label, last)
	}
	if last > label {
		t.Error("the member-down band is drawn after (over) the kill-n2 label")
	}
}
