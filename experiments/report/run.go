package report

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/internal/regularfile"
)

// File names in a run's output folder.
const (
	FileResult     = "result.json"
	FileJournal    = "journal.ndjson"
	FileExperiment = "experiment.yaml"
	FileHTML       = "report.html"
	FileMarkdown   = "summary.md"
	FileJUnit      = "junit.xml"
)

// Run is a finished run as the renderers see it: the result, the timeline
// read from the journal, and the experiment file as it was run.
type Run struct {
	Result *Result
	// Timeline is empty when the journal is missing; the renderers then say
	// "no data" where they would draw.
	Timeline Timeline
	// Experiment is experiment.yaml's bytes; nil when absent.
	Experiment []byte
}

// Timeline is what the journal holds over time.
type Timeline struct {
	Seconds []SecondPoint
	Members []MemberPoint
	Burns   []BurnPoint
	// MeasuredStart is t = 0 (the end of warmup) from the journal's
	// workload-start event; zero in journals written before it.
	MeasuredStart time.Time
	// Malformed counts journal lines that could not be decoded (a run killed
	// mid-write leaves a partial last line); they are skipped.
	Malformed int
}

// SecondPoint is one closed second of the workload (a "second" event).
// Second counts from the end of warmup (warmup seconds are negative), the
// same origin as a fault's `at` in the experiment file.
type SecondPoint struct {
	Time    time.Time `json:"-"`
	Second  int       `json:"second"`
	Warmup  bool      `json:"warmup"`
	Sent    int64     `json:"sent"`
	OK      int64     `json:"ok"`
	Bad     int64     `json:"bad"`
	Dropped int64     `json:"dropped"`
	P50     float64   `json:"p50"` // seconds
	P99     float64   `json:"p99"` // seconds
	Faults  []string  `json:"faults"`
}

// MemberPoint is one member's scrape in one second (a "member" event).
type MemberPoint struct {
	Second           int     `json:"second"`
	Member           string  `json:"member"`
	Up               bool    `json:"up"`
	CPU              float64 `json:"cpu"` // fraction of one core
	Inflight         float64 `json:"inflight"`
	ShedRate         float64 `json:"shedRate"` // requests/s
	BreakerOpen      float64 `json:"breakerOpen"`
	ServerErrorRatio float64 `json:"serverErrorRatio"`
	ServerLatencyP99 float64 `json:"serverLatencyP99"` // seconds
	CacheHitRatio    float64 `json:"cacheHitRatio"`
	RequestRate      float64 `json:"requestRate"`
}

// BurnPoint is one SLO's budget state at the end of a second (a "burn"
// event).
type BurnPoint struct {
	Second   int     `json:"second"`
	SLO      string  `json:"slo"`
	BurnRate float64 `json:"burnRate"`
	Window   string  `json:"window,omitempty"` // of BurnRate: "last 5s"
	Consumed float64 `json:"consumed"`         // of the budget of the events so far
	// Bad and Total are the SLO's cumulative bad and eligible events up to
	// and including this second; nil in journals written before them.
	Bad   *int64 `json:"bad,omitempty"`
	Total *int64 `json:"total,omitempty"`
}

// LoadRun reads a run's output folder: result.json (required),
// journal.ndjson and experiment.yaml (both optional), each a regular file
// within its limit (MaxJSONSize, MaxJournalSize).
func LoadRun(dir string) (*Run, error) {
	res, err := ReadJSON(dir)
	if err != nil {
		return nil, fmt.Errorf("read the run in %s: %w", dir, err)
	}
	run := &Run{Result: res}
	f, err := regularfile.OpenLimited(filepath.Join(dir, FileJournal), MaxJournalSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("open the journal: %w", err)
	default:
		defer f.Close()
		if run.Timeline, err = ParseJournal(f); err != nil {
			return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, FileJournal), err)
		}
	}
	run.Experiment, err = regularfile.ReadFile(filepath.Join(dir, FileExperiment), MaxJSONSize)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read the experiment file: %w", err)
	}
	return run, nil
}

// ParseJournal reads journal.ndjson into a Timeline. Unknown event types are
// ignored; lines that do not decode are counted in Malformed and skipped.
func ParseJournal(r io.Reader) (Timeline, error) {
	var tl Timeline
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var ev struct {
			Time time.Time       `json:"time"`
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			tl.Malformed++
			continue
		}
		var err error
		switch ev.Type {
		case "second":
			var p SecondPoint
			if err = json.Unmarshal(ev.Data, &p); err == nil {
				p.Time = ev.Time
				tl.Seconds = append(tl.Seconds, p)
			}
		case "member":
			var p MemberPoint
			if err = json.Unmarshal(ev.Data, &p); err == nil && p.Member != "" {
				tl.Members = append(tl.Members, p)
			}
		case "workload-start":
			var p struct {
				MeasuredStart time.Time `json:"measuredStart"`
			}
			if err = json.Unmarshal(ev.Data, &p); err == nil {
				tl.MeasuredStart = p.MeasuredStart
			}
		case "burn":
			var p BurnPoint
			if err = json.Unmarshal(ev.Data, &p); err == nil && p.SLO != "" {
				tl.Burns = append(tl.Burns, p)
			}
		}
		if err != nil {
			tl.Malformed++
		}
	}
	if err := sc.Err(); err != nil {
		return tl, fmt.Errorf("scan the journal: %w", err)
	}
	sort.SliceStable(tl.Seconds, func(i, j int) bool { return tl.Seconds[i].Second < tl.Seconds[j].Second })
	sort.SliceStable(tl.Members, func(i, j int) bool { return tl.Members[i].Second < tl.Members[j].Second })
	sort.SliceStable(tl.Burns, func(i, j int) bool { return tl.Burns[i].Second < tl.Burns[j].Second })
	return tl, nil
}

// measuredStart is the instant the measured phase began (the end of warmup,
// t = 0): result.json's measuredStart, else the journal's workload-start
// event, else estimated from the "second" events (of runs recorded before
// either): each is journalled just after its second closes, so the
// earliest time−(index+1)s is the closest bound.
func (run *Run) measuredStart() (time.Time, bool) {
	if ms := run.Result.MeasuredStart; ms != nil && !ms.IsZero() {
		return *ms, true
	}
	if ms := run.Timeline.MeasuredStart; !ms.IsZero() {
		return ms, true
	}
	var best time.Time
	for _, s := range run.Timeline.Seconds {
		if s.Time.IsZero() {
			continue
		}
		t := s.Time.Add(-time.Duration(s.Second+1) * time.Second)
		if best.IsZero() || t.Before(best) {
			best = t
		}
	}
	return best, !best.IsZero()
}

// faultWindow is a fault's window in seconds from the end of warmup.
type faultWindow struct {
	Name       string
	Start, End float64
	Kind       string
	Targets    []string
}

// faultWindows places every applied fault on the measured timeline; ok is
// false when the journal has no seconds to anchor them.
func (run *Run) faultWindows() (ws []faultWindow, ok bool) {
	t0, ok := run.measuredStart()
	if !ok {
		return nil, false
	}
	end := run.Result.Ended
	for _, f := range run.Result.Faults {
		if f.Applied == nil {
			continue
		}
		stop := end
		if f.Reverted != nil {
			stop = *f.Reverted
		}
		ws = append(ws, faultWindow{Name: f.Name, Start: f.Applied.Sub(t0).Seconds(), End: stop.Sub(t0).Seconds(), Kind: f.Kind, Targets: f.Targets})
	}
	return ws, true
}

// stopSecond is when the stop condition fired, in seconds from the end of
// warmup.
func (run *Run) stopSecond() (float64, bool) {
	sc := run.Result.StopCondition
	t0, ok := run.measuredStart()
	if sc == nil || !ok || sc.At.IsZero() {
		return 0, false
	}
	return sc.At.Sub(t0).Seconds(), true
}

// members lists the members with samples, gateways first, then in natural
// order (n2 before n10).
func (tl *Timeline) members() []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range tl.Members {
		if !seen[m.Member] {
			seen[m.Member] = true
			out = append(out, m.Member)
		}
	}
	sort.Slice(out, func(i, j int) bool { return naturalLess(out[i], out[j]) })
	return out
}

// naturalLess orders g* before n*, then by name with digits compared as
// numbers.
func naturalLess(a, b string) bool {
	ga, gb := strings.HasPrefix(a, "g"), strings.HasPrefix(b, "g")
	if ga != gb {
		return ga
	}
	pa, na := splitDigits(a)
	pb, nb := splitDigits(b)
	if pa != pb {
		return pa < pb
	}
	if na != nb {
		return na < nb
	}
	return a < b
}

func splitDigits(s string) (string, int) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	n, _ := strconv.Atoi(s[i:])
	return s[:i], n
}

// measuredDuration is the workload's measured duration; 0 when unknown.
func (r *Result) measuredDuration() time.Duration {
	d, _ := time.ParseDuration(r.Workload.Duration)
	return d
}
