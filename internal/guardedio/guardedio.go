// Package guardedio guards a command's standard output and error against a
// reader that went away. A program that writes to a closed pipe or a hung-up
// terminal must not die there (Go's runtime ends it on SIGPIPE unless the
// signal is handled) nor lose track of the faults it must revert: with these
// writers the first failed write marks the output as lost, which the caller
// treats as an interruption, and every later write is refused (results) or
// dropped quietly (logs, which must never fail).
//
// Since a run may write nothing for minutes, Watch also notices the reader
// going away between writes (poll(2) on the output).
//
//	out, errOut, lost := guardedio.Guard(os.Stdout, os.Stderr)
//	go lost.Watch(ctx, os.Stdout, guardedio.WatchInterval)
//	... select { case <-lost.Done(): revert and exit }
package guardedio

import (
	"io"
	"os"
	"sync"
)

// Writer is stdout or stderr as the commands write to it. Its first failed
// write (EPIPE once the program handles SIGPIPE; EIO from a terminal that
// hung up) marks its Lost, if it has one, and every later write writes
// nothing: a results writer's fail again, so that a caller knows its output
// is gone; a quiet (logs) writer's report success, so logging never fails.
type Writer struct {
	w     io.Writer
	quiet bool
	lost  *Lost

	mu     sync.Mutex
	broken error
}

// Lost is closed when the results can no longer be written: stdout failed,
// or stderr when it is the same file (`2>&1 | head`).
type Lost struct {
	once sync.Once
	ch   chan struct{}
}

func newLost() *Lost { return &Lost{ch: make(chan struct{})} }

func (l *Lost) close() { l.once.Do(func() { close(l.ch) }) }

// Done is closed once the output is lost.
func (l *Lost) Done() <-chan struct{} { return l.ch }

// IsLost says whether the output is lost, without waiting.
func (l *Lost) IsLost() bool {
	select {
	case <-l.ch:
		return true
	default:
		return false
	}
}

func (g *Writer) Write(p []byte) (int, error) {
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

// Underlying is the writer g guards.
func (g *Writer) Underlying() io.Writer { return g.w }

// Guard wraps stdout (results) and stderr (logs); lost is closed when stdout
// fails, or stderr when both are the same file.
func Guard(stdout, stderr io.Writer) (out, errOut *Writer, lost *Lost) {
	lost = newLost()
	out = &Writer{w: stdout, lost: lost}
	errOut = &Writer{w: stderr, quiet: true}
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
