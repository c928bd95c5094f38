package judge

import (
	"fmt"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/slo"
)

// Judge rules of an SLO (the file's slos[].judge).
const (
	// JudgeRun judges every bad event of the measured period (the default).
	JudgeRun = "run"
	// JudgeFaults judges only the bad events the faults caused: those in a
	// fault's window (with its settle margin) and in the recovery after the
	// last fault, against the budget of the whole measured period.
	JudgeFaults = "faults"
)

// SettleMargin extends every fault's window for the attribution: the bad
// events of the SettleMargin after a fault ends are still the fault's (the
// requests sent just before the revert time out after it; clients reconnect,
// breakers close, leaders settle).
const SettleMargin = 5 * time.Second

// UseAppliedFaults makes the attribution use the faults' actual windows (the
// times they were applied and reverted, as offsets from the start of the
// measured period) instead of the planned Spec.Faults. A fault that was never
// applied is left out of ws: it caused nothing. The probes keep judging the
// planned windows.
func (j *Judge) UseAppliedFaults(ws []FaultWindow) {
	j.applied, j.haveApplied = append([]FaultWindow(nil), ws...), true
}

// attributionWindows are the windows the attribution uses: the applied ones
// when the caller gave them, else the planned ones.
func (j *Judge) attributionWindows() []FaultWindow {
	if j.haveApplied {
		return j.applied
	}
	return j.spec.Faults
}

// attribute splits an SLO's bad events by when they happened. Each measured
// second [i s, i+1 s) goes, in this order, to:
//
//   - the fault whose window [start, end + SettleMargin) it overlaps; when
//     several do, the one that started most recently (at equal starts, the
//     one later in the list);
//   - beforeFaults when it starts before the first fault's start (every
//     second when no fault was applied);
//   - recovery when it starts from the last fault's end until
//     RecoveryWithin after it (what the last fault's settle margin left of
//     that span);
//   - other: between faults, and after the recovery.
//
// Warmup seconds count for nothing. The per-second tallies need not sum to
// the measured period's tally (bad), which comes from the workload's summary:
// a second the run ended in may never close. The split is made to sum to bad
// exactly: a shortfall goes to other; an excess (not expected) is taken from
// other, then recovery, then the faults from the last in the list, then
// beforeFaults.
func (j *Judge) attribute(s SLO, bad int64) *report.Attribution {
	ws := j.attributionWindows()
	a := &report.Attribution{Faults: map[string]int64{}}
	for _, f := range j.spec.Faults {
		a.Faults[f.Name] = 0
	}
	for _, f := range ws {
		a.Faults[f.Name] += 0
	}
	var sum int64
	for _, sec := range j.seconds {
		if sec.Warmup || sec.Index < 0 {
			continue
		}
		n := s.Events(sec.SLOs[s.Name]).Bad
		if n == 0 {
			continue
		}
		sum += n
		switch owner, class := j.classify(ws, sec.Index); class {
		case classFault:
			a.Faults[ws[owner].Name] += n
		case classBefore:
			a.BeforeFaults += n
		case classRecovery:
			a.Recovery += n
		default:
			a.Other += n
		}
	}
	if sum <= bad {
		a.Other += bad - sum
		return a
	}
	excess := sum - bad
	take := func(n *int64) {
		d := min(*n, excess)
		*n -= d
		excess -= d
	}
	take(&a.Other)
	take(&a.Recovery)
	for i := len(ws) - 1; i >= 0 && excess > 0; i-- {
		n := a.Faults[ws[i].Name]
		take(&n)
		a.Faults[ws[i].Name] = n
	}
	take(&a.BeforeFaults)
	return a
}

// Where a measured second goes in the attribution.
const (
	classBefore = iota
	classFault
	classRecovery
	classOther
)

// classify places measured second index among the windows ws (see
// attribute): in a fault's window (owner is its index in ws), before the
// faults, in recovery, or other.
func (j *Judge) classify(ws []FaultWindow, index int) (owner, class int) {
	var first, lastEnd time.Duration
	for i, f := range ws {
		if i == 0 || f.Start < first {
			first = f.Start
		}
		if i == 0 || f.End > lastEnd {
			lastEnd = f.End
		}
	}
	lo := time.Duration(index) * time.Second
	hi := lo + time.Second
	owner = -1
	for i, f := range ws {
		if f.Start < hi && lo < max(f.End, f.Start)+SettleMargin && (owner < 0 || f.Start >= ws[owner].Start) {
			owner = i
		}
	}
	switch {
	case owner >= 0:
		return owner, classFault
	case len(ws) == 0 || lo < first:
		return -1, classBefore
	case lo >= lastEnd && lo < lastEnd+j.spec.RecoveryWithin:
		return -1, classRecovery
	}
	return -1, classOther
}

// CausedByFaults reports whether measured second index is one whose bad
// events the faults caused (what judge: faults counts): in a fault's
// window with its settle margin, or in recovery.
func (j *Judge) CausedByFaults(index int) bool {
	_, class := j.classify(j.attributionWindows(), index)
	return class == classFault || class == classRecovery
}

// judgeOnFaults fills out's budget and verdict from the bad events the
// faults caused (attribution's faults and recovery) against the budget of
// every eligible event of the measured period.
func judgeOnFaults(out report.SLOResult, s SLO, total int64, haveFaults bool) report.SLOResult {
	a := out.Attribution
	caused := a.FromFaults()
	notCounted := out.Bad - caused
	b := slo.Budget{Objective: s.Objective, Total: total, Bad: caused}
	out.Budget, out.BurnRate = b.Allowed(), b.BurnRate()
	out.Consumed = Finite(b.Consumed())
	out.Remaining = 1 - out.Consumed
	if !haveFaults {
		out.Verdict = report.Inconclusive
		out.Reason = fmt.Sprintf("judge: faults, but no fault was applied: no bad event was caused by a fault to judge (%d bad of %d in the run)", out.Bad, total)
		return out
	}
	v, reason := b.Verdict()
	prefix := fmt.Sprintf("judged on the %d bad events the faults caused (%d in fault windows, %d in recovery)", caused, caused-a.Recovery, a.Recovery)
	switch {
	case notCounted == 0:
		prefix += "; no other bad events"
	case a.Other == 0:
		prefix += fmt.Sprintf("; %d more before the first fault are not counted", a.BeforeFaults)
	case a.BeforeFaults == 0:
		prefix += fmt.Sprintf("; %d more outside the faults and their recovery are not counted", a.Other)
	default:
		prefix += fmt.Sprintf("; %d more before the first fault and %d outside the faults and their recovery are not counted", a.BeforeFaults, a.Other)
	}
	out.Verdict, out.Reason = string(v), prefix+": "+reason
	return out
}
