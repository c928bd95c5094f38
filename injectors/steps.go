package injectors

import (
	"context"
	"time"

	"github.com/chaosctl/chaosctl/probes"
)

// Step is a step of the user's that chaosctl runs: a command or an HTTP
// call (exactly one). The ledger records an action's rollback as one, so
// that Recover runs it after a killed chaosctl.
type Step struct {
	Exec *probes.ExecSpec     `json:"exec,omitempty"`
	HTTP *probes.HTTPCallSpec `json:"http,omitempty"`
}

// StepResult is what running a step gave.
type StepResult struct {
	Started  time.Time              `json:"started"`
	Duration time.Duration          `json:"duration"`
	OK       bool                   `json:"ok"`
	Reason   string                 `json:"reason"`
	Exec     *probes.ExecResult     `json:"exec,omitempty"`
	HTTP     *probes.HTTPCallResult `json:"http,omitempty"`
}

// RunStep runs s (probes.RunExec or probes.CallHTTP) and says how it went.
func RunStep(ctx context.Context, s Step) StepResult {
	res := StepResult{Started: time.Now().UTC()}
	switch {
	case s.Exec != nil:
		r := probes.RunExec(ctx, *s.Exec)
		res.Exec, res.OK, res.Reason, res.Duration = &r, r.OK, r.Reason, r.Duration
	case s.HTTP != nil:
		r := probes.CallHTTP(ctx, *s.HTTP)
		res.HTTP, res.OK, res.Reason, res.Duration = &r, r.OK, r.Reason, r.Duration
	default:
		res.Reason = "an empty step: neither a command nor an HTTP call"
	}
	return res
}

// ActionIntent records that action name is about to run, with its rollback
// (nil: it has none): from now on the rollback is pending, and Recover runs
// it if chaosctl dies before RollbackDone.
func (l *Ledger) ActionIntent(name string, rollback *Step) error {
	return l.write(Record{Type: RecordActionIntent, ActionName: name, Rollback: rollback})
}

// ActionDone records how action name went.
func (l *Ledger) ActionDone(name string, cause error) error {
	return l.write(Record{Type: RecordActionDone, ActionName: name, Error: errText(cause)})
}

// RollbackDone records that the rollback of action name ran: it is never
// run again. cause, when not nil, says it failed: it stays pending.
func (l *Ledger) RollbackDone(name string, cause error) error {
	if cause != nil {
		return l.write(Record{Type: RecordRollbackFailed, ActionName: name, Error: errText(cause)})
	}
	return l.write(Record{Type: RecordRollbackDone, ActionName: name})
}

// pendingRollback is a rollback an action's intent recorded and no
// rollback-done followed.
type pendingRollback struct {
	action string
	step   Step
}

// pendingRollbacks lists the rollbacks still to run, newest action first.
func pendingRollbacks(recs []Record) []pendingRollback {
	var order []string
	steps := map[string]Step{}
	done := map[string]bool{}
	for _, r := range recs {
		switch r.Type {
		case RecordActionIntent:
			if r.Rollback != nil {
				if _, ok := steps[r.ActionName]; !ok {
					order = append(order, r.ActionName)
				}
				steps[r.ActionName] = *r.Rollback
				done[r.ActionName] = false
			}
		case RecordRollbackDone:
			done[r.ActionName] = true
		}
	}
	var out []pendingRollback
	for i := len(order) - 1; i >= 0; i-- {
		if name := order[i]; !done[name] {
			out = append(out, pendingRollback{action: name, step: steps[name]})
		}
	}
	return out
}
