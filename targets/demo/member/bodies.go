package member

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
)

// Server deadlines and body bounds of every member.
const (
	// ReadHeaderTimeout bounds the receipt of a request's header.
	ReadHeaderTimeout = 5 * time.Second
	// DefaultBodyTimeout bounds the receipt of a request's body, from the
	// moment its header was read. The largest body is a value (1 MiB), which
	// a link slowed to 128 KiB/s still delivers in time; every caller's own
	// deadline is far shorter.
	DefaultBodyTimeout = 10 * time.Second
	// WriteTimeout bounds a request from the end of its header to the last
	// byte of its answer: a caller that stops reading holds its handler that
	// long at most. Longer than any legitimate answer (a resync snapshot is
	// bounded by its caller to 10 s; a CPU profile may ask for up to 59 s).
	WriteTimeout = time.Minute
	// IdleTimeout closes keep-alive connections idle that long.
	IdleTimeout = 2 * time.Minute
	// DefaultBodyBudget bounds the bytes of the bodies a member is
	// receiving at once (they are held in memory until their request is
	// answered).
	DefaultBodyBudget = 64 << 20
	// maxBody is the largest body any endpoint takes: a value.
	maxBody = api.MaxValueLen
	// bodyChunk is how much of the budget one read of a body reserves.
	bodyChunk = 32 << 10
)

// bodies reads every request's body before the request goes any further — to
// admission control, to the replica API, to a control endpoint — within a
// deadline, and hands the handler a body already in memory. A connection that
// trickles its body therefore holds no in-flight slot of admission control
// (resilience.Middleware) while it does, only a goroutine and the part of the
// budget it has sent, until the deadline ends it with 408.
//
// The deadline is the connection's read deadline, set for the body alone and
// cleared once it is read. The server sets no ReadTimeout: after the body, the
// server's background read of the connection would hit it and cancel the
// request's context, cutting a long answer (a resync snapshot, a profile)
// short.
type bodies struct {
	timeout time.Duration
	budget  *byteBudget
	refused func(reason string)
}

func newBodies(timeout time.Duration, budget int64, m *metrics.Member) *bodies {
	if timeout <= 0 {
		timeout = DefaultBodyTimeout
	}
	if budget <= 0 {
		budget = DefaultBodyBudget
	}
	return &bodies{
		timeout: timeout,
		budget:  &byteBudget{free: budget},
		refused: func(reason string) { m.BodyRefused.WithLabelValues(reason).Inc() },
	}
}

var (
	errBodyBudget   = errors.New("the member is receiving too many bodies at once")
	errBodyTooLarge = errors.New("body too large")
)

func (b *bodies) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > maxBody {
			b.refuse(w, "too_large", http.StatusRequestEntityTooLarge, errBodyTooLarge.Error()+": the limit is 1 MiB")
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(b.timeout))
		body, held, err := b.read(r)
		defer b.budget.give(held)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			b.refuse(w, "timeout", http.StatusRequestTimeout, "body not received within "+b.timeout.String())
			return
		case errors.Is(err, errBodyTooLarge):
			b.refuse(w, "too_large", http.StatusRequestEntityTooLarge, errBodyTooLarge.Error()+": the limit is 1 MiB")
			return
		case errors.Is(err, errBodyBudget):
			w.Header().Set("Retry-After", "1")
			b.refuse(w, "budget", http.StatusServiceUnavailable, "overloaded: "+err.Error())
			return
		case err != nil:
			w.Header().Set("Connection", "close")
			api.Error(w, http.StatusBadRequest, "read body: "+err.Error())
			return
		}
		_ = rc.SetReadDeadline(time.Time{})
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

func (b *bodies) refuse(w http.ResponseWriter, reason string, code int, msg string) {
	b.refused(reason)
	// The rest of the body is not read: the connection cannot carry another
	// request.
	w.Header().Set("Connection", "close")
	api.Error(w, code, msg)
}

// read reads r's body, reserving budget for each chunk before it reads it;
// held is what it reserved (the caller gives it back once the request is
// answered).
func (b *bodies) read(r *http.Request) (body []byte, held int64, err error) {
	want := int64(maxBody) + 1 // without a length: one byte past the limit tells it is over
	if r.ContentLength > 0 {
		want = r.ContentLength
	}
	for int64(len(body)) < want {
		step := min(want-int64(len(body)), bodyChunk)
		if !b.budget.take(step) {
			return nil, held, errBodyBudget
		}
		held += step
		if cap(body)-len(body) < int(step) {
			body = append(body[:cap(body)], make([]byte, int(step))...)[:len(body)]
		}
		n, rerr := r.Body.Read(body[len(body) : len(body)+int(step)])
		body = body[:len(body)+n]
		b.budget.give(step - int64(n))
		held -= step - int64(n)
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, held, rerr
		}
	}
	if len(body) > maxBody {
		return nil, held, errBodyTooLarge
	}
	return body, held, nil
}

// byteBudget is a count of bytes that never goes below zero.
type byteBudget struct {
	mu   sync.Mutex
	free int64
}

func (b *byteBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.free {
		return false
	}
	b.free -= n
	return true
}

func (b *byteBudget) give(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
}
