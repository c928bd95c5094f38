package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The rows of the verdict tables, shared by the Markdown and HTML reports so
// both say the same thing in the same words.

type sloRow struct {
	Name, SLI, Objective, BadTotal, Consumed, Burn, Verdict, Reason string
	Attribution                                                     string // attributionText
}

type probeRow struct {
	Name, Phase, Metric, Value, Bound, Samples, Verdict, Reason string
}

type checkRow struct {
	Name, Operations, Keys, Anomalies, Verdict, Detail string
	ByKind, Listed                                     []string
}

type faultRow struct {
	Name, Kind, Targets, Window, Duration, Note string
}

// verdictWord is the verdict in capitals, for a verdict line that needs no
// colour to be read.
func verdictWord(v string) string {
	if v == "" {
		return "UNKNOWN"
	}
	return strings.ToUpper(v)
}

func sloRows(r *Result) []sloRow {
	out := make([]sloRow, 0, len(r.SLOs))
	for _, o := range r.SLOs {
		sli := o.SLI
		if o.Op != "" {
			sli += " " + o.Op
		}
		if o.Threshold != "" {
			sli += " < " + o.Threshold
		}
		row := sloRow{Name: o.Name, SLI: sli, Objective: pct(o.Objective), Verdict: o.Verdict, Reason: o.Reason,
			BadTotal: fmt.Sprintf("%d / %d", o.Bad, o.Total), Consumed: consumedPct(o.Consumed), Burn: burnText(o.BurnRate)}
		if o.Total == 0 {
			row.Consumed, row.Burn = "no data", "no data"
		}
		row.Attribution = attributionText(o, r.Faults)
		out = append(out, row)
	}
	return out
}

func probeRows(r *Result) []probeRow {
	out := make([]probeRow, 0, len(r.Probes))
	for _, p := range r.Probes {
		out = append(out, probeRow{Name: p.Name, Phase: p.Phase, Metric: p.Metric, Value: probeValueText(p),
			Bound: strings.TrimSpace(p.Bound), Samples: fmt.Sprint(p.Samples), Verdict: p.Verdict, Reason: p.Reason})
	}
	return out
}

func checkRows(r *Result) []checkRow {
	out := make([]checkRow, 0, len(r.Checks))
	for _, c := range r.Checks {
		row := checkRow{Name: c.Name, Operations: fmt.Sprint(c.Operations), Keys: fmt.Sprint(c.Keys),
			Anomalies: fmt.Sprint(c.Anomalies), Verdict: c.Verdict, Detail: c.Detail, Listed: c.Listed}
		kinds := make([]string, 0, len(c.ByKind))
		for k := range c.ByKind {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			row.ByKind = append(row.ByKind, fmt.Sprintf("%s: %d", k, c.ByKind[k]))
		}
		out = append(out, row)
	}
	return out
}

// faultRows places the faults in time: at the run's one origin (t = 0 at
// the end of warmup, as `at` in the experiment file) with their UTC
// wall-clock times; a run with no record of the end of warmup gives offsets
// from the run start. origin says which.
func faultRows(run *Run) (rows []faultRow, origin string) {
	r := run.Result
	c := clockOf(run)
	origin = "t = seconds from the end of warmup, as `at` in the experiment file (t = 0 at " + c.t0.UTC().Format("15:04:05.000") + " UTC), with wall-clock times in UTC"
	if !c.anchored() {
		origin = "offsets from the run start (the run recorded no end of warmup to anchor them); wall-clock times in UTC"
	}
	for _, f := range r.Faults {
		row := faultRow{Name: f.Name, Kind: f.Kind, Targets: strings.Join(f.Targets, ", ")}
		switch {
		case f.Applied == nil:
			row.Window, row.Duration = "not applied", "—"
			if f.At != nil && c.anchored() {
				row.Window += fmt.Sprintf(" (planned at t = %s s)", tSecs(*f.At))
			}
		case f.Reverted == nil:
			row.Window, row.Duration = c.at(*f.Applied)+" → not reverted", "—"
		default:
			row.Window = c.at(*f.Applied) + " → " + c.at(*f.Reverted)
			row.Duration = f.Reverted.Sub(*f.Applied).Round(time.Millisecond).String()
		}
		row.Note = f.Error
		if f.StillApplied {
			row.Window = c.at(*f.Applied) + " → NOT REVERTED"
			row.Note = "revert failed, may still be in place (run chaosctl recover): " + f.RevertError
		}
		if row.Note == "" && len(f.Links) > 0 {
			row.Note = "links " + strings.Join(f.Links, ", ")
		}
		rows = append(rows, row)
	}
	return rows, origin
}

// workloadLine sums the measured workload in one sentence.
func workloadLine(r *Result) string {
	wl := r.Workload
	if wl.Requests == 0 && wl.Dropped == 0 {
		return "no measured requests"
	}
	return fmt.Sprintf("%d requests at %.0f/s over %s (warmup %s excluded): %d errors (%s), %d dropped; latency p50 %s, p99 %s, p99.9 %s",
		wl.Requests, wl.Rate, wl.Duration, wl.Warmup, wl.Errors, pct(wl.ErrorRatio), wl.Dropped,
		secs(wl.LatencyP50), secs(wl.LatencyP99), secs(wl.LatencyP999))
}

func runDuration(r *Result) string {
	return time.Duration(runSeconds(r) * float64(time.Second)).Round(100 * time.Millisecond).String()
}

func stopLine(run *Run) string {
	sc := run.Result.StopCondition
	if sc == nil {
		return ""
	}
	s := sc.Reason
	if !sc.At.IsZero() {
		s += " at " + clockOf(run).at(sc.At)
	}
	if sc.SLO != "" && !strings.Contains(s, "burn") {
		s += fmt.Sprintf(" (SLO %s: %s %.1f)", sc.SLO, stopBurnName(sc), sc.Burn)
	}
	return s
}

// clockText is a UTC wall-clock time to the second: "23:41:05 UTC".
func clockText(t time.Time) string { return t.UTC().Format("15:04:05 UTC") }

// utcText is a UTC wall-clock time to the millisecond, with its date:
// "2026-12-06 23:41:05.123 UTC".
func utcText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000 UTC") }

// trimFloat is f to one decimal, without a trailing ".0".
func trimFloat(f float64) string {
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}
