package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/chaosctl/chaosctl/internal/regularfile"
)

// RepeatResult is the result.json of a repeat's parent folder (`chaosctl
// run --repeat N`): the experiment run N times with seeds S, S+1, …, each
// run in a folder of its own inside it. Header.Verdict and Reason are the
// aggregate's, decided by the pass-rate policy (Repeat.Rule); Header.Seed is
// the first run's seed. Like result.json, its fields are only ever added.
type RepeatResult struct {
	Experiment string `json:"experiment"`
	Header
	Repeat RepeatSummary `json:"repeat"`
	Runs   []RepeatRun   `json:"runs"`
	// SLOs, Checks and Probes count the judged runs' verdicts by name (a
	// probe as name/phase); an SLO also spreads its budget consumed.
	SLOs        []RepeatSLO     `json:"slos"`
	Checks      []VerdictCounts `json:"checks"`
	Probes      []VerdictCounts `json:"probes"`
	Interrupted bool            `json:"interrupted,omitempty"`
	Errors      []string        `json:"errors,omitempty"`
}

// RepeatSummary is the pass rate of a repeat and the rule that decided its
// verdict.
type RepeatSummary struct {
	// Planned is the runs asked for; Runs the runs judged (an interrupted
	// run, and a run not made, is not judged).
	Planned      int `json:"planned"`
	Runs         int `json:"runs"`
	Passed       int `json:"passed"`
	Failed       int `json:"failed"`
	Inconclusive int `json:"inconclusive"`
	// PassRate is Passed/Runs; Low and High its Wilson score interval at
	// Confidence (0.95).
	PassRate   float64 `json:"passRate"`
	Low        float64 `json:"low"`
	High       float64 `json:"high"`
	Confidence float64 `json:"confidence"`
	// Required is the pass rate the policy asks for (--require-pass-rate).
	Required float64 `json:"required"`
	// Flaky: the judged runs' verdicts differ.
	Flaky bool `json:"flaky"`
	// Rule says what decided the verdict, with the figures.
	Rule string `json:"rule"`
}

// RepeatRun is one run of a repeat: its seed, verdict and folder (relative
// to the parent folder).
type RepeatRun struct {
	Run         int    `json:"run"`
	Seed        int64  `json:"seed"`
	Verdict     string `json:"verdict"`
	Reason      string `json:"reason"`
	Dir         string `json:"dir"`
	Took        string `json:"took,omitempty"`
	Interrupted bool   `json:"interrupted,omitempty"`
	Error       string `json:"error,omitempty"`
}

// VerdictCounts is how many judged runs gave each verdict to one SLO, check
// or probe.
type VerdictCounts struct {
	Name         string `json:"name"`
	Pass         int    `json:"pass"`
	Fail         int    `json:"fail"`
	Inconclusive int    `json:"inconclusive"`
}

// Add counts one verdict.
func (c *VerdictCounts) Add(verdict string) {
	switch verdict {
	case Pass:
		c.Pass++
	case Fail:
		c.Fail++
	default:
		c.Inconclusive++
	}
}

// RepeatSLO is one SLO over a repeat's judged runs: its verdicts and the
// spread of its budget consumed (fractions: 1 is the whole budget).
type RepeatSLO struct {
	VerdictCounts
	Consumed Spread `json:"consumed"`
}

// Spread is the median, minimum and maximum of a set of values (all 0 when
// there are none).
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// FileRepeatRuns is the folder of a repeat's parent folder that holds one
// folder per run.
const FileRepeatRuns = "runs"

// WriteJSON writes the repeat's result.json into dir.
func (r *RepeatResult) WriteJSON(dir string) error { return writeResultJSON(dir, r) }

// ReadRepeatJSON reads a repeat's result.json from dir; ok is false when
// the folder's result.json is a single run's (it has no repeat section).
func ReadRepeatJSON(dir string) (*RepeatResult, bool, error) {
	return readResultWith[RepeatResult](dir, "repeat")
}

// writeResultJSON writes v, indented, as dir's result.json.
func writeResultJSON(dir string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, FileResult), append(b, '\n'))
}

// readResultWith reads dir's result.json as a T when it has the top-level
// section that makes it one (a repeat's "repeat", a ramp's "margin"); ok
// is false when it has not.
func readResultWith[T any](dir, section string) (r *T, ok bool, err error) {
	path := filepath.Join(dir, FileResult)
	b, err := regularfile.ReadFile(path, MaxJSONSize)
	if err != nil {
		return nil, false, err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, false, fmt.Errorf("decode %s: %w", path, err)
	}
	if raw, has := probe[section]; !has || string(raw) == "null" {
		return nil, false, nil
	}
	r = new(T)
	if err := json.Unmarshal(b, r); err != nil {
		return nil, false, fmt.Errorf("decode %s: %w", path, err)
	}
	return r, true, nil
}

// WriteRepeatReports writes a repeat's summary.md and junit.xml into dir;
// runs are the runs' results in the order of r.Runs (nil where a run left
// none).
func WriteRepeatReports(dir string, r *RepeatResult, runs []*Result) error {
	var md, junit bytes.Buffer
	if err := WriteRepeatMarkdown(&md, r); err != nil {
		return err
	}
	if err := WriteRepeatJUnit(&junit, r, runs); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, FileMarkdown), md.Bytes()); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, FileJUnit), junit.Bytes())
}

// RenderRepeat re-renders a repeat's summary.md and junit.xml from its
// parent folder: result.json and each run's own result.json.
func RenderRepeat(dir string) error {
	r, ok, err := ReadRepeatJSON(dir)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s is a single run's folder, not a repeat's", dir)
	}
	runs := make([]*Result, len(r.Runs))
	for i, run := range r.Runs {
		if res, err := ReadJSON(filepath.Join(dir, run.Dir)); err == nil {
			runs[i] = res
		}
	}
	return WriteRepeatReports(dir, r, runs)
}

// RatePct formats a measured fraction as a whole percentage with a space,
// as a repeat's rule reads it: "90 %".
func RatePct(f float64) string {
	return strconv.FormatFloat(math.Round(100*f), 'f', 0, 64) + " %"
}

// RequiredPct formats a required pass rate: a whole percentage, or one
// with the decimals it was given up to two ("99.5 %").
func RequiredPct(f float64) string {
	s := strconv.FormatFloat(100*f, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + " %"
}

// IntervalPct formats an interval of fractions in whole percentages:
// "60–98 %".
func IntervalPct(low, high float64) string {
	return fmt.Sprintf("%.0f–%.0f %%", math.Round(100*low), math.Round(100*high))
}

// spreadText is an SLO's budget consumed over a repeat: "12.0 % (3.1–40.2 %)".
func spreadText(s Spread) string {
	return fmt.Sprintf("%s (%s–%s)", consumedPct(s.Median), consumedPct(s.Min), consumedPct(s.Max))
}

func flakyWord(flaky bool) string {
	if flaky {
		return "yes, the runs' verdicts differ"
	}
	return "no"
}

// RepeatTerminal writes the short aggregate table `chaosctl run --repeat`
// prints after its runs: one line per run, the SLOs' and checks' verdict
// counts, and the verdict with the rule that decided it.
func RepeatTerminal(w io.Writer, r *RepeatResult) error {
	s := r.Repeat
	fmt.Fprintf(w, "\nrepeat %s  %d of %d runs  seeds %d–%d  flaky: %s\n", r.Experiment, len(r.Runs), s.Planned, r.Seed, r.Seed+int64(s.Planned)-1, flakyWord(s.Flaky))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nRUN\tSEED\tVERDICT\tREASON")
	for _, run := range r.Runs {
		v := run.Verdict
		if run.Interrupted {
			v += " (interrupted)"
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\n", run.Run, run.Seed, v, oneLine(run.Reason, 100))
	}
	if len(r.SLOs) > 0 {
		fmt.Fprintln(tw, "\nSLO\tPASS\tFAIL\tINCONCLUSIVE\tBUDGET USED: MEDIAN (MIN–MAX)")
		for _, o := range r.SLOs {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", o.Name, o.Pass, o.Fail, o.Inconclusive, spreadText(o.Consumed))
		}
	}
	if len(r.Checks) > 0 {
		fmt.Fprintln(tw, "\nCHECK\tPASS\tFAIL\tINCONCLUSIVE")
		for _, c := range r.Checks {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", c.Name, c.Pass, c.Fail, c.Inconclusive)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Interrupted {
		fmt.Fprintf(w, "\ninterrupted after %d of %d runs; every fault was reverted\n", len(r.Runs), s.Planned)
	}
	_, err := fmt.Fprintf(w, "\nverdict: %s — %s\n", r.Verdict, r.Reason)
	return err
}

// oneLine is s on one line, cut to at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

// WriteRepeatMarkdown writes a repeat's summary.md: the verdict and the
// rule that decided it, the pass rate with its interval, a row per run
// linking its own report, and the SLOs', checks' and probes' verdict counts.
func WriteRepeatMarkdown(w io.Writer, r *RepeatResult) error {
	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	s := r.Repeat
	p("## chaosctl repeat %s: %s\n\n", mdCode(r.Experiment), verdictWord(r.Verdict))
	p("**Verdict: %s.** %s\n\n", verdictWord(r.Verdict), mdText(r.Reason))
	if r.Description != "" {
		p("%s\n\n", mdText(r.Description))
	}
	meta := []string{fmt.Sprintf("%d of %d runs", len(r.Runs), s.Planned), fmt.Sprintf("seeds %s to %s", mdCode(fmt.Sprint(r.Seed)), mdCode(fmt.Sprint(r.Seed+int64(s.Planned)-1)))}
	meta = append(meta, headerMeta(r.Header)...)
	p("%s\n\n", strings.Join(meta, " · "))
	p("**Pass rate:** %d/%d = %s, %s confidence interval %s (Wilson score); required %s. ", s.Passed, s.Runs, RatePct(s.PassRate),
		RatePct(s.Confidence), IntervalPct(s.Low, s.High), RequiredPct(s.Required))
	p("%d passed, %d failed, %d inconclusive. **Flaky:** %s.\n\n", s.Passed, s.Failed, s.Inconclusive, flakyWord(s.Flaky))
	if r.Interrupted {
		p("**Interrupted:** after %d of %d runs; every fault was reverted and no further run was started.\n\n", len(r.Runs), s.Planned)
	}

	p("### Runs\n\n")
	p("| Run | Seed | Verdict | Reason | Report |\n")
	p("|---:|---:|---|---|---|\n")
	for _, run := range r.Runs {
		v := mdVerdict(run.Verdict)
		if run.Interrupted {
			v += " (interrupted)"
		}
		p("| %d | %d | %s | %s | [%s](%s/%s) |\n", run.Run, run.Seed, v, mdCell(run.Reason), mdCell(run.Dir), run.Dir, FileHTML)
	}
	p("\n")
	if len(r.SLOs) > 0 {
		p("### SLOs\n\n")
		p("| SLO | Pass | Fail | Inconclusive | Budget consumed: median | Min | Max |\n")
		p("|---|---:|---:|---:|---:|---:|---:|\n")
		for _, o := range r.SLOs {
			p("| %s | %d | %d | %d | %s | %s | %s |\n", mdCell(o.Name), o.Pass, o.Fail, o.Inconclusive,
				consumedPct(o.Consumed.Median), consumedPct(o.Consumed.Min), consumedPct(o.Consumed.Max))
		}
		p("\n")
	}
	for _, part := range []struct {
		title, what string
		rows        []VerdictCounts
	}{{"Consistency checks", "Check", r.Checks}, {"Steady-state probes", "Probe (phase)", r.Probes}} {
		if len(part.rows) == 0 {
			continue
		}
		p("### %s\n\n| %s | Pass | Fail | Inconclusive |\n|---|---:|---:|---:|\n", part.title, part.what)
		for _, c := range part.rows {
			p("| %s | %d | %d | %d |\n", mdCell(c.Name), c.Pass, c.Fail, c.Inconclusive)
		}
		p("\n")
	}
	if len(r.Errors) > 0 {
		p("### Errors\n\n")
		for _, e := range r.Errors {
			p("- %s\n", mdText(e))
		}
		p("\n")
	}
	p("Seeds %s to %s: run again with `--seed %d --repeat %d` to repeat every random choice.\n", mdCode(fmt.Sprint(r.Seed)),
		mdCode(fmt.Sprint(r.Seed+int64(s.Planned)-1)), r.Seed, s.Planned)
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write summary.md: %w", err)
	}
	return nil
}
