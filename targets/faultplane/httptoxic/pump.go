package httptoxic

import (
	"errors"
	"io"
)

// errStopped ends a parser whose toxic is being removed.
var errStopped = errors.New("httptoxic: stopped")

// outItem is what a parser hands the toxic's Pipe: bytes to write on, and
// whether to close the connection after them.
type outItem struct {
	data  []byte
	close bool
}

// pump connects a connection's parser goroutine, which keeps its place in
// the HTTP stream across the toxic's Pipe calls (toxiproxy interrupts and
// re-runs Pipe whenever a toxic is added to the link), with Pipe, which
// alone reads the stub's input and writes its output.
type pump struct {
	in   chan []byte  // Pipe → parser; closed at the end of the stream
	out  chan outItem // parser → Pipe
	stop chan struct{}
	done chan struct{}

	// Owned by the parser goroutine (read by Cleanup after done):
	cur   []byte // the chunk being read
	inEOF bool
	// raw holds every byte handed to the parser's reader that was neither
	// written on nor discarded; its tail is what the reader has buffered.
	raw []byte
	// dirty: writing raw on as it is would break the stream (a request is
	// being swallowed, a response dropped): a removal closes the connection.
	dirty bool
}

func newPump() *pump {
	return &pump{in: make(chan []byte), out: make(chan outItem), stop: make(chan struct{}), done: make(chan struct{})}
}

// Read implements io.Reader for the parser's bufio.Reader, recording what
// it hands out in raw.
func (p *pump) Read(b []byte) (int, error) {
	if len(p.cur) == 0 {
		if err := p.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	p.raw = append(p.raw, b[:n]...)
	return n, nil
}

func (p *pump) fill() error {
	if p.inEOF {
		return io.EOF
	}
	select {
	case c, ok := <-p.in:
		if !ok {
			p.inEOF = true
			return io.EOF
		}
		p.cur = c
		return nil
	case <-p.stop:
		return errStopped
	}
}

// waitInputOr waits until input is there (or the stream ended: true) or
// notify fires (false).
func (p *pump) waitInputOr(notify <-chan struct{}) (bool, error) {
	if len(p.cur) > 0 || p.inEOF {
		return true, nil
	}
	select {
	case c, ok := <-p.in:
		if !ok {
			p.inEOF = true
		}
		p.cur = c
		return true, nil
	case <-notify:
		return false, nil
	case <-p.stop:
		return false, errStopped
	}
}

func (p *pump) send(it outItem) error {
	select {
	case p.out <- it:
		return nil
	case <-p.stop:
		return errStopped
	}
}

// forward writes on the first n bytes of raw.
func (p *pump) forward(n int) error {
	if n <= 0 {
		return nil
	}
	data := append([]byte(nil), p.raw[:n]...)
	if err := p.send(outItem{data: data}); err != nil {
		return err
	}
	p.raw = p.raw[n:]
	return nil
}

// discard drops the first n bytes of raw.
func (p *pump) discard(n int) { p.raw = p.raw[n:] }

// consumed is how many bytes of raw the reader has handed out (the rest it
// holds buffered).
func consumed(p *pump, buffered int) int { return len(p.raw) - buffered }

// passThrough writes everything on until the stream ends.
func (p *pump) passThrough() error {
	for {
		if err := p.forward(len(p.raw)); err != nil {
			return err
		}
		if len(p.cur) == 0 {
			if err := p.fill(); err != nil {
				return err
			}
		}
		p.raw = append(p.raw, p.cur...)
		p.cur = nil
	}
}

// swallow discards everything until the stream ends.
func (p *pump) swallow() error {
	p.dirty = true
	for {
		p.raw, p.cur = p.raw[:0], nil
		if err := p.fill(); err != nil {
			return err
		}
	}
}
