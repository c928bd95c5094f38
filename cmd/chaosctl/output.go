package main

import (
	"os"

	"github.com/chaosctl/chaosctl/internal/guardedio"
)

// stdoutTerminal says whether stdout is a terminal (progress lines go
// there then).
func (e *env) stdoutTerminal() bool {
	g, ok := e.stdout.(*guardedio.Writer)
	if !ok {
		return false
	}
	f, ok := g.Underlying().(*os.File)
	return ok && isTerminal(f)
}
