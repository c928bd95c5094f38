package main

import (
	"os"

	"github.com/chaosctl/chaosctl/internal/guardedio"
)

// stdoutTerminal says whether stdout is a terminal (progress lines go
// there then).
func (e *env) stdoutTerminal() bool {
	f := e.stdoutFile()
	return f != nil && isTerminal(f)
}

// stdoutFile is the file stdout writes to; nil when it is not a file (a
// test's buffer).
func (e *env) stdoutFile() *os.File {
	g, ok := e.stdout.(*guardedio.Writer)
	if !ok {
		return nil
	}
	f, _ := g.Underlying().(*os.File)
	return f
}
