package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/resilience"
)

// ErrUnavailable is wrapped by store calls that no node served: every candidate
// failed or was refused (breaker open, bulkhead full). The gateway answers 503.
var ErrUnavailable = errors.New("store unavailable")

// StatusError is a final answer that is not a server failure: a bad key or value
// (400), or a node's own 4xx answer, passed on to the client as is.
type StatusError struct {
	Code   int
	Reason string
}

func (e *StatusError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Reason) }

// storeOp is one client API call to make on a store node.
type storeOp struct {
	method string
	key    string
	value  []byte // PUT only
}

// storeAnswer is a node's successful answer: 200, 204 or 404.
type storeAnswer struct {
	code    int
	value   []byte
	version string
	node    string
}

// idempotent reports whether repeating method is harmless (RFC 9110 section
// 9.2.2). GET, HEAD, PUT and DELETE are, so they are retried on any failure; a
// non-idempotent method (POST, should the API grow one) moves to the next node
// only when the request was definitely not processed: connection refused,
// breaker open, bulkhead full.
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// candidate is a node admitted for one attempt: its bulkhead slot is taken and
// its breaker let the call out. attempt releases the slot and reports to done.
type candidate struct {
	node string
	done func(error)
	slot *resilience.Bulkhead
}

// call runs op against the key's preference list: the first node whose breaker is
// not open and whose bulkhead has room, failing over to the next on 503, timeout
// or transport error, with full-jitter backoff between attempts, all within ctx's
// deadline (the config timeout when ctx has none). Each attempt gets the
// remaining budget divided by the attempts left, so a hung node cannot eat the
// whole deadline.
func (g *Gateway) call(ctx context.Context, op storeOp) (storeAnswer, error) {
	res := g.cfg.Resilience
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, res.Timeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	attempts := 1 + res.Retries.Max
	retryAny := idempotent(op.method)
	prefs := g.ring.Preference(op.key, g.cfg.Replicas)
	reqID := resilience.RequestIDFrom(ctx)

	var lastErr error
	next, prev := 0, ""
	for attempt := range attempts {
		if attempt > 0 {
			pause := resilience.Backoff(attempt-1, res.Retries.Base, res.Retries.Cap, g.rng)
			if time.Until(deadline) <= pause {
				break // no time left for another attempt
			}
			if resilience.Sleep(ctx, pause) != nil {
				break
			}
		}
		c, err := g.pick(prefs, &next)
		if err != nil {
			if lastErr == nil {
				lastErr = err
			}
			break
		}
		if (attempt == 0 && c.node != prefs[0]) || (attempt > 0 && c.node != prev) {
			g.m.Failovers.Inc()
		}
		if attempt > 0 {
			g.peerRetries[c.node].Inc()
		}
		prev = c.node
		budget := time.Until(deadline) / time.Duration(attempts-attempt)
		ans, notSent, err := g.attempt(ctx, c, op, budget, reqID)
		if err == nil {
			return ans, nil
		}
		var se *StatusError
		if errors.As(err, &se) {
			return storeAnswer{}, err
		}
		lastErr = err
		if ctx.Err() != nil || (!retryAny && !notSent) {
			break
		}
	}
	if err := ctx.Err(); err != nil || !time.Now().Before(deadline) {
		if err == nil {
			err = context.DeadlineExceeded
		}
		return storeAnswer{}, fmt.Errorf("%s key %q: %w (last error: %v)", op.method, op.key, err, lastErr)
	}
	return storeAnswer{}, fmt.Errorf("%s key %q: %w: %w", op.method, op.key, ErrUnavailable, lastErr)
}

// pick admits the first node from prefs[*next:] (wrapping around) whose breaker
// is not open, whose bulkhead has room and whose breaker allows the call, and
// moves *next past it. Refused nodes were not called, so skipping them is always
// safe.
func (g *Gateway) pick(prefs []string, next *int) (candidate, error) {
	var open, full int
	for i := range prefs {
		idx := (*next + i) % len(prefs)
		node := prefs[idx]
		if g.breakers.Open(node) {
			open++
			continue
		}
		bh := g.bulkheads.For(node)
		if !bh.TryAcquire() {
			full++
			continue
		}
		done, err := g.breakers.Allow(node) // may lose the half-open probe to another request
		if err != nil {
			bh.Release()
			open++
			continue
		}
		*next = idx + 1
		return candidate{node: node, done: done, slot: bh}, nil
	}
	return candidate{}, fmt.Errorf("no node of %v admits the call (%d breakers open, %d bulkheads full): %w", prefs, open, full, ErrUnavailable)
}

// attempt makes one call to c.node within budget and reports its outcome to the
// node's breaker: a failure for 5xx, timeouts and transport errors, nothing when
// the caller went away. notSent reports a request that never reached the node.
func (g *Gateway) attempt(ctx context.Context, c candidate, op storeOp, budget time.Duration, reqID string) (ans storeAnswer, notSent bool, err error) {
	defer c.slot.Release()
	actx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	ans, class, notSent, err := g.send(actx, c.node, op, reqID)
	g.replicaCalls(c.node, class).Inc()
	var se *StatusError
	switch {
	case err == nil || errors.As(err, &se):
		c.done(nil) // the node answered sensibly
	case errors.Is(ctx.Err(), context.Canceled):
		c.done(context.Canceled) // says nothing about the node
	default:
		c.done(err)
	}
	return ans, notSent, err
}

// send makes one HTTP request to node. class is the label of
// chaosdemo_replica_requests_total{code}: the status code, or timeout, refused,
// error.
func (g *Gateway) send(ctx context.Context, node string, op storeOp, reqID string) (ans storeAnswer, class string, notSent bool, err error) {
	var body io.Reader
	if op.value != nil {
		body = bytes.NewReader(op.value)
	}
	req, err := http.NewRequestWithContext(ctx, op.method, g.kvURL[node]+url.PathEscape(op.key), body)
	if err != nil {
		return ans, "error", true, fmt.Errorf("build request to %s: %w", node, err)
	}
	api.SetOutgoing(ctx, req, reqID)
	resp, err := g.client.Do(req)
	if err != nil {
		var opErr *net.OpError
		switch {
		case errors.As(err, &opErr) && opErr.Op == "dial":
			class, notSent = "refused", true
		case errors.Is(err, context.DeadlineExceeded):
			class = "timeout"
		case errors.Is(err, context.Canceled):
			class = "canceled"
		default:
			class = "error"
		}
		return ans, class, notSent, fmt.Errorf("%s %s on %s: %w", op.method, op.key, node, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		_ = resp.Body.Close()
	}()
	class = strconv.Itoa(resp.StatusCode)
	ans = storeAnswer{code: resp.StatusCode, version: resp.Header.Get(api.HeaderVersion), node: node}
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		v, err := io.ReadAll(io.LimitReader(resp.Body, api.MaxValueLen+1))
		if err != nil {
			return storeAnswer{}, "error", false, fmt.Errorf("read value of %s from %s: %w", op.key, node, err)
		}
		if len(v) > api.MaxValueLen {
			return storeAnswer{}, "error", false, fmt.Errorf("value of %s from %s exceeds %d bytes", op.key, node, api.MaxValueLen)
		}
		ans.value = v
		return ans, class, false, nil
	case code == http.StatusNoContent || code == http.StatusNotFound:
		return ans, class, false, nil
	case code >= 400 && code < 500 && code != http.StatusTooManyRequests && code != http.StatusRequestTimeout:
		reason := resp.Header.Get(api.HeaderError)
		if reason == "" {
			reason = http.StatusText(code)
		}
		return storeAnswer{}, class, false, &StatusError{Code: code, Reason: reason}
	default:
		return storeAnswer{}, class, false, fmt.Errorf("%s %s on %s: node answered %d %s", op.method, op.key, node, code, resp.Header.Get(api.HeaderError))
	}
}
