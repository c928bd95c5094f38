package experiments

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/probes/workload"
	"github.com/chaosctl/chaosctl/slo"
)

// latencyThresholds are the latency SLOs' thresholds, counted exactly by the
// workload.
func (r *runState) latencyThresholds() []time.Duration {
	var out []time.Duration
	for _, s := range r.e.SLOs {
		if s.SLI == SLILatency {
			out = append(out, s.Threshold)
		}
	}
	return out
}

// summarize turns the workload's measured phase into the workload section and
// the SLO budgets.
func (r *runState) summarize(sum *workload.Summary) {
	m := sum.Measured.All
	wl := &r.res.Workload
	wl.Rate, wl.Duration, wl.Warmup = r.e.Workload.Rate, r.e.Workload.Duration.String(), r.e.Workload.Warmup.String()
	wl.Requests, wl.Errors, wl.Dropped, wl.ErrorRatio = m.Total, m.Bad(), m.Dropped, m.ErrorRatio()
	if m.Latency != nil && m.Latency.TotalCount() > 0 {
		wl.LatencyP50 = workload.LatencyAt(m.Latency, 50).Seconds()
		wl.LatencyP99 = workload.LatencyAt(m.Latency, 99).Seconds()
		wl.LatencyP999 = workload.LatencyAt(m.Latency, 99.9).Seconds()
	}
	for _, s := range r.e.SLOs {
		r.res.SLOs = append(r.res.SLOs, r.sloResult(s, sum))
	}
}

// opStats sums the workload's measured stats for an SLO's op ("" all, read,
// write).
func opStats(sum *workload.Summary, op string) *workload.OpStats {
	switch op {
	case OpRead:
		if s := sum.Measured.Ops[workload.OpGet]; s != nil {
			return s
		}
	case OpWrite:
		out := &workload.OpStats{Latency: workload.NewLatencyHistogram(), SlowerThan: map[time.Duration]int64{}}
		for _, k := range []workload.OpKind{workload.OpPut, workload.OpDelete} {
			if s := sum.Measured.Ops[k]; s != nil {
				out.Merge(s)
			}
		}
		return out
	case "":
		return sum.Measured.All
	default:
		if s := sum.Measured.Classes[op]; s != nil {
			return s // a request class of an HTTP workload
		}
	}
	return &workload.OpStats{}
}

// sloResult computes one SLO's budget over the measured period. A request the
// generator dropped (could not send on time) is a bad event: the user intended
// it, so an overloaded generator cannot hide an overloaded system.
func (r *runState) sloResult(s SLO, sum *workload.Summary) report.SLOResult {
	st := opStats(sum, s.Op)
	out := report.SLOResult{Name: s.Name, SLI: string(s.SLI), Op: s.Op, Objective: float64(s.Objective)}
	var b slo.Budget
	switch s.SLI {
	case SLIAvailability:
		b = slo.Budget{Objective: float64(s.Objective), Total: st.Total + st.Dropped, Bad: st.Bad() + st.Dropped}
	case SLILatency:
		out.Threshold = s.Threshold.String()
		b = slo.Budget{Objective: float64(s.Objective), Total: st.OK + st.Dropped, Bad: st.SlowerThan[s.Threshold] + st.Dropped}
	default:
		out.Verdict, out.Reason = report.Inconclusive, fmt.Sprintf("%s SLIs need a Prometheus server; they are not measured by this version", s.SLI)
		return out
	}
	out.Total, out.Bad = b.Total, b.Bad
	out.Budget, out.BurnRate = b.Allowed(), b.BurnRate()
	out.Consumed = finite(b.Consumed())
	out.Remaining = 1 - out.Consumed
	v, reason := b.Verdict()
	out.Verdict, out.Reason = string(v), reason
	return out
}

func finite(f float64) float64 {
	if math.IsInf(f, 1) || math.IsNaN(f) {
		return math.MaxFloat64
	}
	return f
}

// judge evaluates steady state and checks, then sets the verdict and reason.
func (r *runState) judge(runErr error) {
	r.judgeSteadyState()
	r.runChecks()
	res := r.res
	switch {
	case errors.Is(runErr, ErrInterrupted):
		res.Verdict, res.Reason = report.Inconclusive, "interrupted before the end; every fault was reverted"
		return
	case runErr != nil && res.Workload.Requests == 0:
		res.Verdict, res.Reason = report.Inconclusive, "the run did not complete: "+runErr.Error()
		return
	}
	var fails, inconclusive []string
	for _, s := range res.SLOs {
		switch s.Verdict {
		case report.Fail:
			fails = append(fails, fmt.Sprintf("SLO %s: %s", s.Name, s.Reason))
		case report.Inconclusive:
			inconclusive = append(inconclusive, fmt.Sprintf("SLO %s: %s", s.Name, s.Reason))
		}
	}
	for _, p := range res.Probes {
		switch p.Verdict {
		case report.Fail:
			fails = append(fails, fmt.Sprintf("probe %s (%s): %s", p.Name, p.Phase, p.Reason))
		case report.Inconclusive:
			inconclusive = append(inconclusive, fmt.Sprintf("probe %s (%s): %s", p.Name, p.Phase, p.Reason))
		}
	}
	for _, c := range res.Checks {
		switch c.Verdict {
		case report.Fail:
			fails = append(fails, fmt.Sprintf("check %s: %s", c.Name, c.Detail))
		case report.Inconclusive:
			inconclusive = append(inconclusive, fmt.Sprintf("check %s: %s", c.Name, c.Detail))
		}
	}
	for _, f := range res.Faults {
		if f.Error != "" {
			inconclusive = append(inconclusive, fmt.Sprintf("fault %s: %s", f.Name, f.Error))
		}
	}
	switch {
	case res.StopCondition != nil:
		res.Verdict, res.Reason = report.Fail, "stop condition: "+res.StopCondition.Reason
	case len(fails) > 0:
		res.Verdict, res.Reason = report.Fail, report.JoinReasons(fails)
	case len(inconclusive) > 0:
		res.Verdict, res.Reason = report.Inconclusive, report.JoinReasons(inconclusive)
	case len(res.SLOs)+len(res.Probes)+len(res.Checks) == 0:
		res.Verdict, res.Reason = report.Inconclusive, "nothing to judge: the experiment has no SLOs, probes or checks"
	default:
		res.Verdict, res.Reason = report.Pass, fmt.Sprintf("%d SLOs within budget, %d probe judgements and %d checks held", len(res.SLOs), len(res.Probes), len(res.Checks))
	}
}

// faultSpan is the measured seconds from the first fault's start to the last
// fault's end (indices from the end of warmup); ok false without faults.
func (r *runState) faultSpan() (first, last time.Duration, ok bool) {
	for i, pf := range r.plan.Faults {
		s, e := pf.Start-r.plan.Warmup, pf.End-r.plan.Warmup
		if i == 0 || s < first {
			first = s
		}
		if i == 0 || e > last {
			last = e
		}
		ok = true
	}
	return first, last, ok
}

// judgeSteadyState evaluates the steady-state probes on workload metrics:
// before the first fault over the window, after the last fault within
// recoveryWithin (the first window after it in which the probe holds), and
// during the faults (every second) for probes that ask.
func (r *runState) judgeSteadyState() {
	ss := r.e.SteadyState
	if len(ss.Probes) == 0 {
		return
	}
	r.mu.Lock()
	seconds := append([]secondSample(nil), r.seconds...)
	r.mu.Unlock()
	var measured []secondSample
	for _, s := range seconds {
		if !s.Warmup {
			measured = append(measured, s)
		}
	}
	first, last, haveFaults := r.faultSpan()
	if !haveFaults {
		first, last = r.plan.Duration, r.plan.Duration
	}
	window := max(ss.Window, time.Second)
	secOf := func(d time.Duration) int { return int(d / time.Second) }
	between := func(from, to int) []secondSample {
		var out []secondSample
		for _, s := range measured {
			if s.Index >= from && s.Index < to && s.Length >= 900*time.Millisecond {
				out = append(out, s)
			}
		}
		return out
	}
	for _, p := range ss.Probes {
		if p.Prometheus != nil || p.HTTP != nil || p.TCP != nil || p.Metric.Scraped() {
			r.judgeSeriesProbe(p, first, last, haveFaults, window)
			continue
		}
		// Before: the window that ends where the first fault starts.
		before := between(secOf(first)-secOf(window), secOf(first))
		r.res.Probes = append(r.res.Probes, evalProbe(p, "before", before))
		if haveFaults {
			// After: the first window, starting within recoveryWithin of the
			// last fault's end, in which the probe holds.
			start, limit := secOf(last+time.Second-1), secOf(last+ss.RecoveryWithin)
			res := firstHolding(start, limit, func(s int) report.ProbeResult {
				return evalProbe(p, "after", between(s, s+secOf(window)))
			})
			if res.Samples == 0 {
				res.Reason = fmt.Sprintf("no complete second of workload after the last fault ended at +%s (the workload ends at +%s): give the workload time to recover", last, r.plan.Duration)
			} else if res.Verdict == report.Fail {
				res.Reason += fmt.Sprintf(" in every window starting within recoveryWithin %s of the last fault", ss.RecoveryWithin)
			}
			r.res.Probes = append(r.res.Probes, res)
		}
		if p.During && haveFaults {
			during := between(secOf(first), secOf(last))
			worst := report.ProbeResult{Name: p.Name, Phase: "during", Metric: string(p.Metric), Verdict: report.Inconclusive, Reason: "no complete second during the faults"}
			for i := range during {
				res := evalProbe(p, "during", during[i:i+1])
				if worst.Verdict != report.Fail && (res.Verdict == report.Fail || worst.Samples == 0) {
					worst = res
				}
				worst.Samples = len(during)
			}
			r.res.Probes = append(r.res.Probes, worst)
		}
	}
}

// evalProbe judges a workload-metric probe over a window of seconds.
func evalProbe(p Probe, phase string, window []secondSample) report.ProbeResult {
	out := report.ProbeResult{Name: p.Name, Phase: phase, Metric: string(p.Metric), Samples: len(window), Bound: boundsText(p.Max, p.Min)}
	if len(window) == 0 {
		out.Verdict, out.Reason = report.Inconclusive, "no samples in the window"
		return out
	}
	var total, bad, ok, dropped int64
	var length time.Duration
	var worst time.Duration
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
	if p.Max != nil && out.Value > p.Max.Value {
		out.Verdict, out.Reason = report.Fail, fmt.Sprintf("%s = %.4g exceeds max %.4g over %d s", p.Metric, out.Value, p.Max.Value, len(window))
	}
	if p.Min != nil && out.Value < p.Min.Value {
		out.Verdict, out.Reason = report.Fail, fmt.Sprintf("%s = %.4g below min %.4g over %d s", p.Metric, out.Value, p.Min.Value, len(window))
	}
	return out
}

// runChecks runs the consistency checks on the recorded history.
func (r *runState) runChecks() {
	for _, c := range r.e.Checks {
		switch c {
		case CheckLinearizable:
			r.res.Checks = append(r.res.Checks, r.checkLinearizable())
		case CheckNoLostWrites:
			r.res.Checks = append(r.res.Checks, r.checkNoLostWrites())
		default:
			r.res.Checks = append(r.res.Checks, report.CheckResult{Name: string(c), Verdict: report.Inconclusive,
				Detail: "the " + string(c) + " checker is not available in this version"})
		}
	}
}

// history reads the recorded operations for the checkers.
func (r *runState) history() ([]slo.Op, error) {
	f, err := os.Open(filepath.Join(r.dir, "history.ndjson"))
	if err != nil {
		return nil, fmt.Errorf("no history: %w", err)
	}
	defer f.Close()
	var ops []slo.Op
	err = workload.ReadHistory(f, func(h workload.HistoryOp) error {
		ops = append(ops, slo.OpFromHistory(h))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	return ops, nil
}

func (r *runState) checkNoLostWrites() report.CheckResult {
	out := report.CheckResult{Name: string(CheckNoLostWrites)}
	ops, err := r.history()
	if err != nil || r.final == nil {
		out.Verdict, out.Detail = report.Inconclusive, "no read-back after the run"
		if err != nil {
			out.Detail = err.Error()
		}
		return out
	}
	t0 := time.Now()
	res := slo.CheckNoLostWrites(ops, r.final)
	out.Verdict, out.Detail, out.Keys = string(res.Verdict), res.Detail, res.Keys
	out.Operations = res.Acknowledged
	out.Took = time.Since(t0).Round(time.Millisecond).String()
	for k, n := range res.ByKind {
		out.Anomalies += n
		if n > 0 {
			if out.ByKind == nil {
				out.ByKind = map[string]int{}
			}
			out.ByKind[k] = n
		}
	}
	for _, a := range res.Anomalies {
		out.Listed = append(out.Listed, fmt.Sprintf("%s: key %s op %d wrote %q, read %q", a.Kind, a.Key, a.Op, a.Value, a.Found))
	}
	return out
}

func (r *runState) checkLinearizable() report.CheckResult {
	out := report.CheckResult{Name: string(CheckLinearizable)}
	ops, err := r.history()
	if err != nil {
		out.Verdict, out.Detail = report.Inconclusive, err.Error()
		return out
	}
	res := slo.CheckLinearizable(ops, r.checkBudget())
	out.Verdict, out.Detail, out.Operations, out.Keys = string(res.Verdict), res.Detail, res.Operations, res.Keys
	for i, v := range res.Violations {
		if i == slo.MaxListed {
			break
		}
		out.Listed = append(out.Listed, v.String())
	}
	if res.Verdict == slo.Fail {
		// porcupine's visualisation of the keys that cannot be ordered.
		path := filepath.Join(r.dir, "linearizability.html")
		if err := slo.WriteVisualization(res, path); err != nil {
			r.log.WithError(err).Warn("write the linearizability visualisation")
		} else {
			out.Detail += " (see linearizability.html)"
		}
	}
	out.Took = res.Took.Round(time.Millisecond).String()
	out.Anomalies = len(res.BadKeys)
	if len(res.BadKeys) > 0 {
		out.ByKind = map[string]int{"non-linearizable keys": len(res.BadKeys)}
	}
	return out
}

// judgeSeriesProbe judges a scraped, prometheus or http probe in the same
// windows as the workload probes.
func (r *runState) judgeSeriesProbe(p Probe, first, last time.Duration, haveFaults bool, window time.Duration) {
	series := r.seriesFor(p)
	secOf := func(d time.Duration) int { return int(d / time.Second) }
	between := func(from, to int) []probeSample {
		var out []probeSample
		for _, s := range series {
			if s.Index >= from && s.Index < to {
				out = append(out, s)
			}
		}
		return out
	}
	r.res.Probes = append(r.res.Probes, evalSeries(p, "before", between(secOf(first)-secOf(window), secOf(first))))
	if !haveFaults {
		return
	}
	rw := r.e.SteadyState.RecoveryWithin
	start, limit := secOf(last+time.Second-1), secOf(last+rw)
	res := firstHolding(start, limit, func(s int) report.ProbeResult {
		return evalSeries(p, "after", between(s, s+secOf(window)))
	})
	if res.Verdict == report.Fail {
		res.Reason += fmt.Sprintf(" in every window starting within recoveryWithin %s of the last fault", rw)
	}
	r.res.Probes = append(r.res.Probes, res)
	if p.During {
		r.res.Probes = append(r.res.Probes, evalSeries(p, "during", between(secOf(first), secOf(last))))
	}
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

// checkBudget is the linearizability checker's time budget (--check-budget,
// default 30 s); when it runs out the check is inconclusive, never pass.
func (r *runState) checkBudget() time.Duration {
	if r.opts.CheckBudget > 0 {
		return r.opts.CheckBudget
	}
	return DefaultCheckBudget
}
