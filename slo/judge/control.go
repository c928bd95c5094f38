package judge

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/slo/stats"
)

// The control comparison's levels: 95 % intervals and a test at 5 %.
const (
	ControlConfidence = 0.95
	ControlAlpha      = 0.05
)

// MinControlSeconds is the fewest seconds with a value each run must have
// for an SLI to be compared: below it a limit's verdict is inconclusive.
// (With 5 and 5 the exact test can reach p = 0.008; with 3 and 3 never
// below 0.1.)
const MinControlSeconds = 5

// SLISecond is one measured second of an SLO's series, as a control
// comparison reads it.
type SLISecond struct {
	Index int
	// Quantile is a latency SLO's latency at its objective's quantile;
	// HaveQuantile says the second had a success to measure it on.
	Quantile     time.Duration
	HaveQuantile bool
	// Bad and Total are the SLO's events of the second (Events).
	Bad, Total int64
}

// Series is the per-second series of a burned SLO over the measured
// period (warmup excluded; seconds cut shorter than half a second by the
// end of a run left out), for a control comparison.
func (j *Judge) Series(s SLO) []SLISecond {
	if !s.burned() {
		return nil
	}
	var out []SLISecond
	for _, sec := range j.seconds {
		if sec.Warmup || sec.Index < 0 || sec.Length < time.Second/2 {
			continue
		}
		t := sec.SLOs[s.Name]
		e := s.Events(t)
		out = append(out, SLISecond{Index: sec.Index, Quantile: t.Quantile, HaveQuantile: t.OK > 0, Bad: e.Bad, Total: e.Total})
	}
	return out
}

// Limits are the degradation limits (nil: that kind is not judged).
type Limits struct {
	Latency *time.Duration
	Errors  *float64
}

// ControlInput is what CompareControl compares: the experiment's SLOs,
// each one's series in the control run and in the experiment, the SLO
// results of both runs, and which experiment seconds the faults caused
// (for SLOs with judge: faults).
type ControlInput struct {
	SLOs                []SLO
	Control, Experiment map[string][]SLISecond
	ControlSLOs         []report.SLOResult
	ExperimentSLOs      []report.SLOResult
	CausedByFaults      func(index int) bool
	Limits              Limits
	Dir                 string
	ControlVerdict      string
	ControlReason       string
}

// ControlRule states the degradation rule, as the reports quote it.
const ControlRule = "an SLO fails when the experiment is significantly worse than the control run " +
	"(Mann-Whitney U test of the per-second series, two-sided p < 0.05) and the whole 95 % confidence interval " +
	"of the effect lies above its limit: the Hodges-Lehmann shift of the latency for degradation.latency, " +
	"the difference of the error ratios (Newcombe) for degradation.errors. An SLO that also failed " +
	"in the control run is judged by this rule alone. Too few seconds (under 5 per run) is inconclusive"

// CompareControl compares each availability and latency SLO's per-second
// series between the control run and the experiment (a ratio SLO has no
// per-second data and is left out), and judges those whose kind has a
// limit by the degradation rule (ControlRule). Pure.
func CompareControl(in ControlInput) *report.ControlResult {
	out := &report.ControlResult{Dir: in.Dir, ControlVerdict: in.ControlVerdict, ControlReason: in.ControlReason,
		Rule: ControlRule, Confidence: ControlConfidence, Alpha: ControlAlpha, SLIs: []report.ControlSLI{}}
	decides := false
	var fails, inconclusive []string
	for _, s := range in.SLOs {
		if !s.burned() {
			continue
		}
		c := compareSLI(s, in)
		if c.Limit != nil {
			decides = true
			what := fmt.Sprintf("SLO %s: %s", c.Name, c.Reason)
			switch c.Verdict {
			case report.Fail:
				fails = append(fails, what)
			case report.Inconclusive:
				inconclusive = append(inconclusive, what)
			}
		}
		out.SLIs = append(out.SLIs, c)
	}
	switch {
	case !decides:
		out.Reason = "reported only: no degradation limit is set (degradation: {latency, errors})"
	case len(fails) > 0:
		out.Verdict, out.Reason = report.Fail, "degraded beyond the limit: "+report.JoinReasons(fails)
	case len(inconclusive) > 0:
		out.Verdict, out.Reason = report.Inconclusive, report.JoinReasons(inconclusive)
	default:
		out.Verdict, out.Reason = report.Pass, "no significant degradation beyond the limits"
	}
	return out
}

// compareSLI compares one SLO's series.
func compareSLI(s SLO, in ControlInput) report.ControlSLI {
	c := report.ControlSLI{Name: s.Name, Seconds: s.judge()}
	faultsOnly := s.Judge == JudgeFaults
	keep := func(sec SLISecond) bool {
		return !faultsOnly || (in.CausedByFaults != nil && in.CausedByFaults(sec.Index))
	}
	var limit float64
	var haveLimit bool
	var xs, ys []float64 // experiment, control
	switch s.SLI {
	case SLILatency:
		c.Kind, c.Series = report.ControlLatency, quantileName(s.Objective)+" latency per second"
		if l := in.Limits.Latency; l != nil {
			limit, haveLimit = l.Seconds(), true
		}
		pick := func(series []SLISecond) []float64 {
			var v []float64
			for _, sec := range series {
				if sec.HaveQuantile && keep(sec) {
					v = append(v, sec.Quantile.Seconds())
				}
			}
			return v
		}
		xs, ys = pick(in.Experiment[s.Name]), pick(in.Control[s.Name])
	default:
		c.Kind, c.Series = report.ControlErrors, "error ratio per second"
		if l := in.Limits.Errors; l != nil {
			limit, haveLimit = *l, true
		}
		pick := func(series []SLISecond, bad, total *int64) []float64 {
			var v []float64
			for _, sec := range series {
				if sec.Total > 0 && keep(sec) {
					v = append(v, float64(sec.Bad)/float64(sec.Total))
					*bad += sec.Bad
					*total += sec.Total
				}
			}
			return v
		}
		xs = pick(in.Experiment[s.Name], &c.ExperimentBad, &c.ExperimentTotal)
		ys = pick(in.Control[s.Name], &c.ControlBad, &c.ControlTotal)
	}
	if haveLimit {
		c.Limit = &limit
	}
	c.ControlN, c.ExperimentN = len(ys), len(xs)
	c.ControlMedian, c.ExperimentMedian = stats.Median(ys), stats.Median(xs)
	c.ControlSLOVerdict = sloVerdict(in.ControlSLOs, s.Name)
	c.Excused = haveLimit && c.ControlSLOVerdict == report.Fail && sloVerdict(in.ExperimentSLOs, s.Name) == report.Fail

	if len(xs) < MinControlSeconds || len(ys) < MinControlSeconds {
		c.Reason = fmt.Sprintf("too few seconds to compare: %d in the control run, %d in the experiment (at least %d each)", len(ys), len(xs), MinControlSeconds)
		if faultsOnly && len(xs) == 0 {
			c.Reason += "; judge: faults compares only the seconds the faults caused, and there were none"
		}
		if haveLimit {
			c.Verdict = report.Inconclusive
		}
		return c
	}
	mw, err := stats.MannWhitneyU(xs, ys)
	if err != nil { // not reached: both samples have values, all finite
		c.Reason = err.Error()
		if haveLimit {
			c.Verdict = report.Inconclusive
		}
		return c
	}
	c.U, c.P, c.Exact = mw.U, mw.P, mw.Exact
	c.Significant = mw.P < ControlAlpha
	var effect string
	if c.Kind == report.ControlLatency {
		hl, _ := stats.HodgesLehmann(xs, ys, ControlConfidence)
		c.Shift, c.Low, c.High = hl.Estimate, hl.Low, hl.High
		effect = fmt.Sprintf("%s shifted %s (95 %% CI %s to %s) from %s to %s",
			c.Series[:strings.Index(c.Series, " per")], signedDur(c.Shift), signedDur(c.Low), signedDur(c.High), durText(c.ControlMedian), durText(c.ExperimentMedian))
	} else {
		var iv stats.Interval
		c.Shift, iv = stats.NewcombeDiff(int(c.ExperimentBad), int(c.ExperimentTotal), int(c.ControlBad), int(c.ControlTotal), ControlConfidence)
		c.Low, c.High = iv.Low, iv.High
		c.ControlRatio = float64(c.ControlBad) / float64(c.ControlTotal)
		c.ExperimentRatio = float64(c.ExperimentBad) / float64(c.ExperimentTotal)
		effect = fmt.Sprintf("error ratio changed %s (95 %% CI %s to %s) from %s to %s",
			signedPct(c.Shift), signedPct(c.Low), signedPct(c.High), pctText(c.ControlRatio), pctText(c.ExperimentRatio))
	}
	test := fmt.Sprintf("p = %s over %d and %d seconds", report.PValueText(c.P), len(ys), len(xs))
	if !haveLimit {
		c.Reason = effect + ", " + test
		return c
	}
	limitText := limitString(c.Kind, limit)
	switch {
	case c.Significant && c.Low > limit:
		c.Verdict = report.Fail
		c.Reason = fmt.Sprintf("%s, %s: significant, and the whole interval lies above the %s limit", effect, test, limitText)
	case c.Significant && c.Shift > 0:
		c.Verdict = report.Pass
		c.Reason = fmt.Sprintf("%s, %s: significant, but the interval reaches down to %s, within the %s limit", effect, test, limitValue(c.Kind, c.Low), limitText)
	default:
		c.Verdict = report.Pass
		c.Reason = fmt.Sprintf("%s, %s: no significant degradation (limit %s)", effect, test, limitText)
	}
	if c.Excused {
		c.Reason += "; the SLO failed in the control run too, so this rule decides for it"
	}
	return c
}

func sloVerdict(rs []report.SLOResult, name string) string {
	for _, r := range rs {
		if r.Name == name {
			return r.Verdict
		}
	}
	return ""
}

// quantileName names an objective's quantile: "p99" for 0.99, "p99.9".
func quantileName(objective float64) string {
	return "p" + strconv.FormatFloat(math.Round(objective*100*1e6)/1e6, 'f', -1, 64)
}

func durText(secs float64) string {
	return time.Duration(math.Round(secs * 1e9)).Round(10 * time.Microsecond).String()
}

func signedDur(secs float64) string {
	if secs >= 0 {
		return "+" + durText(secs)
	}
	return "-" + durText(-secs)
}

func pctText(f float64) string {
	return strconv.FormatFloat(math.Round(f*100*1e3)/1e3, 'f', -1, 64) + "%"
}

func signedPct(f float64) string {
	if f >= 0 {
		return "+" + pctText(f)
	}
	return "-" + pctText(-f)
}

func limitString(kind string, limit float64) string {
	if kind == report.ControlLatency {
		return durText(limit)
	}
	return pctText(limit)
}

func limitValue(kind string, v float64) string {
	if kind == report.ControlLatency {
		return signedDur(v)
	}
	return signedPct(v)
}
