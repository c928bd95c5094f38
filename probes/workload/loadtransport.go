package workload

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// loadTransport is the generator's HTTP/1.1 transport for http:// URLs. It
// writes each request and reads its answer in the calling goroutine, on a
// keep-alive connection of its own pool, with net/http's own request writer
// and response reader. http.Transport hands every request to a writer and a
// reader goroutine per connection and back, and sets up three contexts and a
// connection request per call: on a 2-core machine those hand-offs were most
// of the generator's CPU beyond the system calls, and under CPU starvation the
// latency they add made it open thousands of connections. Anything else
// (https) goes to the fallback http.Transport.
//
// Its answers are http.Transport's: a connection is reused only after its
// answer was read to the end and neither side asked to close; a request that
// fails on a reused connection before any answer arrives is retried once on a
// new one when nothing of it was written or it is replayable (GET, HEAD,
// OPTIONS, TRACE, as net/http decides); an idle connection the server has
// closed is noticed before reuse; the request's context bounds the dial, the
// write and the read, and a done context ends them with its error.
type loadTransport struct {
	dialer      *net.Dialer
	fallback    *http.Transport
	maxIdle     int // per host
	idleTimeout time.Duration

	mu   sync.Mutex
	idle map[string][]*loadConn // by host:port, most recently used last
}

func newLoadTransport(dialer *net.Dialer, fallback *http.Transport, maxIdle int, idleTimeout time.Duration) *loadTransport {
	return &loadTransport{dialer: dialer, fallback: fallback, maxIdle: maxIdle, idleTimeout: idleTimeout,
		idle: make(map[string][]*loadConn)}
}

// loadConn is one keep-alive connection.
type loadConn struct {
	addr    string
	conn    net.Conn
	raw     syscall.RawConn // nil when the connection has none
	br      *bufio.Reader
	bw      *bufio.Writer
	written int64 // bytes written to conn
	read    int64 // bytes read from conn
	idleAt  time.Time
}

// Write counts what reaches the connection, so that a failed write can tell
// whether any of the request left.
func (c *loadConn) Write(p []byte) (int, error) {
	n, err := c.conn.Write(p)
	c.written += int64(n)
	return n, err
}

// Read counts what arrives, so that a failed exchange can tell whether any
// answer came.
func (c *loadConn) Read(p []byte) (int, error) {
	n, err := c.conn.Read(p)
	c.read += int64(n)
	return n, err
}

// longAgo is a deadline in the past: set on a connection, it ends a blocked
// read or write at once.
var longAgo = time.Unix(1, 0)

// RoundTrip implements http.RoundTripper.
func (t *loadTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil || req.URL.Scheme != "http" || req.URL.Host == "" {
		return t.fallback.RoundTrip(req)
	}
	ctx := req.Context()
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	for retried := false; ; retried = true {
		c, reused, err := t.get(ctx, addr)
		if err != nil {
			closeRequestBody(req)
			return nil, contextErr(ctx, err)
		}
		resp, nothingWritten, noAnswer, err := t.roundTrip(ctx, c, req)
		if err == nil {
			return resp, nil
		}
		if cerr := contextErr(ctx, nil); cerr != nil {
			closeRequestBody(req)
			return nil, cerr
		}
		if retried || !reused || !noAnswer || !(nothingWritten || replayable(req)) {
			closeRequestBody(req)
			return nil, err
		}
		// The server closed a kept-alive connection: once more on a new one.
		if req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return nil, err
			}
			body, gerr := req.GetBody()
			if gerr != nil {
				return nil, err
			}
			r2 := *req
			r2.Body = body
			req = &r2
		}
	}
}

// contextErr is ctx's error when ctx is done or its deadline has passed (the
// connection's deadline, the same instant, can fire first), else err.
func contextErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return err
}

// replayable is net/http's rule for retrying a request that may have been
// sent: an idempotent method (or an idempotency key) with a body that can be
// sent again.
func replayable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
}

func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// roundTrip sends req on c and reads the answer's header. On error c is
// closed, and nothingWritten and noAnswer say how far the exchange got.
func (t *loadTransport) roundTrip(ctx context.Context, c *loadConn, req *http.Request) (resp *http.Response, nothingWritten, noAnswer bool, err error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(longAgo) })
	fail := func(err error) (*http.Response, bool, bool, error) {
		stop()
		_ = c.conn.Close()
		return nil, nothingWritten, noAnswer, err
	}
	before := c.written
	if err := req.Write(c.bw); err != nil {
		nothingWritten, noAnswer = c.written == before && c.bw.Buffered() == 0, true
		return fail(err)
	}
	if err := c.bw.Flush(); err != nil {
		nothingWritten, noAnswer = c.written == before, true
		return fail(err)
	}
	readBefore := c.read
	for informational := 0; ; informational++ {
		resp, err = http.ReadResponse(c.br, req)
		if err != nil {
			noAnswer = c.read == readBefore && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err))
			return fail(err)
		}
		// Skip 1xx answers (100 Continue, 103 Early Hints) as http.Transport
		// does, up to a bound.
		if resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		if informational == 5 {
			return fail(errors.New("too many 1xx informational responses"))
		}
	}
	body := &loadBody{t: t, c: c, ctx: ctx, stop: stop, rc: resp.Body,
		reusable: !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols}
	if resp.Body == http.NoBody {
		body.finish(true)
		return resp, false, false, nil
	}
	resp.Body = body
	return resp, false, false, nil
}

// isReset reports whether err is the peer resetting the connection, which is
// how a server that closed an idle connection answers the next request.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// loadBody is an answer's body: reading it to its end gives the connection
// back to the pool, closing it early closes the connection.
type loadBody struct {
	t        *loadTransport
	c        *loadConn
	ctx      context.Context
	stop     func() bool
	rc       io.ReadCloser
	reusable bool
	done     bool
}

func (b *loadBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	switch {
	case err == io.EOF:
		b.finish(true)
	case err != nil:
		b.finish(false)
		err = contextErr(b.ctx, err)
	}
	return n, err
}

func (b *loadBody) Close() error {
	if !b.done {
		b.finish(false)
	}
	return nil
}

// finish ends the exchange: the connection goes back to the pool when the
// answer was read whole, nobody asked to close it and the context did not
// end it; else it is closed.
func (b *loadBody) finish(complete bool) {
	b.done = true
	stopped := b.stop()
	if complete && b.reusable && stopped {
		b.t.put(b.c)
		return
	}
	_ = b.c.conn.Close()
}

// get takes the most recently used idle connection to addr that is still
// open, or dials a new one.
func (t *loadTransport) get(ctx context.Context, addr string) (c *loadConn, reused bool, err error) {
	for {
		t.mu.Lock()
		list := t.idle[addr]
		n := len(list)
		if n == 0 {
			t.mu.Unlock()
			break
		}
		c = list[n-1]
		list[n-1] = nil
		t.idle[addr] = list[:n-1]
		t.mu.Unlock()
		if time.Since(c.idleAt) < t.idleTimeout && c.open() {
			return c, true, nil
		}
		_ = c.conn.Close()
	}
	conn, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	c = &loadConn{addr: addr, conn: conn}
	if sc, ok := conn.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	c.br = bufio.NewReaderSize(c, 4<<10)
	c.bw = bufio.NewWriterSize(c, 4<<10)
	return c, false, nil
}

// put makes c idle, or closes it when its host has maxIdle idle already.
func (t *loadTransport) put(c *loadConn) {
	_ = c.conn.SetDeadline(time.Time{})
	c.idleAt = time.Now()
	t.mu.Lock()
	if len(t.idle[c.addr]) < t.maxIdle {
		t.idle[c.addr] = append(t.idle[c.addr], c)
		c = nil
	}
	t.mu.Unlock()
	if c != nil {
		_ = c.conn.Close()
	}
}

// CloseIdleConnections closes every idle connection (http.Client's
// CloseIdleConnections calls it).
func (t *loadTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = make(map[string][]*loadConn)
	t.mu.Unlock()
	for _, list := range idle {
		for _, c := range list {
			_ = c.conn.Close()
		}
	}
	t.fallback.CloseIdleConnections()
}
