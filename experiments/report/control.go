package report

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// controlRow is one compared SLO in the terminal, Markdown and HTML
// tables: the series, the two medians, the effect with its interval, the
// test and the verdict of the limit.
type controlRow struct {
	Name, Series, Seconds, Control, Experiment, Effect, Interval, P, Limit, Verdict, Reason string
	Excused                                                                                 bool
}

// controlRows are the rows of r's control comparison (none without one).
func controlRows(r *Result) []controlRow {
	c := r.Control
	if c == nil {
		return nil
	}
	var out []controlRow
	for _, s := range c.SLIs {
		row := controlRow{Name: s.Name, Series: s.Series, Seconds: fmt.Sprintf("%d / %d", s.ControlN, s.ExperimentN),
			Verdict: s.Verdict, Reason: s.Reason, Excused: s.Excused, Limit: "none (reported only)", P: "—", Effect: "—", Interval: "—"}
		if s.Seconds == "faults" {
			row.Series += " (fault seconds)"
		}
		val := controlValue(s.Kind)
		if s.Kind == ControlErrors {
			row.Control = fmt.Sprintf("%s (%d / %d)", pct(s.ControlRatio), s.ControlBad, s.ControlTotal)
			row.Experiment = fmt.Sprintf("%s (%d / %d)", pct(s.ExperimentRatio), s.ExperimentBad, s.ExperimentTotal)
		} else {
			row.Control, row.Experiment = "median "+val(s.ControlMedian), "median "+val(s.ExperimentMedian)
		}
		if s.ControlN > 0 && s.ExperimentN > 0 && (s.U != 0 || s.P != 0) {
			row.Effect = signed(val, s.Shift)
			row.Interval = signed(val, s.Low) + " to " + signed(val, s.High)
			row.P = PValueText(s.P)
		}
		if s.Limit != nil {
			row.Limit = val(*s.Limit)
		}
		out = append(out, row)
	}
	return out
}

// controlValue formats a value of an SLI's kind: a latency in seconds as
// a duration, an error ratio as a percentage.
func controlValue(kind string) func(float64) string {
	if kind == ControlLatency {
		return func(s float64) string {
			return time.Duration(math.Round(s * 1e9)).Round(10 * time.Microsecond).String()
		}
	}
	return pct
}

func signed(val func(float64) string, f float64) string {
	if f < 0 {
		return "-" + val(-f)
	}
	return "+" + val(f)
}

// PValueText is a p-value for a table or a sentence: "0.43", "0.0012",
// "3.1e-08", "< 1e-12".
func PValueText(p float64) string {
	switch {
	case p < 1e-12:
		return "< 1e-12"
	case p < 0.001:
		return strconv.FormatFloat(p, 'e', 1, 64)
	}
	return strconv.FormatFloat(p, 'g', 2, 64)
}

// controlLine sums the comparison in one sentence: the control run's
// folder and verdict, and the rule's verdict.
func controlLine(c *ControlResult) string {
	s := fmt.Sprintf("a fault-free control run (%s/, same seed, target and workload) ran first, its own verdict %s", c.Dir, c.ControlVerdict)
	if c.Verdict == "" {
		return s + "; " + c.Reason
	}
	return s + fmt.Sprintf("; degradation against it: %s — %s", verdictWord(c.Verdict), c.Reason)
}

// controlFigures is the one-line figures of a compared SLI, for JUnit.
func controlFigures(s ControlSLI) string {
	val := controlValue(s.Kind)
	if s.ControlN == 0 || s.ExperimentN == 0 || (s.U == 0 && s.P == 0) {
		return s.Reason
	}
	out := fmt.Sprintf("%s: shift %s (95%% CI %s to %s), p = %s, %d control and %d experiment seconds",
		s.Series, signed(val, s.Shift), signed(val, s.Low), signed(val, s.High), PValueText(s.P), s.ControlN, s.ExperimentN)
	if s.Limit != nil {
		out += ", limit " + val(*s.Limit)
	}
	return out
}
