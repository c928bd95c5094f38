package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// ANSI colours, used only when the output is a terminal.
const (
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	bold   = "\x1b[1m"
	reset  = "\x1b[0m"
)

// Terminal writes the run summary: verdict, SLO table, probes, checks and
// faults with their windows. colour adds ANSI colours (a terminal only).
func Terminal(w io.Writer, r *Result, colour bool) error {
	paint := func(v string) string {
		if !colour {
			return v
		}
		switch v {
		case Pass:
			return green + v + reset
		case Fail:
			return red + v + reset
		case Inconclusive:
			return yellow + v + reset
		}
		return v
	}
	paintReceipt := func(state string) string {
		switch state {
		case Pass:
			return strings.Replace(paint(Pass), Pass, "verified", 1)
		case Fail:
			return strings.Replace(paint(Fail), Fail, "DID NOT HOLD", 1)
		}
		return state
	}
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("\nexperiment %s  seed %d  runtime %s  %s\n", r.Experiment, r.Seed, r.Runtime, r.Ended.Sub(r.Started).Round(time.Millisecond))
	clk := resultClock(r)
	if s := runTimes(r, clk); s != "" {
		p("clock      %s\n", s)
	}
	wl := r.Workload
	p("workload   %d requests at %.0f/s over %s (warmup %s excluded): %d errors (%.3f%%), %d dropped, p50 %s p99 %s\n",
		wl.Requests, wl.Rate, wl.Duration, wl.Warmup, wl.Errors, 100*wl.ErrorRatio, wl.Dropped, secs(wl.LatencyP50), secs(wl.LatencyP99))

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.StripEscape)
	if len(r.SLOs) > 0 {
		fmt.Fprintln(tw, "\nSLO\tOBJECTIVE\tBAD/TOTAL\tBUDGET USED\tBURN RATE (WHOLE RUN)\tVERDICT")
		for _, s := range r.SLOs {
			name := s.Name
			if s.Op != "" || s.Threshold != "" {
				name += " (" + strings.TrimSpace(s.SLI+" "+s.Op+" "+s.Threshold) + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%.1f%%\t%.2f\t%s%s\n", name, pct(s.Objective), s.Bad, s.Total, 100*s.Consumed, s.BurnRate, paint(s.Verdict),
				underRow(attributionText(s, r.Faults)))
		}
	}
	if rows := controlRows(r); len(rows) > 0 {
		fmt.Fprintln(tw, "\nAGAINST CONTROL\tSERIES\tSECONDS C/E\tCONTROL\tEXPERIMENT\tSHIFT (95% CI)\tP\tLIMIT\tVERDICT")
		for _, c := range rows {
			v := c.Verdict
			if v == "" {
				v = "reported"
			} else {
				v = paint(v)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s (%s)\t%s\t%s\t%s\n", c.Name, c.Series, c.Seconds, c.Control, c.Experiment, c.Effect, c.Interval, c.P, c.Limit, v)
		}
	}
	if len(r.Probes) > 0 {
		fmt.Fprintln(tw, "\nPROBE\tPHASE\tVALUE\tBOUND\tVERDICT")
		for _, pr := range r.Probes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", pr.Name, pr.Phase, probeValue(pr), pr.Bound, paint(pr.Verdict))
		}
	}
	if len(r.Checks) > 0 {
		fmt.Fprintln(tw, "\nCHECK\tOPERATIONS\tANOMALIES\tVERDICT\tDETAIL")
		for _, c := range r.Checks {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", c.Name, c.Operations, c.Anomalies, paint(c.Verdict), c.Detail)
		}
	}
	if len(r.Faults) > 0 {
		fmt.Fprintln(tw, "\nFAULT\tKIND\tTARGETS\tAPPLIED\tREVERTED")
		for _, f := range r.Faults {
			reverted := clk.ptr(f.Reverted)
			if f.StillApplied {
				reverted = "NOT REVERTED, may still be in place (" + f.RevertError + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Name, f.Kind, strings.Join(f.Targets, ","), clk.ptr(f.Applied), reverted)
		}
		if rows := receiptRows(r); len(rows) > 0 {
			fmt.Fprintln(tw, "\nRECEIPT\tPHASE\tTOOK\tSTATE\tEVIDENCE")
			for _, rw := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", rw.Fault, rw.Phase, rw.Took, paintReceipt(rw.State), rw.Summary)
			}
		}
	}
	if rows := actionRows(r, clk); len(rows) > 0 {
		fmt.Fprintln(tw, "\nACTION\tSTEP\tRAN\tOUTCOME")
		for _, a := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, a.Step, a.When, a.Outcome)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if clk.anchored() && (len(r.Faults) > 0 || len(r.Actions) > 0 || r.StopCondition != nil) {
		p("\n%s.\n", OriginText)
	}
	if r.StopCondition != nil {
		p("\nstopped: %s at %s\n", r.StopCondition.Reason, clk.at(r.StopCondition.At))
	}
	if r.Control != nil {
		p("\ncontrol: %s\n", controlLine(r.Control))
	}
	v := paint(r.Verdict)
	if colour {
		v = bold + v
	}
	_, err := fmt.Fprintf(w, "\nverdict: %s — %s\n", v, r.Reason)
	return err
}

func pct(f float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", 100*f), "0"), ".") + "%"
}

func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(10 * time.Microsecond).String()
}

func probeValue(p ProbeResult) string {
	if p.Samples == 0 {
		return "no data"
	}
	if strings.HasPrefix(p.Metric, "latency") || strings.HasSuffix(p.Metric, "latency_p99") {
		return secs(p.Value)
	}
	return fmt.Sprintf("%.4g", p.Value)
}

// underRow puts text on its own indented line under a table row, without
// breaking the table's columns: appended to the row's last cell (which is
// no column) and escaped, so the tabwriter neither measures nor splits it.
func underRow(text string) string {
	if text == "" {
		return ""
	}
	esc := string([]byte{tabwriter.Escape})
	return esc + "\n    " + strings.ReplaceAll(text, esc, "") + esc
}
