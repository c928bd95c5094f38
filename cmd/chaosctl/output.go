package main

import (
	"io"
	"os"
	"sync"
)

// guardedOutput is stdout or stderr as the commands write to it. Its first
// failed write (the reader of a pipe went away: EPIPE, since main handles
// SIGPIPE; a terminal hung up: EIO) closes lost, and every later write
// writes nothing: stdout's fail again, so that a caller knows its output is
// gone; the logs' (quiet) report success, so that logging never fails.
type guardedOutput struct {
	w     io.Writer
	quiet bool
	lost  *lostOutput

	mu     sync.Mutex
	broken error
}

// lostOutput is closed when the results of a run can no longer be written:
// stdout failed, or stderr when it is the same file (`2>&1 | head`).
type lostOutput struct {
	once sync.Once
	ch   chan struct{}
}

func newLostOutput() *lostOutput { return &lostOutput{ch: make(chan struct{})} }

func (l *lostOutput) close() { l.once.Do(func() { close(l.ch) }) }

// isLost says whether the output is lost, without waiting.
func (l *lostOutput) isLost() bool {
	select {
	case <-l.ch:
		return true
	default:
		return false
	}
}

func (g *guardedOutput) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.broken == nil {
		n, err := g.w.Write(p)
		if err == nil {
			return n, nil
		}
		g.broken = err
		if g.lost != nil {
			g.lost.close()
		}
	}
	if g.quiet {
		return len(p), nil
	}
	return 0, g.broken
}

// guardOutputs wraps stdout and stderr; lost is closed when stdout fails,
// or stderr when both are the same file.
func guardOutputs(stdout, stderr io.Writer) (out, errOut *guardedOutput, lost *lostOutput) {
	lost = newLostOutput()
	out = &guardedOutput{w: stdout, lost: lost}
	errOut = &guardedOutput{w: stderr, quiet: true}
	if sameFile(stdout, stderr) {
		errOut.lost = lost
	}
	return out, errOut, lost
}

// sameFile says whether a and b are the same open file (or pipe, or
// terminal).
func sameFile(a, b io.Writer) bool {
	fa, ok := a.(*os.File)
	if !ok {
		return false
	}
	fb, ok := b.(*os.File)
	if !ok {
		return false
	}
	sa, err := fa.Stat()
	if err != nil {
		return false
	}
	sb, err := fb.Stat()
	return err == nil && os.SameFile(sa, sb)
}

// stdoutTerminal says whether stdout is a terminal (progress lines go
// there then).
func (e *env) stdoutTerminal() bool {
	g, ok := e.stdout.(*guardedOutput)
	if !ok {
		return false
	}
	f, ok := g.w.(*os.File)
	return ok && isTerminal(f)
}
