package experiments

import (
	"fmt"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/probes/workload"
	"github.com/chaosctl/chaosctl/slo"
)

// burnTracker follows each workload SLO second by second: its cumulative
// budget (for the burn-down chart) and its burn rate over abort.window (for
// the stop condition).
type burnTracker struct {
	slos   []SLO
	window int // seconds
	// per SLO: recent seconds (total, bad) and the cumulative sums
	recent     [][]counts
	cumulative []counts
}

type counts struct{ total, bad int64 }

func newBurnTracker(e *Experiment) *burnTracker {
	b := &burnTracker{window: max(1, int(e.Abort.Window/time.Second))}
	for _, s := range e.SLOs {
		if s.SLI == SLIAvailability || s.SLI == SLILatency {
			b.slos = append(b.slos, s)
		}
	}
	b.recent = make([][]counts, len(b.slos))
	b.cumulative = make([]counts, len(b.slos))
	return b
}

// secondCounts is one second's eligible and bad events for an SLO, with the
// arithmetic of the final budget (sloResult): drops are bad events.
func secondCounts(s SLO, sec *workload.Second) counts {
	st := &workload.OpStats{Latency: nil, SlowerThan: map[time.Duration]int64{}}
	switch s.Op {
	case OpRead:
		if o := sec.Ops[workload.OpGet]; o != nil {
			st.Merge(o)
		}
	case OpWrite:
		for _, k := range []workload.OpKind{workload.OpPut, workload.OpDelete} {
			if o := sec.Ops[k]; o != nil {
				st.Merge(o)
			}
		}
	case "":
		st.Merge(sec.All)
	default:
		if o := sec.Classes[s.Op]; o != nil {
			st.Merge(o)
		}
	}
	if s.SLI == SLILatency {
		return counts{total: st.OK + st.Dropped, bad: st.SlowerThan[s.Threshold] + st.Dropped}
	}
	return counts{total: st.Total + st.Dropped, bad: st.Bad() + st.Dropped}
}

// burnSample is one SLO's state after a second.
type burnSample struct {
	SLO      string
	BurnRate float64 // over the abort window
	Consumed float64 // of the budget so far
}

// add folds in a measured second and returns every SLO's state.
func (b *burnTracker) add(sec *workload.Second) []burnSample {
	out := make([]burnSample, 0, len(b.slos))
	for i, s := range b.slos {
		c := secondCounts(s, sec)
		b.recent[i] = append(b.recent[i], c)
		if len(b.recent[i]) > b.window {
			b.recent[i] = b.recent[i][1:]
		}
		b.cumulative[i].total += c.total
		b.cumulative[i].bad += c.bad
		var w counts
		for _, r := range b.recent[i] {
			w.total += r.total
			w.bad += r.bad
		}
		cum := slo.Budget{Objective: float64(s.Objective), Total: b.cumulative[i].total, Bad: b.cumulative[i].bad}
		out = append(out, burnSample{
			SLO:      s.Name,
			BurnRate: slo.BurnRate(float64(s.Objective), w.total, w.bad),
			Consumed: finite(cum.Consumed()),
		})
	}
	return out
}

// checkStop records the burn of a measured second and fires the stop
// condition when an SLO burns faster than abort.burnRate over abort.window.
// It runs on the workload's second callback.
func (r *runState) checkStop(sec *workload.Second) {
	if sec.Warmup || r.burn == nil {
		return
	}
	for _, b := range r.burn.add(sec) {
		r.journal.Add("burn", map[string]any{"second": sec.Index, "slo": b.SLO, "burnRate": b.BurnRate, "consumed": b.Consumed})
		limit := r.e.Abort.BurnRate
		if limit <= 0 || b.BurnRate <= limit {
			continue
		}
		r.mu.Lock()
		fired := r.res.StopCondition != nil
		if !fired {
			r.res.StopCondition = &report.StopCondition{
				Reason: fmt.Sprintf("SLO %s burned its budget at %.1f× over the last %s (abort.burnRate %g)", b.SLO, b.BurnRate, r.e.Abort.Window, limit),
				At:     time.Now().UTC(), SLO: b.SLO, Burn: b.BurnRate,
			}
		}
		stop := r.stopRun
		r.mu.Unlock()
		if !fired {
			r.log.WithField("slo", b.SLO).WithField("burnRate", b.BurnRate).Warn("stop condition: reverting every fault and ending the run")
			r.journal.Add("stop-condition", map[string]any{"second": sec.Index, "slo": b.SLO, "burnRate": b.BurnRate})
			if stop != nil {
				stop()
			}
		}
		return
	}
}
