package judge

import (
	"fmt"
	"sort"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// Probes judges every probe of the spec in its phases (see the package
// documentation for the windows).
func (j *Judge) Probes() []report.ProbeResult {
	first, last, haveFaults := j.faultSpan()
	if !haveFaults {
		first, last = j.spec.Measured, j.spec.Measured
	}
	w := phaseWindows{
		first: secOf(first), last: secOf(last),
		lastEnd: last, haveFaults: haveFaults,
		window: secOf(max(j.spec.Window, time.Second)), recoveryWithin: j.spec.RecoveryWithin,
		measured: j.spec.Measured,
	}
	var out []report.ProbeResult
	for _, p := range j.spec.Probes {
		if p.Source == FromSeries {
			out = append(out, w.judge(p, j.seriesEval(p))...)
			continue
		}
		out = append(out, w.judge(p, j.workloadEval(p))...)
	}
	return out
}

// faultSpan is the measured period from the first fault's start to the last
// fault's end; ok false without faults.
func (j *Judge) faultSpan() (first, last time.Duration, ok bool) {
	for i, f := range j.spec.Faults {
		if i == 0 || f.Start < first {
			first = f.Start
		}
		if i == 0 || f.End > last {
			last = f.End
		}
		ok = true
	}
	return first, last, ok
}

func secOf(d time.Duration) int { return int(d / time.Second) }

// evaluator judges a probe over the seconds [from, to) in a phase; eachSecond
// judges every second of [from, to) on its own (for "during").
type evaluator struct {
	window     func(phase string, from, to int) report.ProbeResult
	eachSecond func(from, to int) report.ProbeResult
}

// phaseWindows are a run's probe windows, in measured seconds.
type phaseWindows struct {
	first, last, window int
	lastEnd             time.Duration
	haveFaults          bool
	recoveryWithin      time.Duration
	measured            time.Duration
}

// judge returns p's results: before, then after and during when there are
// faults.
func (w phaseWindows) judge(p Probe, ev evaluator) []report.ProbeResult {
	out := []report.ProbeResult{ev.window(PhaseBefore, w.first-w.window, w.first)}
	if !w.haveFaults {
		return out
	}
	// After: the first window, starting within recoveryWithin of the last
	// fault's end, in which the probe holds.
	start, limit := secOf(w.lastEnd+time.Second-1), secOf(w.lastEnd+w.recoveryWithin)
	res := firstHolding(start, limit, func(s int) report.ProbeResult { return ev.window("after", s, s+w.window) })
	switch {
	case res.Samples == 0 && p.Source == FromWorkload:
		res.Reason = fmt.Sprintf("no complete second of workload after the last fault ended at +%s (the workload ends at +%s): give the workload time to recover", w.lastEnd, w.measured)
	case res.Verdict == report.Fail:
		res.Reason += fmt.Sprintf(" in every window starting within recoveryWithin %s of the last fault", w.recoveryWithin)
	}
	out = append(out, res)
	if p.During {
		out = append(out, ev.eachSecond(w.first, w.last))
	}
	return out
}

// firstHolding judges the windows starting at seconds start..limit in order
// and returns the first in which the probe holds; else the last window that
// had samples and failed; else (no samples anywhere) the last, inconclusive.
// A window without samples (a member restarting, a gap) does not end the
// search: recovery may come later within recoveryWithin.
func firstHolding(start, limit int, eval func(start int) report.ProbeResult) report.ProbeResult {
	var failed, last report.ProbeResult
	haveFailed := false
	for s := start; s <= limit; s++ {
		res := eval(s)
		if res.Verdict == report.Pass {
			return res
		}
		if res.Samples > 0 {
			failed, haveFailed = res, true
		}
		last = res
	}
	if haveFailed {
		return failed
	}
	return last
}

// workloadEval judges a FromWorkload probe on the measured, complete
// seconds (a second cut short by the end of the run says little).
func (j *Judge) workloadEval(p Probe) evaluator {
	between := func(from, to int) []Second {
		var out []Second
		for _, s := range j.seconds {
			if !s.Warmup && s.Index >= from && s.Index < to && s.Length >= 900*time.Millisecond {
				out = append(out, s)
			}
		}
		return out
	}
	return evaluator{
		window: func(phase string, from, to int) report.ProbeResult { return evalWorkload(p, phase, between(from, to)) },
		eachSecond: func(from, to int) report.ProbeResult {
			// The worst second: the first that fails, else the first.
			during := between(from, to)
			worst := report.ProbeResult{Name: p.Name, Phase: "during", Metric: p.Metric, Verdict: report.Inconclusive, Reason: "no complete second during the faults"}
			for i := range during {
				res := evalWorkload(p, "during", during[i:i+1])
				if worst.Verdict != report.Fail && (res.Verdict == report.Fail || worst.Samples == 0) {
					worst = res
				}
				worst.Samples = len(during)
			}
			return worst
		},
	}
}

// evalWorkload judges a workload-metric probe over a window of seconds.
func evalWorkload(p Probe, phase string, window []Second) report.ProbeResult {
	out := report.ProbeResult{Name: p.Name, Phase: phase, Metric: p.Metric, Samples: len(window), Bound: p.Bound}
	if len(window) == 0 {
		out.Verdict, out.Reason = report.Inconclusive, "no samples in the window"
		return out
	}
	var total, bad, ok, dropped int64
	var length, worst time.Duration
	for _, s := range window {
		total += s.Total
		bad += s.Bad
		ok += s.OK
		dropped += s.Dropped
		length += s.Length
		var q time.Duration
		switch p.Metric {
		case MetricLatencyP50:
			q = s.P50
		case MetricLatencyP90:
			q = s.P90
		case MetricLatencyP99:
			q = s.P99
		case MetricLatencyP999:
			q = s.P999
		}
		worst = max(worst, q)
	}
	switch p.Metric {
	case MetricThroughput:
		out.Value = float64(ok) / length.Seconds()
	case MetricErrorRatio:
		if total == 0 {
			out.Verdict, out.Reason = report.Inconclusive, "no completed requests in the window"
			return out
		}
		out.Value = float64(bad) / float64(total)
	case MetricDropped:
		out.Value = float64(dropped)
	default: // latency: the worst second's percentile in the window
		if ok == 0 {
			out.Verdict, out.Reason = report.Inconclusive, "no successful requests in the window"
			return out
		}
		out.Value = worst.Seconds()
	}
	out.Verdict, out.Reason = report.Pass, fmt.Sprintf("%s = %.4g over %d s", p.Metric, out.Value, len(window))
	if p.Max != nil && out.Value > *p.Max {
		out.Verdict, out.Reason = report.Fail, fmt.Sprintf("%s = %.4g exceeds max %.4g over %d s", p.Metric, out.Value, *p.Max, len(window))
	}
	if p.Min != nil && out.Value < *p.Min {
		out.Verdict, out.Reason = report.Fail, fmt.Sprintf("%s = %.4g below min %.4g over %d s", p.Metric, out.Value, *p.Min, len(window))
	}
	return out
}

// seriesEval judges a FromSeries probe on its samples, in second order.
func (j *Judge) seriesEval(p Probe) evaluator {
	series := append([]Sample(nil), j.series[p.Name]...)
	sort.SliceStable(series, func(a, b int) bool { return series[a].Index < series[b].Index })
	between := func(from, to int) []Sample {
		var out []Sample
		for _, s := range series {
			if s.Index >= from && s.Index < to {
				out = append(out, s)
			}
		}
		return out
	}
	return evaluator{
		window:     func(phase string, from, to int) report.ProbeResult { return evalSeries(p, phase, between(from, to)) },
		eachSecond: func(from, to int) report.ProbeResult { return evalSeries(p, "during", between(from, to)) },
	}
}

// evalSeries judges a series probe over the samples of a window: it holds
// when every second with a value is within bounds (and the check answered
// right); the reported value is the worst one.
func evalSeries(p Probe, phase string, window []Sample) report.ProbeResult {
	out := report.ProbeResult{Name: p.Name, Phase: phase, Metric: p.Metric, Bound: p.Bound}
	first := true
	note := ""
	out.Verdict = report.Pass
	for _, s := range window {
		if !s.Have {
			note = s.Note
			continue
		}
		out.Samples++
		bad := !s.OK || (p.Max != nil && s.Value > *p.Max) || (p.Min != nil && s.Value < *p.Min)
		worse := first || (p.Min != nil && s.Value < out.Value) || (p.Min == nil && s.Value > out.Value)
		if bad && out.Verdict != report.Fail {
			out.Verdict, out.Value = report.Fail, s.Value
			out.Reason = fmt.Sprintf("second %d: %.4g outside %s", s.Index, s.Value, out.Bound)
			if s.Note != "" {
				out.Reason = fmt.Sprintf("second %d: %s", s.Index, s.Note)
			}
		} else if out.Verdict != report.Fail && worse {
			out.Value = s.Value
		}
		first = false
	}
	switch {
	case out.Samples == 0:
		out.Verdict, out.Reason = report.Inconclusive, "no samples in the window"
		if note != "" {
			out.Reason += ": " + note
		}
	case out.Verdict == report.Pass:
		out.Reason = fmt.Sprintf("worst %.4g over %d s, within %s", out.Value, out.Samples, out.Bound)
	}
	return out
}
