package repeat

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/slo/stats"
)

// Confidence is the level of a repeat's pass-rate interval.
const Confidence = 0.95

// DefaultRequired is the pass rate a repeat requires when none is given:
// every run must pass.
const DefaultRequired = 1.0

// Interval is a two-sided interval of a proportion, Low ≤ p ≤ High.
type Interval = stats.Interval

// Wilson is the Wilson score interval of the proportion passed/runs at
// the given confidence (0 < confidence < 1): unlike the normal
// approximation it stays inside [0, 1] and is not empty at 0 or runs
// passes. With no runs it is the whole [0, 1]. (slo/stats.Wilson, the
// one implementation; a control run's error ratios use it too.)
func Wilson(passed, runs int, confidence float64) Interval {
	return stats.Wilson(passed, runs, confidence)
}

// SpreadOf is the median, minimum and maximum of values (the median of an
// even count is the mean of the two middle values); all 0 when there are
// none. values is not changed.
func SpreadOf(values []float64) report.Spread {
	if len(values) == 0 {
		return report.Spread{}
	}
	v := slices.Clone(values)
	slices.Sort(v)
	n := len(v)
	median := v[n/2]
	if n%2 == 0 {
		median = v[n/2-1]/2 + v[n/2]/2 // halves first: no overflow near MaxFloat64 (a zero budget)
	}
	return report.Spread{Median: median, Min: v[0], Max: v[n-1]}
}

// Flaky reports whether verdicts differ: a repeat whose runs did not all
// reach the same verdict.
func Flaky(verdicts []string) bool {
	for _, v := range verdicts {
		if v != verdicts[0] {
			return true
		}
	}
	return false
}

// ParsePassRate reads a required pass rate: a fraction (0.95, 1) or a
// percentage (95%, 99.5 %), above 0 and at most 1 (100 %).
func ParsePassRate(s string) (float64, error) {
	t := strings.TrimSpace(s)
	scale := 1.0
	if rest, ok := strings.CutSuffix(t, "%"); ok {
		t, scale = strings.TrimSpace(rest), 100
	}
	f, err := strconv.ParseFloat(t, 64)
	switch {
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
		return 0, fmt.Errorf("pass rate %q: want a fraction such as 0.95 or a percentage such as 95%%", s)
	case scale == 1 && f > 1 && f <= 100:
		return 0, fmt.Errorf("pass rate %q: a fraction is at most 1; write %s%% for a percentage", s, t)
	}
	f /= scale
	if f <= 0 || f > 1 {
		return 0, errors.New("pass rate " + strconv.Quote(s) + ": allowed are above 0 up to 1 (100%)")
	}
	return f, nil
}

// Counts are a repeat's runs by verdict: Planned were asked for, Passed,
// Failed and Inconclusive judged; the rest (Planned minus the three) were
// not made or were interrupted.
type Counts struct {
	Planned, Passed, Failed, Inconclusive int
}

// Judged is the runs that reached a verdict.
func (c Counts) Judged() int { return c.Passed + c.Failed + c.Inconclusive }

// Decision is a repeat's aggregate verdict under a required pass rate,
// with the pass rate, its interval and the rule that decided, in words.
type Decision struct {
	Verdict  string
	PassRate float64
	Interval
	Rule string
}

// Decide judges a repeat by the pass rate it requires (0 < required ≤ 1):
// of the Planned runs, at least required×Planned must pass. It passes when
// the passes already reach that, fails when they cannot reach it even if
// every undecided run (inconclusive, interrupted or not made) had passed,
// and is inconclusive otherwise: too many runs were undecided to tell. The
// pass rate and its Wilson interval are over the judged runs.
func Decide(c Counts, required float64) Decision {
	judged := c.Judged()
	d := Decision{Interval: Wilson(c.Passed, judged, Confidence)}
	if judged > 0 {
		d.PassRate = float64(c.Passed) / float64(judged)
	}
	planned := max(c.Planned, judged)
	// The passes needed, in whole runs; the epsilon keeps 0.9×10 at 9.
	need := int(math.Ceil(required*float64(planned) - 1e-9))
	undecided := planned - c.Passed - c.Failed
	rate := fmt.Sprintf("pass rate %d/%d = %s (%s CI %s)", c.Passed, judged, report.RatePct(d.PassRate),
		report.RatePct(Confidence), report.IntervalPct(d.Low, d.High))
	if judged == 0 {
		rate = "no run was judged"
	}
	req := "the required " + report.RequiredPct(required)
	if planned != judged {
		req += fmt.Sprintf(" of %d runs", planned)
	}
	switch {
	case planned == 0:
		d.Verdict, d.Rule = report.Inconclusive, "no run was planned"
	case c.Passed >= need && judged == planned && c.Inconclusive == 0:
		d.Verdict, d.Rule = report.Pass, rate+" meets "+req
	case c.Passed >= need:
		d.Verdict, d.Rule = report.Pass, fmt.Sprintf("%s: %d passes meet %s whatever the %s", rate, c.Passed, req, undecidedText(c, planned))
	case undecided == 0:
		d.Verdict, d.Rule = report.Fail, rate+" below "+req
	case c.Passed+undecided < need:
		d.Verdict, d.Rule = report.Fail, fmt.Sprintf("%s below %s, even if the %s had passed", rate, req, undecidedText(c, planned))
	default:
		d.Verdict, d.Rule = report.Inconclusive, fmt.Sprintf("%s: %s needs %d passes, and the %s could decide it either way",
			rate, req, need, undecidedText(c, planned))
	}
	return d
}

// undecidedText names the runs that reached no pass or fail: "2
// inconclusive runs", "3 runs not made", or both.
func undecidedText(c Counts, planned int) string {
	var parts []string
	if c.Inconclusive > 0 {
		parts = append(parts, fmt.Sprintf("%d inconclusive run%s", c.Inconclusive, plural(c.Inconclusive)))
	}
	if n := planned - c.Judged(); n > 0 {
		parts = append(parts, fmt.Sprintf("%d run%s not made or interrupted", n, plural(n)))
	}
	return strings.Join(parts, " and ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
