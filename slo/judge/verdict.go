package judge

import (
	"fmt"
	"strings"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// PhaseBefore is the phase of a probe judged over the window that ends where
// the first fault starts.
const PhaseBefore = "before"

// Outcome is everything the final verdict weighs.
type Outcome struct {
	SLOs   []report.SLOResult
	Probes []report.ProbeResult
	Checks []report.CheckResult
	Faults []report.FaultResult
	Stop   *report.StopCondition
	// Interrupted: the user cancelled the run.
	Interrupted bool
	// RunError is why the run did not complete ("" when it did); Requests
	// is how many requests the measured period sent.
	RunError string
	Requests int64
	// ReceiptsWarn: receipts that contradict their fault are reported but
	// do not decide the verdict (receipts: warn).
	ReceiptsWarn bool
	// Host says how loaded the machine running the experiment was (e.g.
	// "load average 24.0 on 2 CPUs"), "" when unknown; a run whose steady
	// state broke before the first fault names it in its reason.
	Host string
	// Control is the comparison with the control run (nil without one).
	// Its SLIs with a limit decide like SLOs; an SLO it excuses (failed in
	// the control run too) does not fail the run by itself.
	Control *report.ControlResult
}

// Decide returns the verdict and its reason (see the package documentation
// for the order of the rules).
func Decide(o Outcome) (verdict, reason string) {
	var remaining []string
	for _, f := range o.Faults {
		if f.StillApplied {
			remaining = append(remaining, fmt.Sprintf("fault %s (%s) was not reverted and may still be in place: %s", f.Name, f.Kind, f.RevertError))
		}
	}
	if len(remaining) > 0 {
		return report.Inconclusive, "REVERT FAILED: " + report.JoinReasons(remaining) + "; run `chaosctl recover`"
	}
	var leftInPlace, notLanded []string
	for _, f := range o.Faults {
		if o.ReceiptsWarn {
			break
		}
		if f.RevertReceipt.Failed() {
			leftInPlace = append(leftInPlace, fmt.Sprintf("fault %s (%s) was reverted but its receipt says it is still in place: %s", f.Name, f.Kind, f.RevertReceipt.Summary))
		}
		if f.Receipt.Failed() {
			notLanded = append(notLanded, fmt.Sprintf("fault did not land: %s (%s): %s", f.Name, f.Kind, f.Receipt.Summary))
		}
	}
	if len(leftInPlace) > 0 {
		return report.Inconclusive, "FAULT LEFT IN PLACE: " + report.JoinReasons(leftInPlace) + "; run `chaosctl recover`"
	}
	switch {
	case o.Interrupted:
		return report.Inconclusive, "interrupted before the end; every fault was reverted"
	case o.RunError != "" && o.Requests == 0:
		return report.Inconclusive, "the run did not complete: " + o.RunError
	case len(notLanded) > 0:
		// Whatever the SLOs say, they did not judge the fault the file
		// describes.
		return report.Inconclusive, report.JoinReasons(notLanded)
	}
	if why := brokenBeforeFaults(o); len(why) > 0 {
		reason := "STEADY STATE BROKEN BEFORE THE FIRST FAULT: " + report.JoinReasons(why) +
			"; the run says nothing about the faults: make the target healthy (or the workload lighter) and run again"
		if o.Host != "" {
			reason += " (this machine: " + o.Host + ")"
		}
		return report.Inconclusive, reason
	}
	var fails, inconclusive []string
	sort := func(verdict, what string) {
		switch verdict {
		case report.Fail:
			fails = append(fails, what)
		case report.Inconclusive:
			inconclusive = append(inconclusive, what)
		}
	}
	var excused []string
	for _, s := range o.SLOs {
		if s.Verdict == report.Fail && o.Control.Excuses(s.Name) {
			excused = append(excused, s.Name)
			continue
		}
		sort(s.Verdict, fmt.Sprintf("SLO %s: %s", s.Name, s.Reason))
	}
	if c := o.Control; c != nil {
		for _, s := range c.SLIs {
			if s.Limit != nil {
				sort(s.Verdict, fmt.Sprintf("SLO %s degraded against the control run: %s", s.Name, s.Reason))
			}
		}
	}
	for _, p := range o.Probes {
		sort(p.Verdict, fmt.Sprintf("probe %s (%s): %s", p.Name, p.Phase, p.Reason))
	}
	for _, c := range o.Checks {
		sort(c.Verdict, fmt.Sprintf("check %s: %s", c.Name, c.Detail))
	}
	for _, f := range o.Faults {
		if f.Error != "" {
			inconclusive = append(inconclusive, fmt.Sprintf("fault %s: %s", f.Name, f.Error))
		}
	}
	switch {
	case o.Stop != nil:
		return report.Fail, "stop condition: " + o.Stop.Reason
	case len(fails) > 0:
		return report.Fail, report.JoinReasons(fails)
	case len(inconclusive) > 0:
		return report.Inconclusive, report.JoinReasons(inconclusive)
	case len(o.SLOs)+len(o.Probes)+len(o.Checks) == 0:
		return report.Inconclusive, "nothing to judge: the experiment has no SLOs, probes or checks"
	}
	why := fmt.Sprintf("%d SLOs within budget, %d probe judgements and %d checks held", len(o.SLOs)-len(excused), len(o.Probes), len(o.Checks))
	if o.Control != nil && o.Control.Verdict == report.Pass {
		why += "; " + o.Control.Reason
	}
	if len(excused) > 0 {
		why += fmt.Sprintf("; SLO %s failed in the control run too, without faults: not degraded beyond the limit against it", strings.Join(excused, ", "))
	}
	return report.Pass, why
}

// brokenBeforeFaults says why the steady state did not hold before the
// first fault was applied, nil when it held or cannot be told. The steady
// state is the baseline the faults are judged against (the first principle
// of chaos engineering: a hypothesis about steady state, checked before
// anything is injected), so a run without it cannot blame or clear the
// faults: its stop condition fired before any fault was applied, or an SLO
// judged on the whole run spent its whole budget before the first fault,
// or a steady-state probe failed before it. Only experiments with faults
// are concerned (a fault-free run's failure is the system's), and a failed
// consistency check still fails the run: an anomaly is evidence whatever
// the load.
func brokenBeforeFaults(o Outcome) []string {
	if len(o.Faults) == 0 {
		return nil
	}
	for _, c := range o.Checks {
		if c.Verdict == report.Fail {
			return nil
		}
	}
	var why []string
	if o.Stop != nil && !appliedBefore(o.Faults, o.Stop) {
		why = append(why, "the stop condition fired before any fault was applied ("+o.Stop.Reason+")")
	}
	for _, s := range o.SLOs {
		a := s.Attribution
		if s.Verdict != report.Fail || a == nil || s.Judge == JudgeFaults || float64(a.BeforeFaults) <= s.Budget {
			continue
		}
		why = append(why, fmt.Sprintf("SLO %s spent its whole budget before the first fault (%d bad events before it; budget %.1f)",
			s.Name, a.BeforeFaults, s.Budget))
	}
	for _, p := range o.Probes {
		if p.Phase == PhaseBefore && p.Verdict == report.Fail {
			why = append(why, fmt.Sprintf("probe %s failed before the first fault: %s", p.Name, p.Reason))
		}
	}
	return why
}

// appliedBefore reports whether a fault was applied before the stop
// condition fired.
func appliedBefore(faults []report.FaultResult, stop *report.StopCondition) bool {
	for _, f := range faults {
		if f.Applied != nil && (stop.At.IsZero() || !f.Applied.After(stop.At)) {
			return true
		}
	}
	return false
}
