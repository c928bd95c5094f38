package report

import "fmt"

// actionRow is one action or rollback as the terminal and summary.md show
// it.
type actionRow struct {
	Name, Step, When, Outcome string
}

// actionRows lists each action, then its rollback, with when it ran and
// how it went.
func actionRows(r *Result, clk runClock) []actionRow {
	var rows []actionRow
	for _, a := range r.Actions {
		rows = append(rows, actionRow{Name: a.Name, Step: a.Step, When: stepWhen(a.Outcome, clk), Outcome: stepOutcomeText(a.Outcome, "not run: the run ended before its time")})
		if rb := a.Rollback; rb != nil {
			rows = append(rows, actionRow{Name: a.Name + " (rollback)", Step: rb.Step, When: stepWhen(rb.Outcome, clk), Outcome: stepOutcomeText(rb.Outcome, "not run: its action never started")})
		}
	}
	return rows
}

func stepWhen(o *StepOutcome, clk runClock) string {
	if o == nil || o.Started.IsZero() {
		return "—"
	}
	return clk.at(o.Started)
}

func stepOutcomeText(o *StepOutcome, none string) string {
	if o == nil {
		return none
	}
	state := "ok"
	if !o.OK {
		state = "FAILED"
	}
	return fmt.Sprintf("%s: %s", state, o.Reason)
}
