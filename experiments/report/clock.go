package report

import (
	"fmt"
	"time"
)

// OriginText states the one time origin of every output, once: the
// experiment file's, where a fault's `at` counts from.
const OriginText = "t = seconds from the end of warmup (t = 0), where a fault's `at` in the experiment file counts from; warmup is negative"

// runClock places instants at the run's one origin, t = 0 at the end of
// warmup, with their UTC wall-clock time beside. A result written before
// measuredStart was recorded, with no journal to estimate it from, has no
// origin: then offsets are from the run start, and say so.
type runClock struct {
	t0      time.Time // the end of warmup; zero when unknown
	started time.Time // the run start, the fallback origin
}

// resultClock is the clock of a result alone (the terminal summary).
func resultClock(r *Result) runClock {
	c := runClock{started: r.Started}
	if r.MeasuredStart != nil {
		c.t0 = *r.MeasuredStart
	}
	return c
}

// clockOf is the clock of a run, the journal's estimate standing in for
// measuredStart in results written before it.
func clockOf(run *Run) runClock {
	c := runClock{started: run.Result.Started}
	c.t0, _ = run.measuredStart()
	return c
}

func (c runClock) anchored() bool { return !c.t0.IsZero() }

// t is an instant at the origin: "4.0 s", or "+6.04s from the run start"
// without one.
func (c runClock) t(at time.Time) string {
	if !c.anchored() {
		return offsetText(c.started, at) + " from the run start"
	}
	return fmt.Sprintf("t = %s s", tSecs(at.Sub(c.t0).Seconds()))
}

// at is an instant with its wall-clock time: "t = 4.04 s (23:41:09.160 UTC)".
func (c runClock) at(at time.Time) string {
	return c.t(at) + " (" + at.UTC().Format("15:04:05.000") + " UTC)"
}

// ptr is clock.at of an instant that may be missing ("—").
func (c runClock) ptr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return c.at(*t)
}

// zeroText says when t = 0 was: "t = 0 at 23:41:05.123 UTC"; "" unknown.
func (c runClock) zeroText() string {
	if !c.anchored() {
		return ""
	}
	return "t = 0 (end of warmup) at " + c.t0.UTC().Format("15:04:05.000") + " UTC"
}

// tSecs formats seconds to the hundredth, without trailing zeros: 4.04, -2, 12.1.
func tSecs(s float64) string {
	out := fmt.Sprintf("%.2f", s)
	for out[len(out)-1] == '0' {
		out = out[:len(out)-1]
	}
	if out[len(out)-1] == '.' {
		out = out[:len(out)-1]
	}
	if out == "-0" {
		out = "0"
	}
	return out
}

// runTimes is the run's wall clock in one line: started, t = 0 and ended,
// in UTC with the date once.
func runTimes(r *Result, c runClock) string {
	if r.Started.IsZero() {
		return ""
	}
	s := "started " + r.Started.UTC().Format("2006-01-02 15:04:05.000") + " UTC"
	if c.anchored() {
		s += " (" + c.t(r.Started) + "), " + c.zeroText()
	}
	if !r.Ended.IsZero() {
		s += ", ended " + r.Ended.UTC().Format("15:04:05.000") + " UTC"
		if c.anchored() {
			s += " (" + c.t(r.Ended) + ")"
		}
	}
	return s
}
