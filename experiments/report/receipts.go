package report

import (
	"fmt"
	"strings"

	"github.com/chaosctl/chaosctl/injectors"
)

// ReceiptText is a receipt in a few words for tables: "verified", "DID NOT
// HOLD: …", "not measured: …", or "" when none was taken.
func ReceiptText(r *injectors.Receipt) string {
	switch {
	case r == nil:
		return ""
	case r.Verified:
		return "verified (" + r.Summary + ", " + r.Took + ")"
	case r.Skipped != "":
		return r.Summary
	}
	return "DID NOT HOLD: " + r.Summary
}

// receiptBody lists a receipt's checks, one a line, after when it was
// measured (UTC, and at t from the end of warmup when c knows it).
func receiptBody(r *injectors.Receipt, c runClock) string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	at := timeText(r.At)
	if c.anchored() && !r.At.IsZero() {
		at += " (" + c.t(r.At) + ")"
	}
	fmt.Fprintf(&b, "%s\nmeasured at %s in %s\n", r.Summary, at, r.Took)
	for _, c := range r.Checks {
		b.WriteString(checkLine(c) + "\n")
	}
	return b.String()
}

// checkLine is one check of a receipt: subject, want, got and its state.
func checkLine(c injectors.ReceiptCheck) string {
	state := "ok"
	switch {
	case c.Unmeasured != "":
		return fmt.Sprintf("%s: want %s; not measured: %s", c.Subject, c.Want, c.Unmeasured)
	case !c.OK && c.Excused != "":
		state = "excused: " + c.Excused
	case !c.OK:
		state = "CONTRADICTS THE FAULT"
	}
	return fmt.Sprintf("%s: want %s, got %s (%s)", c.Subject, c.Want, c.Got, state)
}

// receiptRow is one receipt in the reports' receipt tables.
type receiptRow struct {
	Fault, Phase, State, Summary, Took string
	Checks                             []string
}

// receiptRows lists every receipt taken, in fault order, applied before
// reverted.
func receiptRows(r *Result) []receiptRow {
	var rows []receiptRow
	for _, f := range r.Faults {
		for _, ph := range []struct {
			name string
			rec  *injectors.Receipt
		}{{"applied", f.Receipt}, {"reverted", f.RevertReceipt}} {
			if ph.rec == nil {
				continue
			}
			row := receiptRow{Fault: f.Name, Phase: ph.name, Summary: ph.rec.Summary, Took: ph.rec.Took, State: Pass}
			switch {
			case ph.rec.Skipped != "":
				row.State = "skipped"
			case !ph.rec.Verified:
				row.State = Fail
			}
			for _, c := range ph.rec.Checks {
				row.Checks = append(row.Checks, checkLine(c))
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// receiptWord is a receipt's state in the HTML report.
func receiptWord(state string) string {
	switch state {
	case Pass:
		return "verified"
	case Fail:
		return "did not hold"
	}
	return state
}
