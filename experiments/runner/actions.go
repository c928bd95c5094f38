package runner

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/probes"
)

// ExecSpec translates a command of the file for probes.RunExec.
func ExecSpec(x *experiments.ExecStep) probes.ExecSpec {
	return probes.ExecSpec{Command: x.Command, Env: x.Env, Dir: x.Dir, Timeout: x.Timeout, ExitCode: x.Expect.ExitCode, Stdout: x.Expect.Stdout}
}

// StepOf translates an action's or rollback's step for injectors.RunStep
// and the ledger.
func StepOf(s *experiments.ActionStep) injectors.Step {
	var out injectors.Step
	if s.Exec != nil {
		x := ExecSpec(s.Exec)
		out.Exec = &x
	}
	if h := s.HTTP; h != nil {
		out.HTTP = &probes.HTTPCallSpec{Method: string(h.Method), URL: h.URL, Headers: h.Headers, Body: h.Body, Status: h.Status, Timeout: h.Timeout}
	}
	return out
}

// RollbackOf is the rollback of action name in e, nil when e has no such
// action or it has no rollback: for `chaosctl recover`, which reads the
// rollback again from the run's experiment, its secrets resolved.
func RollbackOf(e *experiments.Experiment, name string) *injectors.Step {
	for _, a := range e.Actions {
		if a.Name == name && a.Rollback != nil {
			s := StepOf(a.Rollback)
			return &s
		}
	}
	return nil
}

// initActions fills the action results from the file, before the run.
func (r *runState) initActions() {
	for _, a := range r.e.Actions {
		ar := report.ActionResult{Name: a.Name, Kind: stepKind(&a.ActionStep), Step: experiments.StepText(&a.ActionStep), At: a.At.Seconds()}
		if a.Rollback != nil {
			ar.Rollback = &report.RollbackResult{Step: experiments.StepText(a.Rollback)}
		}
		r.res.Actions = append(r.res.Actions, ar)
	}
}

func stepKind(s *experiments.ActionStep) string {
	if s.HTTP != nil {
		return "http"
	}
	return "exec"
}

// runActions runs the actions at their offsets from the end of warmup
// (t0 is the workload's start) until ctx (the workload's) ends; a step in
// progress then is killed. Before each, the ledger records its rollback:
// from then on the rollback runs whatever happens (rollbackActions, or
// `chaosctl recover`).
func (r *runState) runActions(ctx context.Context, t0 time.Time) {
	order := make([]int, len(r.e.Actions))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return r.e.Actions[order[a]].At < r.e.Actions[order[b]].At })
	for _, i := range order {
		a := &r.e.Actions[i]
		if !sleepUntil(ctx, t0.Add(r.plan.Warmup+a.At)) {
			return
		}
		var rollback *injectors.Step
		if a.Rollback != nil {
			s := StepOf(a.Rollback)
			rollback = &s
		}
		if err := r.ledger.ActionIntent(a.Name, rollback); err != nil {
			// Without the record its rollback could not be promised.
			now := time.Now().UTC()
			r.locked(func() {
				r.res.Actions[i].Outcome = &report.StepOutcome{Started: now, Reason: fmt.Sprintf("not run: the ledger could not record it: %v", err)}
			})
			r.log.WithError(err).WithField("action", a.Name).Error("action not run: the ledger could not record it")
			continue
		}
		r.locked(func() { r.actionsStarted = append(r.actionsStarted, i) })
		res := injectors.RunStep(ctx, StepOf(&a.ActionStep))
		var cause error
		if !res.OK {
			cause = errors.New(res.Reason)
		}
		if err := r.ledger.ActionDone(a.Name, cause); err != nil {
			r.log.WithError(err).WithField("action", a.Name).Warn("fault ledger: record the action's end")
		}
		out := stepOutcome(res)
		r.locked(func() { r.res.Actions[i].Outcome = out })
		r.journalStep("action", a.Name, res)
	}
}

// rollbackActions runs the rollback of every action that started and has
// one, newest first, once: on every path out of the run, after the faults
// are reverted. Each runs under its own timeout, not the run's context:
// an interrupted run still rolls back. The error joins the failed ones.
func (r *runState) rollbackActions() error {
	r.mu.Lock()
	started := append([]int(nil), r.actionsStarted...)
	r.mu.Unlock()
	var errs []error
	for k := len(started) - 1; k >= 0; k-- {
		i := started[k]
		a := &r.e.Actions[i]
		if a.Rollback == nil {
			continue
		}
		res := injectors.RunStep(context.Background(), StepOf(a.Rollback))
		var cause error
		if !res.OK {
			cause = errors.New(res.Reason)
			errs = append(errs, fmt.Errorf("rollback of action %s: %s", a.Name, res.Reason))
		}
		if err := r.ledger.RollbackDone(a.Name, cause); err != nil {
			r.log.WithError(err).WithField("action", a.Name).Warn("fault ledger: record the rollback")
		}
		out := stepOutcome(res)
		r.locked(func() { r.res.Actions[i].Rollback.Outcome = out })
		r.journalStep("rollback", a.Name, res)
	}
	return errors.Join(errs...)
}

// journalStep journals and logs how an action's or rollback's step went.
func (r *runState) journalStep(what, name string, res injectors.StepResult) {
	data := map[string]any{"action": name, "ok": res.OK, "reason": res.Reason, "duration": res.Duration.String()}
	if x := res.Exec; x != nil {
		data["exitCode"], data["stdout"], data["stderr"] = x.ExitCode, x.Stdout, x.Stderr
	}
	if h := res.HTTP; h != nil {
		data["status"] = h.Status
	}
	r.journal.Add(what, data)
	entry := r.log.WithFields(logrus.Fields{"action": name, "ok": res.OK, "t": r.tText(res.Started), "utc": utcText(res.Started)})
	if res.OK {
		entry.Info(what + " done: " + res.Reason)
	} else {
		entry.Warn(what + " FAILED: " + res.Reason)
	}
}

func stepOutcome(res injectors.StepResult) *report.StepOutcome {
	o := &report.StepOutcome{Started: res.Started, Duration: res.Duration.Seconds(), OK: res.OK, Reason: res.Reason}
	if x := res.Exec; x != nil {
		code := x.ExitCode
		o.ExitCode, o.Stdout, o.Stderr, o.Truncated = &code, x.Stdout, x.Stderr, x.Truncated
	}
	if h := res.HTTP; h != nil {
		o.Status = h.Status
	}
	return o
}

// actionProblem is the first action that failed or could not run: a run
// whose actions did not do what the file says proves nothing (inconclusive).
// Actions whose time the run did not reach are not problems.
func (r *runState) actionProblem() string {
	for _, a := range r.res.Actions {
		if o := a.Outcome; o != nil && !o.OK {
			return fmt.Sprintf("action %s failed: %s", a.Name, o.Reason)
		}
	}
	return ""
}
