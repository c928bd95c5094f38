package judge

import (
	"fmt"
	"math"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/slo"
)

// SLIs the judge computes budgets for.
const (
	SLIAvailability = "availability" // bad: errors and drops
	SLILatency      = "latency"      // bad: successes slower than the threshold, and drops
	SLIRatio        = "ratio"        // good and total from Prometheus (see RatioBudget)
)

// Workload metrics a FromWorkload probe bounds.
const (
	MetricThroughput  = "throughput"
	MetricErrorRatio  = "error_ratio"
	MetricLatencyP50  = "latency_p50"
	MetricLatencyP90  = "latency_p90"
	MetricLatencyP99  = "latency_p99"
	MetricLatencyP999 = "latency_p999"
	MetricDropped     = "dropped"
)

// SLO is one objective.
type SLO struct {
	Name      string
	SLI       string // SLIAvailability, SLILatency or SLIRatio
	Op        string // "", read, write or a request class; only named in the result
	Objective float64
	Threshold time.Duration // latency SLIs
	// Judge is JudgeRun ("" too) or JudgeFaults: which bad events the
	// verdict counts (see attribute).
	Judge string
}

// Tally is the workload's count of one SLO's requests (its op) over a
// second or the whole measured period.
type Tally struct {
	Total, OK, Bad, Dropped int64
	// SlowerThan counts successes slower than each latency SLO's threshold.
	SlowerThan map[time.Duration]int64
	// Quantile is, in a second's tally of a latency SLO, the latency of the
	// second's successes at the SLO's objective (p99 for 99 %): what a
	// control run compares; 0 when the second had no success.
	Quantile time.Duration
}

// Events are an SLO's eligible and bad events.
type Events struct{ Total, Bad int64 }

// Events returns the eligible and bad events of s in t: drops are bad events
// of every SLI; a latency SLI's eligible events are the successes (and drops).
func (s SLO) Events(t Tally) Events {
	if s.SLI == SLILatency {
		return Events{Total: t.OK + t.Dropped, Bad: t.SlowerThan[s.Threshold] + t.Dropped}
	}
	return Events{Total: t.Total + t.Dropped, Bad: t.Bad + t.Dropped}
}

// burned reports whether the judge follows s second by second (its events
// come from the workload).
func (s SLO) burned() bool { return s.SLI == SLIAvailability || s.SLI == SLILatency }

// ProbeSource says what a probe is judged on.
type ProbeSource int

const (
	// FromWorkload probes bound a workload metric of each closed second.
	FromWorkload ProbeSource = iota
	// FromSeries probes are judged on the samples fed with AddSample: a
	// member metric, a PromQL query, an HTTP or TCP check.
	FromSeries
)

// Probe is one steady-state probe.
type Probe struct {
	Name   string
	Source ProbeSource
	// Metric names what is bounded (a workload metric for FromWorkload).
	Metric string
	// Max and Min bound the value (nil: no bound); Bound is their text.
	Max, Min *float64
	Bound    string
	// During also judges the probe while faults are active.
	During bool
}

// FaultWindow is a planned fault's span, in offsets from the start of the
// measured period (after warmup).
type FaultWindow struct {
	Name       string
	Start, End time.Duration
}

// Spec is what the judge judges against.
type Spec struct {
	SLOs   []SLO
	Probes []Probe
	// Window is the steady-state window; RecoveryWithin bounds how long after
	// the last fault the "after" window may start.
	Window, RecoveryWithin time.Duration
	// Faults are the planned faults; Measured is the measured period's length.
	Faults   []FaultWindow
	Measured time.Duration
	// BurnRate > 0 stops the run when an SLO burns faster than it over
	// BurnWindow (abort.burnRate, abort.window).
	BurnRate   float64
	BurnWindow time.Duration
	// Now is the clock of the stop condition (nil: time.Now).
	Now func() time.Time
}

// Second is one closed second of the workload.
type Second struct {
	Index  int // 0: the first measured second
	Warmup bool
	Length time.Duration
	// All requests of the second, for workload probes.
	Total, OK, Bad, Dropped int64
	P50, P90, P99, P999     time.Duration
	// SLOs holds each burned SLO's tally of the second, by SLO name.
	SLOs map[string]Tally
}

// Sample is one second of a FromSeries probe.
type Sample struct {
	Index int
	Have  bool    // the probe produced a value this second
	Value float64 // the metric, query result, or latency in seconds
	OK    bool    // the check answered right (always true for metrics)
	Note  string  // why there is no value, or the check's failure
}

// Burn is an SLO's state after a second.
type Burn struct {
	SLO      string
	BurnRate float64 // over the burn window (BurnWindowText names it)
	Consumed float64 // of the budget of the events so far
	// Bad and Total are the SLO's cumulative bad and eligible events of the
	// measured period up to and including this second: divided by the whole
	// run's budget they give a burn-down that never falls.
	Bad, Total int64
}

// BurnWindowText names the window of the per-second burn rate: "last 5s".
// The one definition of a burn rate is (bad ÷ eligible) ÷ (1 − objective)
// over a window; the judge's is the last BurnWindow seconds (at least one),
// the result's the whole run.
func BurnWindowText(window time.Duration) string {
	return "last " + max(time.Second, window.Truncate(time.Second)).String()
}

// Step is what a closed second changed.
type Step struct {
	Burns []Burn
	// Stop is set on the second the stop condition fires, and only then.
	Stop *report.StopCondition
}

// Judge follows one run. It is not safe for concurrent use: the caller
// serialises AddSecond, AddSample and the final calls.
type Judge struct {
	spec    Spec
	seconds []Second
	series  map[string][]Sample
	burns   []burnState
	stop    *report.StopCondition
	// applied are the faults' actual windows for the attribution, when
	// haveApplied (see UseAppliedFaults).
	applied     []FaultWindow
	haveApplied bool
}

type burnState struct {
	slo        SLO
	recent     []Events // the last BurnWindow seconds
	cumulative Events
}

// New returns a judge of spec.
func New(spec Spec) *Judge {
	if spec.Now == nil {
		spec.Now = time.Now
	}
	j := &Judge{spec: spec, series: map[string][]Sample{}}
	for _, s := range spec.SLOs {
		if s.burned() {
			j.burns = append(j.burns, burnState{slo: s})
		}
	}
	return j
}

// AddSecond folds in a closed second: its probe figures and, for a measured
// second, every burned SLO's burn; the returned step fires the stop
// condition the first time an SLO burns faster than Spec.BurnRate.
func (j *Judge) AddSecond(sec Second) Step {
	j.seconds = append(j.seconds, sec)
	if sec.Warmup {
		return Step{}
	}
	window := max(1, int(j.spec.BurnWindow/time.Second))
	var step Step
	for i := range j.burns {
		b := &j.burns[i]
		e := b.slo.Events(sec.SLOs[b.slo.Name])
		b.recent = append(b.recent, e)
		if len(b.recent) > window {
			b.recent = b.recent[1:]
		}
		b.cumulative.Total += e.Total
		b.cumulative.Bad += e.Bad
		var w Events
		for _, r := range b.recent {
			w.Total += r.Total
			w.Bad += r.Bad
		}
		cum := slo.Budget{Objective: b.slo.Objective, Total: b.cumulative.Total, Bad: b.cumulative.Bad}
		step.Burns = append(step.Burns, Burn{
			SLO:      b.slo.Name,
			BurnRate: slo.BurnRate(b.slo.Objective, w.Total, w.Bad),
			Consumed: Finite(cum.Consumed()),
			Bad:      b.cumulative.Bad, Total: b.cumulative.Total,
		})
	}
	if j.stop != nil || j.spec.BurnRate <= 0 {
		return step
	}
	for _, b := range step.Burns {
		if b.BurnRate > j.spec.BurnRate {
			j.stop = &report.StopCondition{
				Reason: fmt.Sprintf("SLO %s: burn rate (%s) %.1f above abort.burnRate %g", b.SLO, BurnWindowText(j.spec.BurnWindow), b.BurnRate, j.spec.BurnRate),
				At:     j.spec.Now().UTC(), SLO: b.SLO, Burn: b.BurnRate, Window: BurnWindowText(j.spec.BurnWindow),
			}
			step.Stop = j.stop
			break
		}
	}
	return step
}

// Stopped returns the stop condition once it fired, else nil.
func (j *Judge) Stopped() *report.StopCondition { return j.stop }

// AddSample records one second of a FromSeries probe.
func (j *Judge) AddSample(probe string, s Sample) {
	j.series[probe] = append(j.series[probe], s)
}

// Budget is s's budget over the measured period, from its tally, with its
// bad events attributed to the faults (see attribute); an SLO with Judge
// JudgeFaults is judged on the bad events the faults caused.
func (j *Judge) Budget(s SLO, t Tally) report.SLOResult {
	out := report.SLOResult{Name: s.Name, SLI: s.SLI, Op: s.Op, Objective: s.Objective, Judge: s.judge()}
	if !s.burned() {
		out.Verdict, out.Reason = report.Inconclusive, fmt.Sprintf("%s SLIs need a Prometheus server; they are not measured by this version", s.SLI)
		return out
	}
	if s.SLI == SLILatency {
		out.Threshold = s.Threshold.String()
	}
	e := s.Events(t)
	out = fillBudget(out, slo.Budget{Objective: s.Objective, Total: e.Total, Bad: e.Bad}, "")
	out.Attribution = j.attribute(s, e.Bad)
	if s.Judge == JudgeFaults && e.Total > 0 {
		out = judgeOnFaults(out, s, e.Total, len(j.attributionWindows()) > 0)
	}
	return out
}

// judge is the SLO's rule, JudgeRun by default.
func (s SLO) judge() string {
	if s.Judge == "" {
		return JudgeRun
	}
	return s.Judge
}

// RatioBudget is a ratio SLO's budget from the good and total events a
// Prometheus server counted.
func RatioBudget(s SLO, good, total float64) report.SLOResult {
	out := report.SLOResult{Name: s.Name, SLI: s.SLI, Objective: s.Objective, Judge: JudgeRun}
	b := slo.Budget{Objective: s.Objective, Total: int64(total + 0.5), Bad: int64(total - good + 0.5)}
	return fillBudget(out, b, fmt.Sprintf(" (good %.0f of %.0f from Prometheus)", good, total))
}

// SecondsBudget is the verdict of an SLO whose events are seconds (a metric
// SLO: good seconds of total seconds with data).
func SecondsBudget(s SLO, good, total int64, what string) report.SLOResult {
	out := report.SLOResult{Name: s.Name, SLI: s.SLI, Objective: s.Objective, Judge: JudgeRun}
	b := slo.Budget{Objective: s.Objective, Total: total, Bad: total - good}
	return fillBudget(out, b, fmt.Sprintf(" (%d of %d seconds %s)", good, total, what))
}

func fillBudget(out report.SLOResult, b slo.Budget, note string) report.SLOResult {
	out.Total, out.Bad = b.Total, b.Bad
	out.Budget, out.BurnRate = b.Allowed(), b.BurnRate()
	out.Consumed = Finite(b.Consumed())
	out.Remaining = 1 - out.Consumed
	v, reason := b.Verdict()
	out.Verdict, out.Reason = string(v), reason+note
	return out
}

// Finite maps +Inf and NaN (a budget of zero events spent) to the largest
// float, which JSON can carry.
func Finite(f float64) float64 {
	if math.IsInf(f, 1) || math.IsNaN(f) {
		return math.MaxFloat64
	}
	return f
}
