package statusline

import (
	"io"
	"sync"
	"time"
)

// clearLine moves to the start of the line and erases it (ANSI).
const clearLine = "\r\x1b[K"

// Terminal draws the progress line on a terminal, below the logs that
// Above writes.
type Terminal struct {
	mu   sync.Mutex
	out  io.Writer
	line string // the line on screen; "" when none is
}

// NewTerminal returns a Terminal drawing on out, a terminal.
func NewTerminal(out io.Writer) *Terminal { return &Terminal{out: out} }

// Show draws line in place of the one shown.
func (t *Terminal) Show(line string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, err := io.WriteString(t.out, clearLine+line)
	if err != nil {
		t.line = ""
		return err
	}
	t.line = line
	return nil
}

// Clear erases the line; the next Show draws it again.
func (t *Terminal) Clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.line != "" {
		_, _ = io.WriteString(t.out, clearLine)
		t.line = ""
	}
}

// Above returns a writer for log lines (whole lines per write, as logrus
// writes them) that writes each one to w above the progress line: the
// line is cleared, the log line written, then the line drawn again.
func (t *Terminal) Above(w io.Writer) io.Writer { return &above{t: t, w: w} }

type above struct {
	t *Terminal
	w io.Writer
}

func (a *above) Write(p []byte) (int, error) {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	if a.t.line == "" {
		return a.w.Write(p)
	}
	_, _ = io.WriteString(a.t.out, clearLine)
	n, err := a.w.Write(p)
	_, _ = io.WriteString(a.t.out, a.t.line)
	return n, err
}

// Plain writes the progress as a status line at most once per interval,
// through log (a logger's Info, say); never a carriage return.
type Plain struct {
	mu    sync.Mutex
	log   func(line string)
	every time.Duration
	now   func() time.Time
	last  time.Time
}

// DefaultInterval is how often Plain shows the line.
const DefaultInterval = 5 * time.Second

// NewPlain returns a Plain that passes a line to log at most once per every
// (DefaultInterval when 0).
func NewPlain(log func(line string), every time.Duration) *Plain {
	if every <= 0 {
		every = DefaultInterval
	}
	return &Plain{log: log, every: every, now: time.Now}
}

// Show passes line on when the last one passed on is every old or older.
func (p *Plain) Show(line string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if !p.last.IsZero() && now.Sub(p.last) < p.every {
		return nil
	}
	p.last = now
	p.log(line)
	return nil
}

// Clear does nothing: a plain line is never erased.
func (p *Plain) Clear() {}
