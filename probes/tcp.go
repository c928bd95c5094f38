package probes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// DefaultTCPTimeout bounds a TCP probe without a latency bound whose context
// has no deadline.
const DefaultTCPTimeout = 10 * time.Second

// maxTCPAnswer is how much of an answer a TCP probe reads.
const maxTCPAnswer = 64 << 10

// TCPResult is one TCP probe's outcome.
type TCPResult struct {
	Latency time.Duration `json:"latency"`
	OK      bool          `json:"ok"`
	Reason  string        `json:"reason"`
}

// CheckTCP connects to addr and, when send is not empty, writes it and
// reads until the answer contains expect (without expect: until any answer
// arrives). Everything must happen within maxLatency (0: DefaultTCPTimeout
// unless ctx ends earlier). Latency runs from before the connect to the
// end of the check.
func CheckTCP(ctx context.Context, addr, send, expect string, maxLatency time.Duration) TCPResult {
	limit := maxLatency
	if limit <= 0 {
		limit = DefaultTCPTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	start := time.Now()
	fail := func(format string, args ...any) TCPResult {
		res := TCPResult{Latency: time.Since(start), Reason: fmt.Sprintf(format, args...)}
		switch {
		case ctx.Err() != nil:
			res.Reason = fmt.Sprintf("tcp %s: probe interrupted: %v", addr, context.Cause(ctx))
		case maxLatency > 0 && (errors.Is(cctx.Err(), context.DeadlineExceeded) || res.Latency >= maxLatency):
			res.Reason = fmt.Sprintf("tcp %s: not done within maxLatency %s (%s)", addr, maxLatency, res.Reason)
		}
		return res
	}
	var d net.Dialer
	conn, err := d.DialContext(cctx, "tcp", addr)
	if err != nil {
		return fail("tcp %s: connect: %v", addr, err)
	}
	defer conn.Close()
	if dl, ok := cctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(cctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if send != "" {
		if _, err := io.WriteString(conn, send); err != nil {
			return fail("tcp %s: send: %v", addr, err)
		}
		var got []byte
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			got = append(got, buf[:n]...)
			if n > 0 && (expect == "" || bytes.Contains(got, []byte(expect))) {
				break
			}
			if err != nil || len(got) > maxTCPAnswer {
				if expect == "" {
					return fail("tcp %s: no answer: %v", addr, err)
				}
				return fail("tcp %s: answer %q lacks %q: %v", addr, truncate(got, 80), expect, err)
			}
		}
	}
	res := TCPResult{Latency: time.Since(start), OK: true}
	if maxLatency > 0 && res.Latency > maxLatency {
		res.OK = false
		res.Reason = fmt.Sprintf("tcp %s: done in %s, over maxLatency %s", addr, roundLatency(res.Latency), maxLatency)
		return res
	}
	res.Reason = fmt.Sprintf("tcp %s: ok in %s", addr, roundLatency(res.Latency))
	return res
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
