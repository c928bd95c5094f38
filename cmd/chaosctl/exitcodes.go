package main

import (
	"errors"
	"fmt"

	"github.com/chaosctl/chaosctl/experiments/runner"
	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/targets/clusterctl"
	"github.com/chaosctl/chaosctl/targets/process"
)

// Exit codes of chaosctl, the same for every command (docs/cli.md lists them, and a
// test keeps that list in step with exitCodesHelp).
const (
	exitPass         = 0 // every SLO within budget, every probe and check held
	exitFail         = 1 // an SLO budget exhausted, a probe or check violated, or a stop condition fired
	exitUsage        = 2 // invalid input or usage; nothing was started or injected
	exitInterrupted  = 3 // SIGINT, SIGTERM, SIGHUP, SIGQUIT or a closed stdout; every fault reverted before exit
	exitInconclusive = 4 // too little data, a checker timed out, a fault that did not land, a steady state broken before the first fault
	exitEnvironment  = 5 // environment or internal error (target failed to start, a revert failed)
	// exitCrashed: chaosctl panicked (a bug) and every fault was reverted
	// before exit. Not 5: 5 says the environment failed or a revert did, so
	// that a fault may remain and `chaosctl recover` is the next step; after
	// a crash there is nothing to recover, there is a bug to report, and a
	// script must tell the two apart. Not 2 either, Go's own code for a
	// panic, which says "invalid input" here. A crash whose revert failed
	// exits 5.
	exitCrashed = 6
)

const exitCodesHelp = `EXIT CODES:
   0  pass: every SLO within budget, every steady-state probe and check held
   1  fail: an SLO budget exhausted, a probe or check violated, or a stop condition fired
   2  invalid input or usage; nothing was started or injected
   3  interrupted (SIGINT, SIGTERM, SIGHUP, SIGQUIT, or stdout closed); every fault reverted before exit
   4  inconclusive: too little data, a checker timed out, a fault that did not land, or a steady state broken before the first fault (the faults were judged against no baseline); never reported as pass
   5  environment or internal error (target failed to start, a revert failed)
   6  chaosctl crashed (a bug: please report it); every fault was reverted before exit`

// exitError attaches an exit code to an error. reported says the error was
// already shown to the user, so main prints nothing more.
type exitError struct {
	code     int
	err      error
	reported bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// usageError marks bad input: exit 2.
func usageError(err error) error { return withCode(exitUsage, err) }

// exitCode maps an error from the app to the process exit code, in one place.
func exitCode(err error) int {
	if err == nil {
		return exitPass
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if code, ended := runEndCode(err); ended {
		return code
	}
	var pe *process.PortInUseError
	if errors.As(err, &pe) || clusterctl.IsInputError(err) {
		return exitUsage
	}
	return exitEnvironment
}

// runEndCode is the exit code of a run that ended early, and whether err
// says it did: a failed revert (runner.ErrEnvironment) outranks the rest,
// since a fault may remain; then a crash (runner.ErrCrashed, or a
// *crash.Panic of any other goroutine), then an interruption.
func runEndCode(err error) (code int, ended bool) {
	_, panicked := errors.AsType[*crash.Panic](err)
	crashed := panicked || errors.Is(err, runner.ErrCrashed)
	interrupted := errors.Is(err, runner.ErrInterrupted)
	switch {
	case !crashed && !interrupted:
		return 0, false
	case errors.Is(err, runner.ErrEnvironment):
		return exitEnvironment, true
	case crashed:
		return exitCrashed, true
	}
	return exitInterrupted, true
}

func isReported(err error) bool {
	var ee *exitError
	return errors.As(err, &ee) && ee.reported
}

// judgedCode is the exit code of work judged with verdict whose library
// call returned err: a run that ended early as runEndCode says, bad input
// 2, any other error 5, else the verdict's code.
func judgedCode(verdict string, err error) int {
	if code, ended := runEndCode(err); ended {
		return code
	}
	switch {
	case errors.Is(err, runner.ErrUsage):
		return exitUsage
	case err != nil:
		return exitEnvironment
	}
	return verdictCode(verdict)
}
