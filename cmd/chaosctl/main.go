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
)

func main() {
	env := newEnv(os.Stdin, os.Stdout, os.Stderr)
	err := newApp(env).RunContext(context.Background(), reorderArgs(os.Args))
	code := exitCode(err)
	if err != nil && code != exitPass && !isReported(err) {
		fmt.Fprintf(os.Stderr, "chaosctl: %v\n", err)
	}
	os.Exit(code)
}
