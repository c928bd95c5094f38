package main

import (
	"errors"
	"fmt"

	"github.com/chaosctl/chaosctl/targets/clusterctl"
	"github.com/chaosctl/chaosctl/targets/process"
)

// Exit codes of chaosctl, the same for every command (the README lists them under "Exit codes").
const (
	exitPass         = 0 // every SLO within budget, every probe and check held
	exitFail         = 1 // an SLO budget exhausted, a probe or check violated, or a stop condition fired
	exitUsage        = 2 // invalid input or usage; nothing was started or injected
	exitInterrupted  = 3 // SIGINT/SIGTERM; every fault reverted before exit
	exitInconclusive = 4 // too little data, or a checker timed out; never reported as pass
	exitEnvironment  = 5 // environment or internal error (target failed to start, a revert failed)
)

const exitCodesHelp = `EXIT CODES:
   0  pass: every SLO within budget, every steady-state probe and check held
   1  fail: an SLO budget exhausted, a probe or check violated, or a stop condition fired
   2  invalid input or usage; nothing was started or injected
   3  interrupted (SIGINT/SIGTERM); every fault reverted before exit
   4  inconclusive: too little data, or a checker timed out; never reported as pass
   5  environment or internal error (target failed to start, a revert failed)`

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
	var pe *process.PortInUseError
	if errors.As(err, &pe) || clusterctl.IsInputError(err) {
		return exitUsage
	}
	return exitEnvironment
}

func isReported(err error) bool {
	var ee *exitError
	return errors.As(err, &ee) && ee.reported
}
