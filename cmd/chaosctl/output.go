package main

import (
	"io"
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

// isTerminalWriter says whether w (a guarded writer or a file) writes to
// a terminal.
func isTerminalWriter(w io.Writer) bool {
	if g, ok := w.(*guardedio.Writer); ok {
		w = g.Underlying()
	}
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}
