//go:build unix

package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
)

// TestHTMLScreenshot opens report.html in headless Chromium, takes a
// screenshot, and checks that the charts rendered: the fault band colour is
// on screen, and every region of the page where fault bands are drawn (one
// per chart row) also holds the chart's lines; the time axis names the UTC
// time of t = 0, and an exhausted budget's burn-down shows its marker.
func TestHTMLScreenshot(t *testing.T) {
	browser := findChromium(t)
	tests := []struct {
		name      string
		dir       string
		minCharts int // chart rows with fault bands in the first 2400 px
		exhausted string
	}{
		{"fail with member and burn events", fixtureFail, 5, "exhausted at t = 5 s"},
		{"pass without member or burn events", fixturePass, 4, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyFixture(t, tt.dir)
			if err := Render(dir, FormatHTML); err != nil {
				t.Fatal(err)
			}
			page, err := os.ReadFile(filepath.Join(dir, FileHTML))
			if err != nil {
				t.Fatal(err)
			}
			// The HTML itself: charts present, non-trivial, fault names as labels.
			svgs := svgElement.FindAll(page, -1)
			if len(svgs) < 4 {
				t.Fatalf("%d <svg> charts in report.html, want at least 4", len(svgs))
			}
			for i, svg := range svgs[:3] {
				if len(svg) < 4000 || !bytes.Contains(svg, []byte(faultFill)) {
					t.Errorf("time-series chart %d is trivial (%d bytes) or has no fault band", i, len(svg))
				}
				for _, name := range []string{"isolate-one", "kill-n2"} {
					if !bytes.Contains(svg, []byte(">"+name+"</text>")) {
						t.Errorf("time-series chart %d does not label fault %s", i, name)
					}
				}
				if !bytes.Contains(svg, []byte(">t (s) from the end of warmup; t = 0 at 22:05:01 UTC</text>")) {
					t.Errorf("time-series chart %d does not name the UTC time of t = 0 on its axis", i)
				}
			}
			if tt.exhausted != "" {
				marked := false
				for _, svg := range svgs[3:] {
					marked = marked || bytes.Contains(svg, []byte(">"+tt.exhausted+"</text>")) && bytes.Contains(svg, []byte(">100 %: budget exhausted</text>"))
				}
				if !marked {
					t.Errorf("no burn-down marks %q and the 100 %% line", tt.exhausted)
				}
			}

			shot := filepath.Join(t.TempDir(), "report.png")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			screenshot(ctx, t, browser, filepath.Join(dir, FileHTML), shot)
			f, err := os.Open(shot)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatalf("decode the screenshot: %v", err)
			}
			regions := checkScreenshot(t, img, tt.minCharts)
			if tt.exhausted != "" {
				checkExhaustionMarker(t, img, regions)
			}
		})
	}
}

// findChromium returns the browser's path, or skips (fails when
// CHAOSCTL_REQUIRE_INTEGRATION=1).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "headless Chromium is not installed: apt-get install chromium (Debian package chromium) to run the screenshot test"
	testkit.Integration(t, "%s", msg)
	return ""
}

// screenshot runs headless Chromium once, in its own process group, and
// kills the whole group when it ends or ctx expires, so no renderer or
// zygote process outlives the test.
func screenshot(ctx context.Context, t *testing.T, browser, page, png string) {
	t.Helper()
	abs, err := filepath.Abs(page)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--hide-scrollbars", "--force-device-scale-factor=1", "--force-color-profile=srgb",
		"--user-data-dir="+t.TempDir(),
		"--screenshot="+png, "--window-size=1280,2400",
		"file://"+abs)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", browser, err)
	}
	pgid := cmd.Process.Pid
	runErr := cmd.Wait()
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	waitGroupGone(t, pgid)
	if ctx.Err() != nil {
		t.Fatalf("chromium did not finish within the deadline: %v\n%s", ctx.Err(), output.Bytes())
	}
	if runErr != nil {
		t.Fatalf("chromium: %v\n%s", runErr, output.Bytes())
	}
	if st, err := os.Stat(png); err != nil || st.Size() == 0 {
		t.Fatalf("chromium wrote no screenshot (%v):\n%s", err, output.Bytes())
	}
}

// waitGroupGone polls until no process of the group is left.
func waitGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := syscall.Kill(-pgid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("processes of chromium's group %d are still alive: %v", pgid, err)
			return
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		time.Sleep(20 * time.Millisecond)
	}
}

// checkScreenshot finds the chart rows by the fault band colour and checks
// each holds drawn lines, not only the bands. It returns the rows.
func checkScreenshot(t *testing.T, img image.Image, minCharts int) []screenRegion {
	t.Helper()
	b := img.Bounds()
	near := func(c color.Color, want color.RGBA, tol int) bool {
		r, g, bl, _ := c.RGBA()
		d := func(x uint32, y uint8) int { return max(int(x>>8)-int(y), int(y)-int(x>>8)) }
		return d(r, want.R) <= tol && d(g, want.G) <= tol && d(bl, want.B) <= tol
	}

	bandPixels := 0
	bandRows := make([]bool, b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		n := 0
		for x := b.Min.X; x < b.Max.X; x++ {
			if near(img.At(x, y), colourFaultBand, 3) {
				n++
			}
		}
		bandPixels += n
		bandRows[y-b.Min.Y] = n >= 20
	}
	if bandPixels < 20000 {
		t.Fatalf("the fault band colour covers %d pixels; the charts did not render their fault windows", bandPixels)
	}

	var regions []screenRegion
	for y := 0; y < len(bandRows); y++ {
		if !bandRows[y] {
			continue
		}
		// A chart row runs on across the few rows where a grid line or a
		// series crosses the bands.
		start, gap := y, 0
		for y < len(bandRows) && gap <= 4 {
			if bandRows[y] {
				gap = 0
			} else {
				gap++
			}
			y++
		}
		end := y - gap
		// A chart cut by the bottom of the window is left out.
		if end-start >= 40 && end < len(bandRows) {
			regions = append(regions, screenRegion{b.Min.Y + start, b.Min.Y + end})
		}
	}
	if len(regions) < minCharts {
		t.Fatalf("%d chart rows with fault bands on screen, want at least %d: %+v", len(regions), minCharts, regions)
	}
	for i, r := range regions {
		// The data area's edges (a series at zero lies on the bottom one)
		// are a few pixels beyond the bands.
		ink, line := 0, 0
		for y := max(b.Min.Y, r.y0-8); y < min(b.Max.Y, r.y1+8); y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := img.At(x, y)
				rr, gg, bb, _ := c.RGBA()
				if rr>>8 > 235 && gg>>8 > 235 && bb>>8 > 235 || near(c, colourFaultBand, 3) {
					continue
				}
				ink++
				if seriesHue(c) {
					line++
				}
			}
		}
		if ink < 1500 || line < 300 {
			t.Errorf("chart row %d (y %d–%d) looks blank: %d drawn pixels, %d in a series colour", i, r.y0, r.y1, ink, line)
		}
	}
	t.Logf("screenshot %dx%d: %d fault-band pixels, %d chart rows at y %v", b.Dx(), b.Dy(), bandPixels, len(regions), regions)
	return regions
}

// checkExhaustionMarker finds the solid red vertical line that marks the
// second a budget was exhausted: a column of red pixels taller than any
// dashed rule's dash, inside a chart row (not the verdict banner's border).
func checkExhaustionMarker(t *testing.T, img image.Image, regions []screenRegion) {
	t.Helper()
	b := img.Bounds()
	best := 0
	for _, rg := range regions {
		for x := b.Min.X; x < b.Max.X; x++ {
			run := 0
			for y := rg.y0; y < rg.y1; y++ {
				r16, g16, b16, _ := img.At(x, y).RGBA()
				r, g, bl := int(r16>>8), int(g16>>8), int(b16>>8)
				if r-g > 100 && r-bl > 80 {
					run++
					best = max(best, run)
				} else {
					run = 0
				}
			}
		}
	}
	if best < 60 {
		t.Errorf("no solid red vertical line on screen (longest red column %d px): the burn-down does not mark the exhaustion", best)
	}
}

// seriesHue tells the pixels of the series lines (blue, purple, red, also
// where antialiasing blends them with the background) from the bands, the
// grid, the text and the fault labels (dark orange).
func seriesHue(c color.Color) bool {
	r16, g16, b16, _ := c.RGBA()
	r, g, b := int(r16>>8), int(g16>>8), int(b16>>8)
	blueish := b-r > 40 && b-g > 20
	redish := r-g > 100 && r-b > 100
	return blueish || redish
}

// screenRegion is a band of screenshot rows, y0 inclusive, y1 exclusive.
type screenRegion struct{ y0, y1 int }

func (r screenRegion) String() string { return fmt.Sprintf("%d–%d", r.y0, r.y1) }
