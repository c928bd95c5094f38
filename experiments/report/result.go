package report

import (
	"encoding/json"
	"fmt"
	"github.com/chaosctl/chaosctl/internal/hostload"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/regularfile"
)

// Verdicts, as in result.json.
const (
	Pass         = "pass"
	Fail         = "fail"
	Inconclusive = "inconclusive"
)

// Header is what result.json and a GameDay's gameday.json both hold after
// the name of what ran: its verdict and why, its seed, when it ran, with
// which chaosctl and on which runtime. Times are UTC.
type Header struct {
	Description     string    `json:"description,omitempty"`
	File            string    `json:"file,omitempty"`
	Verdict         string    `json:"verdict"` // pass | fail | inconclusive
	Reason          string    `json:"reason"`
	Seed            int64     `json:"seed"`
	Started         time.Time `json:"started"`
	Ended           time.Time `json:"ended"`
	ChaosctlVersion string    `json:"chaosctlVersion"`
	Runtime         string    `json:"runtime"`
}

// Result is result.json, written beside every run's report.
type Result struct {
	Experiment string `json:"experiment"`
	Header
	// MeasuredStart is the end of warmup: t = 0 of every offset in the
	// reports and the journal, the origin of a fault's `at` (UTC).
	MeasuredStart *time.Time `json:"measuredStart,omitempty"`

	Workload      WorkloadResult `json:"workload"`
	SLOs          []SLOResult    `json:"slos"`
	Probes        []ProbeResult  `json:"probes"`
	Checks        []CheckResult  `json:"checks"`
	Faults        []FaultResult  `json:"faults"`
	StopCondition *StopCondition `json:"stopCondition"`
	Interrupted   bool           `json:"interrupted,omitempty"`
	Errors        []string       `json:"errors,omitempty"`
	// Control compares the run with its fault-free control run (control:
	// true or --control); nil without one.
	Control *ControlResult `json:"control,omitempty"`
	// Host is how busy the machine running chaosctl was when the run
	// started and when it was judged: a starved machine can break a
	// steady state that the faults are not to blame for.
	Host *HostLoad `json:"host,omitempty"`
}

// HostLoad is the machine's load at a run's start and at its verdict.
type HostLoad struct {
	Start hostload.Sample `json:"start"`
	End   hostload.Sample `json:"end"`
}

// String is "load average 24.0 at the start, 23.9 at the verdict, on 2
// CPUs", "" for nil.
func (h *HostLoad) String() string {
	if h == nil {
		return ""
	}
	if h.Start.Load1 < 0 || h.End.Load1 < 0 {
		return h.End.String()
	}
	return fmt.Sprintf("load average %.1f at the start, %.1f at the verdict, on %d CPUs", h.Start.Load1, h.End.Load1, h.End.CPUs)
}

// Kinds of a compared SLI (ControlSLI.Kind).
const (
	ControlLatency = "latency" // a latency SLO: its per-second latency at the objective's quantile
	ControlErrors  = "errors"  // an availability SLO: its per-second error ratio
)

// ControlResult compares a run (the experiment) with its control run: the
// same seed, target and workload without faults, run just before it on the
// same runtime. Each availability and latency SLO's per-second series is
// compared with a Mann-Whitney U test and its effect estimated with a 95 %
// confidence interval; with degradation limits, Verdict says whether the
// experiment got significantly worse than the control beyond them.
type ControlResult struct {
	// Dir is the control run's output folder, relative to this run's.
	Dir string `json:"dir"`
	// ControlVerdict and ControlReason are the control run's own verdict.
	ControlVerdict string `json:"controlVerdict"`
	ControlReason  string `json:"controlReason"`
	// Verdict is the degradation rule's: pass, fail or inconclusive; ""
	// when no limit is set (the comparison is reported, and decides
	// nothing). Reason says why, Rule states the rule.
	Verdict string `json:"verdict,omitempty"`
	Reason  string `json:"reason"`
	Rule    string `json:"rule"`
	// Confidence is the intervals' level (0.95), Alpha the test's (0.05).
	Confidence float64      `json:"confidence"`
	Alpha      float64      `json:"alpha"`
	SLIs       []ControlSLI `json:"slis"`
}

// ControlSLI is one SLO's series compared between the control run and the
// experiment. Latencies are in seconds, error ratios fractions.
type ControlSLI struct {
	Name string `json:"name"` // the SLO's
	Kind string `json:"kind"` // ControlLatency or ControlErrors
	// Series says what one value is ("p99 latency per second", "error
	// ratio per second").
	Series string `json:"series"`
	// Seconds says which measured seconds were compared: "run" (every one)
	// or "faults" (an SLO with judge: faults: those the experiment's
	// attribution puts in a fault window or in recovery, in both runs).
	Seconds string `json:"seconds"`
	// ControlN and ExperimentN are the seconds with a value.
	ControlN    int `json:"controlSeconds"`
	ExperimentN int `json:"experimentSeconds"`
	// ControlMedian and ExperimentMedian are the medians of the two series.
	ControlMedian    float64 `json:"controlMedian"`
	ExperimentMedian float64 `json:"experimentMedian"`
	// For errors: the events of the compared seconds, and their ratios.
	ControlBad      int64   `json:"controlBad,omitempty"`
	ControlTotal    int64   `json:"controlTotal,omitempty"`
	ExperimentBad   int64   `json:"experimentBad,omitempty"`
	ExperimentTotal int64   `json:"experimentTotal,omitempty"`
	ControlRatio    float64 `json:"controlRatio,omitempty"`
	ExperimentRatio float64 `json:"experimentRatio,omitempty"`
	// Shift is the effect, experiment minus control: for latency the
	// Hodges-Lehmann shift of the per-second series, for errors the
	// difference of the error ratios; Low and High its 95 % interval
	// (Moses; Newcombe's hybrid score).
	Shift float64 `json:"shift"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
	// U and P are the Mann-Whitney test of the two series (U of the
	// experiment's; P two-sided, Exact when from U's exact distribution).
	U           float64 `json:"u"`
	P           float64 `json:"p"`
	Exact       bool    `json:"exact,omitempty"`
	Significant bool    `json:"significant"` // P < Alpha
	// Limit is the degradation limit of the SLI's kind (seconds or a
	// fraction); nil when none is set, and then Verdict is "".
	Limit   *float64 `json:"limit,omitempty"`
	Verdict string   `json:"verdict,omitempty"`
	Reason  string   `json:"reason"`
	// ControlSLOVerdict is the SLO's verdict in the control run. Excused:
	// the SLO failed in both runs and its degradation limit is set, so the
	// SLO's own failure does not fail the experiment; the degradation rule
	// decides for it.
	ControlSLOVerdict string `json:"controlSLOVerdict,omitempty"`
	Excused           bool   `json:"excused,omitempty"`
}

// Excuses reports whether c excuses the failure of SLO name (nil: no).
func (c *ControlResult) Excuses(name string) bool {
	if c == nil {
		return false
	}
	for _, s := range c.SLIs {
		if s.Name == name && s.Excused {
			return true
		}
	}
	return false
}

// WorkloadResult sums the measured phase of the workload (warmup excluded).
type WorkloadResult struct {
	Rate        float64 `json:"rate"`
	Duration    string  `json:"duration"`
	Warmup      string  `json:"warmup"`
	Requests    int64   `json:"requests"`
	Errors      int64   `json:"errors"`
	Dropped     int64   `json:"dropped"`
	ErrorRatio  float64 `json:"errorRatio"`
	LatencyP50  float64 `json:"latencyP50"` // seconds, from intended send time
	LatencyP99  float64 `json:"latencyP99"`
	LatencyP999 float64 `json:"latencyP999"`
}

// SLOResult is one SLO's budget and verdict.
type SLOResult struct {
	Name      string  `json:"name"`
	SLI       string  `json:"sli"`
	Op        string  `json:"op,omitempty"`
	Threshold string  `json:"threshold,omitempty"`
	Objective float64 `json:"objective"`
	Total     int64   `json:"total"`
	Bad       int64   `json:"bad"`
	Budget    float64 `json:"budget"`    // bad events allowed
	Consumed  float64 `json:"consumed"`  // fraction of the budget
	Remaining float64 `json:"remaining"` // 1 − consumed (negative once exhausted)
	BurnRate  float64 `json:"burnRate"`  // over the whole run
	Verdict   string  `json:"verdict"`
	Reason    string  `json:"reason"`
	// Judge is the rule that judged the SLO: "run" (every bad event of the
	// measured period) or "faults" (only the bad events the faults caused,
	// Attribution.FromFaults; Budget is still the whole period's, while
	// Consumed, Remaining and BurnRate count only the judged bad events).
	Judge string `json:"judge,omitempty"`
	// Attribution splits Bad by when the events happened; nil for ratio
	// SLIs, which have no per-second data (not attributed).
	Attribution *Attribution `json:"attribution,omitempty"`
}

// Attribution is an SLO's bad events by the measured second they happened
// in: before the first fault was applied; in each fault's window, from its
// application to 5 s (the settle margin, judge.SettleMargin) after its
// revert, a second in several windows going to the fault applied most
// recently; in recovery, from the last fault's revert until
// steadyState.recoveryWithin after it (what the settle margin leaves of
// that span); and other (between faults, after recovery, and what the
// per-second tallies could not place). The parts sum to the SLO's bad
// events exactly.
type Attribution struct {
	BeforeFaults int64            `json:"beforeFaults"`
	Faults       map[string]int64 `json:"faults"` // by fault name; every fault of the run, 0 included
	Recovery     int64            `json:"recovery"`
	Other        int64            `json:"other"`
}

// FromFaults is the bad events the faults caused: in their windows and in
// recovery (what judge: faults judges).
func (a *Attribution) FromFaults() int64 {
	n := a.Recovery
	for _, f := range a.Faults {
		n += f
	}
	return n
}

// Sum is every attributed bad event (the SLO's bad events).
func (a *Attribution) Sum() int64 { return a.BeforeFaults + a.FromFaults() + a.Other }

// ProbeResult is one probe judged in one phase.
type ProbeResult struct {
	Name    string  `json:"name"`
	Phase   string  `json:"phase"` // before | during | after
	Metric  string  `json:"metric,omitempty"`
	Value   float64 `json:"value"`
	Bound   string  `json:"bound,omitempty"`
	Samples int     `json:"samples"`
	Verdict string  `json:"verdict"`
	Reason  string  `json:"reason"`
}

// CheckResult is one consistency check.
type CheckResult struct {
	Name       string         `json:"name"`
	Verdict    string         `json:"verdict"`
	Operations int            `json:"operations"`
	Keys       int            `json:"keys,omitempty"`
	Anomalies  int            `json:"anomalies"`
	ByKind     map[string]int `json:"anomaliesByKind,omitempty"`
	Took       string         `json:"took,omitempty"`
	Detail     string         `json:"detail"`
	// Listed names the first anomalies (at most 20).
	Listed []string `json:"listed,omitempty"`
}

// FaultResult is one fault with when it was applied and reverted.
type FaultResult struct {
	Name      string     `json:"name"`
	Kind      string     `json:"kind"`
	Targets   []string   `json:"targets"`
	Links     []string   `json:"links,omitempty"`
	Scheduled string     `json:"scheduled"` // offset from the start of the workload, warmup included (At is the same instant at t)
	Applied   *time.Time `json:"applied"`
	Reverted  *time.Time `json:"reverted"`
	Error     string     `json:"error,omitempty"`

	// At (planned), AppliedT and RevertedT are seconds from the end of
	// warmup (t = 0, MeasuredStart), the origin of `at` in the file.
	At        *float64 `json:"at,omitempty"`
	AppliedT  *float64 `json:"appliedT,omitempty"`
	RevertedT *float64 `json:"revertedT,omitempty"`

	// StillApplied: every revert of the fault failed, so it may still be in
	// place (Reverted is nil); RevertError says why. `chaosctl recover`
	// retries it.
	StillApplied bool   `json:"stillApplied,omitempty"`
	RevertError  string `json:"revertError,omitempty"`
	// Receipt is the evidence, measured just after the fault was applied,
	// that it does what the file says; RevertReceipt that it was undone.
	// Nil when none was taken (receipts: off, the fault did not apply).
	Receipt       *injectors.Receipt `json:"receipt,omitempty"`
	RevertReceipt *injectors.Receipt `json:"revertReceipt,omitempty"`
}

// StopCondition says why and when a run was stopped early.
type StopCondition struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	T      *float64  `json:"t,omitempty"` // At in seconds from the end of warmup
	SLO    string    `json:"slo,omitempty"`
	Burn   float64   `json:"burnRate,omitempty"`
	Window string    `json:"window,omitempty"` // of Burn: "last 5s"
}

// Since is t's offset in seconds from the end of warmup (MeasuredStart);
// ok is false when the result does not know that instant.
func (r *Result) Since(t time.Time) (secs float64, ok bool) {
	if r.MeasuredStart == nil || t.IsZero() {
		return 0, false
	}
	return t.Sub(*r.MeasuredStart).Seconds(), true
}

// SetOffsets fills the t offsets of the faults and the stop condition from
// their UTC times and MeasuredStart.
func (r *Result) SetOffsets() {
	ptr := func(t *time.Time) *float64 {
		if t == nil {
			return nil
		}
		if s, ok := r.Since(*t); ok {
			s = math.Round(s*1000) / 1000
			return &s
		}
		return nil
	}
	for i := range r.Faults {
		f := &r.Faults[i]
		f.AppliedT, f.RevertedT = ptr(f.Applied), ptr(f.Reverted)
	}
	if sc := r.StopCondition; sc != nil {
		sc.T = ptr(&sc.At)
	}
}

// WriteJSON writes result.json into dir.
func (r *Result) WriteJSON(dir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "result.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write result.json: %w", err)
	}
	return nil
}

// ReadJSON reads result.json from dir.
func ReadJSON(dir string) (*Result, error) {
	return ReadJSONFile[Result](filepath.Join(dir, "result.json"))
}

// Limits of the files of an output folder that LoadRun, ReadJSONFile,
// ReadRampJSON and ReadRepeatJSON read (chaosctl report DIR): one that is
// larger, or is not a regular file (a FIFO, a device), is refused unread
// with a *regularfile.Error.
const (
	// MaxJSONSize bounds result.json, gameday.json, explore.json and the
	// copy of the experiment file: a few MiB at most in practice.
	MaxJSONSize = 64 * regularfile.MiB
	// MaxJournalSize bounds journal.ndjson, which grows with the run (a
	// few KiB a second); it is streamed, not read whole.
	MaxJournalSize = regularfile.GiB
)

// ReadJSONFile reads the JSON file at path into a new T: a regular file of
// at most MaxJSONSize.
func ReadJSONFile[T any](path string) (*T, error) {
	b, err := regularfile.ReadFile(path, MaxJSONSize)
	if err != nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return &v, nil
}

// JoinReasons joins the reasons of a verdict with "; ", naming the first
// three and counting the rest.
func JoinReasons(rs []string) string {
	if len(rs) > 3 {
		rs = append(rs[:3:3], fmt.Sprintf("and %d more", len(rs)-3))
	}
	return strings.Join(rs, "; ")
}
