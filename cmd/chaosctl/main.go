// Command chaosctl runs declarative chaos experiments against the bundled demo
// cluster or your own services, and judges them against SLO error budgets.
//
// main is thin: it builds the command-line app, runs it and maps the returned
// error to an exit code (exitcodes.go documents them).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/chaosctl/chaosctl/internal/crash"
)

func main() {
	// Without this, Go's runtime kills chaosctl on the first write to a
	// stdout or stderr whose reader went away (`chaosctl run x.yaml 2>&1 |
	// head -1`), faults applied or not. Handled, such a write fails with
	// EPIPE, which the guarded outputs turn into an interruption (exit 3).
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	os.Exit(runMain(newEnv(os.Stdin, os.Stdout, os.Stderr), os.Args))
}

// runMain runs the app on args and returns the exit code. A panic on the
// app's goroutine ends here, after the deferred reverts of whatever it
// unwound (a run's and `cluster up`'s faults): it is logged with its stack
// and exits 6 (exitCrashed), not Go's 2, which means invalid input here.
func runMain(e *env, args []string) (code int) {
	defer func() {
		if v := recover(); v != nil {
			p := crash.Of("chaosctl", v)
			e.log.WithField("stack", string(p.Stack)).Errorf("%v; please report this bug", p)
			code = exitCrashed
		}
	}()
	err := newApp(e).RunContext(context.Background(), reorderArgs(args))
	code = e.finalCode(exitCode(err))
	if err != nil && code != exitPass && !isReported(err) {
		fmt.Fprintf(e.stderr, "chaosctl: %v\n", err)
	}
	return code
}
