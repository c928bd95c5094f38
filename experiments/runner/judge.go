package runner

import (
	"errors"
	"fmt"
	"github.com/chaosctl/chaosctl/internal/hostload"
	"os"
	"path/filepath"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/probes/workload"
	"github.com/chaosctl/chaosctl/slo"
	"github.com/chaosctl/chaosctl/slo/judge"
)

// latencyThresholds are the latency SLOs' thresholds, counted exactly by the
// workload.
func (r *runState) latencyThresholds() []time.Duration {
	var out []time.Duration
	for _, s := range r.e.SLOs {
		if s.SLI == experiments.SLILatency {
			out = append(out, s.Threshold)
		}
	}
	return out
}

// judgeSpec is what the judge judges this run against.
func (r *runState) judgeSpec() judge.Spec {
	e := r.e
	spec := judge.Spec{
		Window: e.SteadyState.Window, RecoveryWithin: e.SteadyState.RecoveryWithin,
		Measured: r.plan.Duration, BurnRate: e.Abort.BurnRate, BurnWindow: e.Abort.Window,
	}
	for _, s := range e.SLOs {
		spec.SLOs = append(spec.SLOs, judgeSLO(s))
	}
	for _, p := range e.SteadyState.Probes {
		jp, _ := r.probeOf(p)
		spec.Probes = append(spec.Probes, jp)
	}
	for _, pf := range r.plan.Faults {
		spec.Faults = append(spec.Faults, judge.FaultWindow{Name: pf.Name, Start: pf.Start - r.plan.Warmup, End: pf.End - r.plan.Warmup})
	}
	return spec
}

func judgeSLO(s experiments.SLO) judge.SLO {
	return judge.SLO{Name: s.Name, SLI: string(s.SLI), Op: s.Op, Objective: float64(s.Objective), Threshold: s.Threshold, Judge: string(s.Judge)}
}

// appliedWindows are the faults' actual windows, as offsets from measured
// (the end of warmup), for the attribution: from when each fault was applied
// to when it was reverted; a fault not reverted yet (the run stopped early,
// its revert failed, or it lasts to the end of the workload) lasted to the
// end of the measured period, and an instantaneous one (a restart) is
// reverted only then, so its window is its instant. A fault never applied
// has no window. Callers hold r.mu.
func (r *runState) appliedWindows(measured time.Time) []judge.FaultWindow {
	var out []judge.FaultWindow
	for _, pf := range r.plan.Faults {
		fr := r.faults[pf.Name]
		if fr == nil || fr.Applied == nil {
			continue
		}
		w := judge.FaultWindow{Name: pf.Name, Start: fr.Applied.Sub(measured)}
		switch {
		case fr.Reverted != nil:
			w.End = fr.Reverted.Sub(measured)
		case pf.End == pf.Start:
			w.End = w.Start
		default:
			w.End = max(w.Start, r.plan.Duration)
		}
		out = append(out, w)
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
	if r.e.Workload.Kind == experiments.WorkloadLock && sum.Measured.Length > 0 {
		// A closed loop has no configured rate: the one it reached.
		wl.Rate = float64(m.Total) / sum.Measured.Length.Seconds()
	}
	if m.Latency != nil && m.Latency.TotalCount() > 0 {
		wl.LatencyP50 = workload.LatencyAt(m.Latency, 50).Seconds()
		wl.LatencyP99 = workload.LatencyAt(m.Latency, 99).Seconds()
		wl.LatencyP999 = workload.LatencyAt(m.Latency, 99.9).Seconds()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.judge.UseAppliedFaults(r.appliedWindows(sum.Start.Add(r.plan.Warmup)))
	for _, s := range r.e.SLOs {
		r.res.SLOs = append(r.res.SLOs, r.judge.Budget(judgeSLO(s), sloTally(sum.Measured.All, sum.Measured.Ops, sum.Measured.Classes, s.Op)))
	}
}

// sloTally counts the requests of an SLO's op ("" all, read, write, or a
// request class of an HTTP workload) in a second or the measured period.
func sloTally(all *workload.OpStats, ops map[workload.OpKind]*workload.OpStats, classes map[string]*workload.OpStats, op string) judge.Tally {
	t := judge.Tally{SlowerThan: map[time.Duration]int64{}}
	add := func(s *workload.OpStats) {
		if s == nil {
			return
		}
		t.Total, t.OK, t.Bad, t.Dropped = t.Total+s.Total, t.OK+s.OK, t.Bad+s.Bad(), t.Dropped+s.Dropped
		for th, n := range s.SlowerThan {
			t.SlowerThan[th] += n
		}
	}
	switch op {
	case experiments.OpRead, experiments.OpGet:
		add(ops[workload.OpGet])
	case experiments.OpWrite:
		add(ops[workload.OpPut])
		add(ops[workload.OpDelete])
		add(ops[workload.OpIncr])
		add(ops[workload.OpAdd])
		add(ops[workload.OpRemove])
	case experiments.OpPut:
		add(ops[workload.OpPut])
	case experiments.OpDelete:
		add(ops[workload.OpDelete])
	case experiments.OpScan:
		add(ops[workload.OpScan])
	case "":
		add(all)
	default:
		add(classes[op])
	}
	return t
}

// sloQuantile is the latency at a latency SLO's objective quantile of the
// successes of its op in one second (0 without any): the per-second value
// a control run compares.
func sloQuantile(s experiments.SLO, sec *workload.Second) time.Duration {
	var hs []*workload.OpStats
	switch s.Op {
	case experiments.OpRead, experiments.OpGet:
		hs = append(hs, sec.Ops[workload.OpGet])
	case experiments.OpWrite:
		hs = append(hs, sec.Ops[workload.OpPut], sec.Ops[workload.OpDelete], sec.Ops[workload.OpIncr], sec.Ops[workload.OpAdd], sec.Ops[workload.OpRemove])
	case experiments.OpPut:
		hs = append(hs, sec.Ops[workload.OpPut])
	case experiments.OpDelete:
		hs = append(hs, sec.Ops[workload.OpDelete])
	case experiments.OpScan:
		hs = append(hs, sec.Ops[workload.OpScan])
	case "":
		hs = append(hs, sec.All)
	default:
		hs = append(hs, sec.Classes[s.Op])
	}
	var h *hdrhistogram.Histogram
	for _, st := range hs {
		switch {
		case st == nil || st.Latency == nil || st.Latency.TotalCount() == 0:
		case h == nil:
			h = st.Latency
		default:
			merged := workload.NewLatencyHistogram()
			merged.Merge(h)
			merged.Merge(st.Latency)
			h = merged
		}
	}
	return workload.LatencyAt(h, 100*float64(s.Objective))
}

// compareControl compares the run with its control run (RunOptions.Control).
// Callers hold no lock.
func (r *runState) compareControl() {
	b := r.opts.Control
	if b == nil {
		return
	}
	in := judge.ControlInput{Control: b.Series, Experiment: map[string][]judge.SLISecond{}, Dir: b.Dir,
		ExperimentSLOs: r.res.SLOs, Limits: b.Limits}
	if b.Result != nil {
		in.ControlSLOs, in.ControlVerdict, in.ControlReason = b.Result.SLOs, b.Result.Verdict, b.Result.Reason
	}
	r.mu.Lock()
	for _, s := range r.e.SLOs {
		js := judgeSLO(s)
		in.SLOs = append(in.SLOs, js)
		in.Experiment[s.Name] = r.judge.Series(js)
	}
	in.CausedByFaults = r.judge.CausedByFaults
	r.res.Control = judge.CompareControl(in)
	r.mu.Unlock()
}

// series is every burned SLO's per-second series, by SLO name.
func (r *runState) series() map[string][]judge.SLISecond {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]judge.SLISecond{}
	for _, s := range r.e.SLOs {
		if ser := r.judge.Series(judgeSLO(s)); ser != nil {
			out[s.Name] = ser
		}
	}
	return out
}

// verdict judges steady state and checks, then sets the verdict and reason.
func (r *runState) verdict(runErr error) {
	r.feedScrapedProbes()
	r.mu.Lock()
	r.res.Probes = append(r.res.Probes, r.judge.Probes()...)
	r.mu.Unlock()
	r.runChecks()
	r.compareControl()
	res := r.res
	if res.Host != nil {
		res.Host.End = hostload.Read()
	}
	o := judge.Outcome{
		SLOs: res.SLOs, Probes: res.Probes, Checks: res.Checks, Faults: res.Faults, Stop: res.StopCondition, Control: res.Control,
		Interrupted: errors.Is(runErr, ErrInterrupted), Requests: res.Workload.Requests,
		ReceiptsWarn: r.e.Receipts == experiments.ReceiptsWarn, Host: res.Host.String(),
	}
	if runErr != nil {
		o.RunError = runErr.Error()
	}
	res.Verdict, res.Reason = judge.Decide(o)
	if p := r.actionProblem(); p != "" && res.Verdict == report.Pass {
		res.Verdict, res.Reason = report.Inconclusive, p+"; the run did not do what the file says"
	}
	if p := r.crash.Load(); p != nil && !anyStillApplied(res.Faults) {
		// Whatever was measured before the crash, the run did not end as
		// planned: never a pass. A fault left in place says more.
		res.Verdict, res.Reason = report.Inconclusive, fmt.Sprintf("chaosctl crashed (%v); every fault was reverted", p)
	}
}

func anyStillApplied(faults []report.FaultResult) bool {
	for _, f := range faults {
		if f.StillApplied {
			return true
		}
	}
	return false
}

// runChecks runs the consistency checks on the recorded history.
func (r *runState) runChecks() {
	for _, c := range r.e.Checks {
		switch c {
		case experiments.CheckLinearizable:
			r.res.Checks = append(r.res.Checks, r.checkLinearizable())
		case experiments.CheckNoLostWrites:
			r.res.Checks = append(r.res.Checks, r.checkNoLostWrites())
		case experiments.CheckMutualExclusion:
			r.res.Checks = append(r.res.Checks, r.checkMutualExclusion())
		case experiments.CheckConverges:
			r.res.Checks = append(r.res.Checks, r.checkConverges())
		case experiments.CheckReadYourWrites:
			r.res.Checks = append(r.res.Checks, r.checkSession(c, slo.CheckReadYourWrites))
		case experiments.CheckMonotonicReads:
			r.res.Checks = append(r.res.Checks, r.checkSession(c, slo.CheckMonotonicReads))
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

func (r *runState) checkMutualExclusion() report.CheckResult {
	out := report.CheckResult{Name: string(experiments.CheckMutualExclusion)}
	ops, detail := r.historyOps()
	if detail != "" {
		out.Verdict, out.Detail = report.Inconclusive, detail
		return out
	}
	t0 := time.Now()
	return MutexCheckResult(slo.CheckMutualExclusion(ops), time.Since(t0))
}

// MutexCheckResult is the report of a mutual-exclusion check (the runner's
// and `chaosctl check`'s).
func MutexCheckResult(res slo.MutexResult, took time.Duration) report.CheckResult {
	out := report.CheckResult{Name: string(experiments.CheckMutualExclusion), Verdict: string(res.Verdict), Detail: res.Detail,
		Operations: res.Writes, Anomalies: res.Total, ByKind: res.ByKind, Took: took.Round(time.Millisecond).String()}
	for _, a := range res.Anomalies {
		out.Listed = append(out.Listed, fmt.Sprintf("%s: %s op %d by client %d under token %d, after op %d by client %d under token %d",
			a.Kind, a.Key, a.Op, a.Client, a.Token, a.Before, a.BeforeClient, a.BeforeToken))
	}
	return out
}

func (r *runState) checkNoLostWrites() report.CheckResult {
	out := report.CheckResult{Name: string(experiments.CheckNoLostWrites)}
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

func (r *runState) checkConverges() report.CheckResult {
	out := report.CheckResult{Name: string(experiments.CheckConverges)}
	ops, detail := r.historyOps()
	if detail != "" {
		out.Verdict, out.Detail = report.Inconclusive, detail
		return out
	}
	if r.crdtFinals == nil {
		out.Verdict, out.Detail = report.Inconclusive, "no read-back after the run"
		return out
	}
	t0 := time.Now()
	res := slo.CheckConverges(ops, r.crdtFinals)
	out.Verdict, out.Detail, out.Keys, out.Operations = string(res.Verdict), res.Detail, res.Values, res.Acknowledged
	out.Took = time.Since(t0).Round(time.Millisecond).String()
	for k, n := range res.ByKind {
		out.Anomalies += n
		if out.ByKind == nil {
			out.ByKind = map[string]int{}
		}
		out.ByKind[k] = n
	}
	for _, a := range res.Anomalies {
		out.Listed = append(out.Listed, a.String())
	}
	return out
}

// checkSession runs a session-guarantee checker on the history.
func (r *runState) checkSession(c experiments.Check, check func([]slo.Op) slo.SessionResult) report.CheckResult {
	out := report.CheckResult{Name: string(c)}
	ops, err := r.history()
	if err != nil {
		out.Verdict, out.Detail = report.Inconclusive, err.Error()
		return out
	}
	t0 := time.Now()
	res := check(ops)
	out.Took = time.Since(t0).Round(time.Millisecond).String()
	return SessionCheckResult(out, res)
}

// SessionCheckResult fills out, named, from a session checker's result (also
// for chaosctl check).
func SessionCheckResult(out report.CheckResult, res slo.SessionResult) report.CheckResult {
	out.Verdict, out.Detail, out.Operations = string(res.Verdict), res.Detail, res.Judged
	out.Anomalies = res.Violations
	if res.Violations > 0 {
		out.ByKind = map[string]int{"stale reads": res.Violations}
	}
	for _, a := range res.Anomalies {
		out.Listed = append(out.Listed, a.String())
	}
	return out
}

func (r *runState) checkLinearizable() report.CheckResult {
	out := report.CheckResult{Name: string(experiments.CheckLinearizable)}
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

// checkBudget is the linearizability checker's time budget (--check-budget,
// default 30 s); when it runs out the check is inconclusive, never pass.
func (r *runState) checkBudget() time.Duration {
	if r.opts.CheckBudget > 0 {
		return r.opts.CheckBudget
	}
	return DefaultCheckBudget
}

// historyOps reads the run's history.ndjson whole, with every field the
// workload wrote (the lock's and the CRDT values' too); detail says why
// it could not.
func (r *runState) historyOps() ([]workload.HistoryOp, string) {
	f, err := os.Open(filepath.Join(r.dir, "history.ndjson"))
	if err != nil {
		return nil, "no history: " + err.Error()
	}
	defer f.Close()
	var ops []workload.HistoryOp
	if err := workload.ReadHistory(f, func(h workload.HistoryOp) error { ops = append(ops, h); return nil }); err != nil {
		return nil, "read history: " + err.Error()
	}
	return ops, ""
}
