package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/resilience"
)

// ErrUnavailable is wrapped by store calls that no node served, where no attempt
// can have taken effect: every candidate was refused (breaker open, bulkhead
// full), could not be reached (the request was never sent) or answered 503 or
// 429. The gateway answers 503, which promises the client that nothing happened.
var ErrUnavailable = errors.New("store unavailable")

// ErrIndeterminate is wrapped by a write whose outcome is unknown: an attempt was
// sent and then timed out, lost its connection, or the node answered 500
// ("indeterminate": some replicas took it), 504 or another status that does not
// promise "no effect". Such a write may have applied, now or later, so it is
// neither retried nor failed over, and the gateway answers 500 (504 for a
// timeout), never 503. Use errors.As with *IndeterminateError for the details.
var ErrIndeterminate = errors.New("indeterminate")

// IndeterminateError is a write attempt that may have applied.
type IndeterminateError struct {
	Method, Key, Node string
	// Timeout: the attempt ran out of time or the node answered 504; the
	// gateway answers 504 rather than 500.
	Timeout bool
	Err     error
}

func (e *IndeterminateError) Error() string {
	return fmt.Sprintf("%s %s on %s may have applied: %v", e.Method, e.Key, e.Node, e.Err)
}

func (e *IndeterminateError) Unwrap() []error { return []error{ErrIndeterminate, e.Err} }

// StatusError is a final answer that is not a server failure: a bad key or value
// (400), or a node's own 4xx answer, passed on to the client as is.
type StatusError struct {
	Code   int
	Reason string
}

func (e *StatusError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Reason) }

// nodeStatusError is a node's answer that is neither a success nor a StatusError:
// 5xx, 429, 408.
type nodeStatusError struct {
	Code   int
	Reason string
	Cause  string // the node's api.HeaderCause, "" when absent
}

func (e *nodeStatusError) Error() string {
	return fmt.Sprintf("node answered %d %s", e.Code, e.Reason)
}

// storeOp is one client API call to make on a store node.
type storeOp struct {
	method string
	key    string
	value  []byte // PUT only (and a CRDT update's JSON)
	// prefix is the node API path the key is appended to: api.KVPrefix
	// when empty, api.LockPrefix for the lock service (key is the name).
	prefix string
	query  string // raw query, "" for none
	fence  string // X-Fencing-Token, "" for none
	crdt   string // a CRDT value's type: the call goes to /crdt/{crdt}/{key}
}

// routeKey is the store key whose preference list serves op: a lock's
// record, or a CRDT value's storage key (so that its coordinator is one of
// its home replicas).
func (op storeOp) routeKey() string {
	if op.crdt != "" {
		return api.CRDTStorageKey(op.crdt, op.key)
	}
	if op.prefix == api.LockPrefix {
		return api.LockKey(op.key)
	}
	return op.key
}

// storeAnswer is a node's successful answer: 200, 204 or 404.
type storeAnswer struct {
	code    int
	value   []byte
	version string
	node    string
}

// isRead reports whether method only reads. Reads are retried on any failure:
// a read has no effect of its own (a linearizable read's write-back re-writes a
// version that already exists, which is harmless).
//
// Writes (PUT, DELETE) are retried, on the next node, only when the attempt
// certainly did not apply: the request was never sent (connection refused, no
// connection made, breaker open, bulkhead full) or the node answered 503 (its
// contract: load shed before any work, or the version query failed so nothing
// was written) or 429. PUT is idempotent in HTTP's sense, but in ABD each
// attempt picks its own version: an attempt that timed out or got 500 may still
// land after the retry's 204 and overwrite later writes, or be resurrected by a
// later read, so a retry would turn an unknown outcome into a false success.
func isRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead
}

// noEffect reports whether a failed attempt certainly did not apply: it was
// never sent, or the node answered 503 or 429.
func noEffect(notSent bool, err error) bool {
	var ns *nodeStatusError
	return notSent || errors.As(err, &ns) && api.NoEffect(ns.Code)
}

// candidate is a node admitted for one attempt: its bulkhead slot is taken and
// its breaker let the call out. attempt releases the slot and reports to done.
type candidate struct {
	node string
	done func(error)
	slot *resilience.Bulkhead
}

// call runs op against the key's preference list: the first node whose breaker is
// not open and whose bulkhead has room, failing over to the next with
// full-jitter backoff between attempts, all within ctx's deadline (the config
// timeout when ctx has none). With hedging on, reads go to read instead.
//
// A read fails over on 503, timeout or transport error; each read attempt gets
// the remaining budget divided by the attempts left, so a hung node cannot eat
// the whole deadline. A write fails over only after an attempt that certainly
// did not apply (see isRead); an attempt that may have applied ends the call
// with an *IndeterminateError. So a write attempt gets the whole remaining budget (it
// will not be retried once sent, and a share would only turn slow writes into
// unknown ones) except for making its connection, which gets a read's share
// (the remaining budget divided by the attempts left): a node that cannot be
// reached at all is still failed over.
func (g *Gateway) call(ctx context.Context, op storeOp) (storeAnswer, error) {
	res := g.cfg.Resilience
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, res.Timeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	attempts := 1 + res.Retries.Max
	prefs := g.ring.Preference(op.routeKey(), g.cfg.Replicas)
	if s := sessionFrom(ctx); s != "" {
		prefs = []string{sessionCoordinator(prefs, s)} // no failover: see session.go
	}
	reqID := resilience.RequestIDFrom(ctx)
	read := isRead(op.method)
	g.retries.Request()
	if read && !res.Hedge.Disabled {
		return g.read(ctx, op, prefs, deadline, reqID)
	}

	var lastErr error
	next, prev := 0, ""
	for attempt := range attempts {
		if attempt > 0 {
			if !g.retries.TryRetry() {
				break // the retry budget is spent: retries would only add load
			}
			pause := resilience.Backoff(attempt-1, res.Retries.Base, res.Retries.Cap, g.rng)
			if time.Until(deadline) <= pause {
				break // no time left for another attempt
			}
			if resilience.Sleep(ctx, pause) != nil {
				break
			}
		}
		c, err := g.pick(prefs, &next, nil)
		if err != nil {
			if lastErr == nil {
				lastErr = err
			}
			break
		}
		g.countFailover(prefs, attempt, c.node, prev)
		prev = c.node
		share := time.Until(deadline) / time.Duration(attempts-attempt)
		budget := time.Until(deadline)
		if read {
			budget = share
		}
		ans, notSent, err := g.attempt(ctx, c, op, budget, share, reqID)
		if err == nil {
			return ans, nil
		}
		var se *StatusError
		if errors.As(err, &se) {
			return storeAnswer{}, err
		}
		lastErr = err
		if !read && !noEffect(notSent, err) {
			var ns *nodeStatusError
			timeout := errors.Is(err, context.DeadlineExceeded) ||
				errors.As(err, &ns) && (ns.Code == http.StatusGatewayTimeout || ns.Code == http.StatusRequestTimeout)
			g.m.Indeterminate.WithLabelValues(api.OpName(op.method)).Inc()
			return storeAnswer{}, &IndeterminateError{Method: op.method, Key: op.key, Node: c.node, Timeout: timeout, Err: err}
		}
		if ctx.Err() != nil {
			break
		}
	}
	return storeAnswer{}, noAttemptApplied(ctx, op, deadline, lastErr)
}

// noAttemptApplied is the error of a call none of whose attempts can have
// taken effect: the deadline's, or ErrUnavailable.
func noAttemptApplied(ctx context.Context, op storeOp, deadline time.Time, lastErr error) error {
	if err := ctx.Err(); err != nil || !time.Now().Before(deadline) {
		if err == nil {
			err = context.DeadlineExceeded
		}
		return fmt.Errorf("%s key %q: %w (last error: %v)", op.method, op.key, err, lastErr)
	}
	return fmt.Errorf("%s key %q: %w: %w", op.method, op.key, ErrUnavailable, lastErr)
}

// countFailover counts an attempt that did not go where the previous one (or,
// for the first, the key's first node) went, and every attempt after the first.
func (g *Gateway) countFailover(prefs []string, attempt int, node, prev string) {
	if (attempt == 0 && node != prefs[0]) || (attempt > 0 && node != prev) {
		g.m.Failovers.Inc()
	}
	if attempt > 0 {
		g.peerRetries[node].Inc()
	}
}

// pick admits the first node from prefs[*next:] (wrapping around), other than
// those in busy, whose breaker is not open, whose bulkhead has room and whose
// breaker allows the call, and moves *next past it. Refused nodes were not
// called, so skipping them is always safe.
func (g *Gateway) pick(prefs []string, next *int, busy []string) (candidate, error) {
	var open, full int
	for i := range prefs {
		idx := (*next + i) % len(prefs)
		node := prefs[idx]
		if slices.Contains(busy, node) {
			continue
		}
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

// stalledShare: an attempt during which the gateway stalled for at least
// 1/stalledShare of its budget is not held against the node.
const stalledShare = 4

// errNoConnection cancels an attempt that had no connection to its node when
// its connect budget ran out.
var errNoConnection = errors.New("no connection to the node within the attempt's share of the budget")

// attempt makes one call to c.node within budget, of which at most connect may
// pass before a connection is made, and reports its outcome to the node's
// breaker: a failure for 5xx, timeouts and transport errors, nothing when the
// caller went away, the node said its replicas failed the call
// (api.CauseReplicas), or the gateway itself stalled for at least
// stalledShare of the budget while the call was in flight. notSent reports a
// request that never reached the node.
func (g *Gateway) attempt(ctx context.Context, c candidate, op storeOp, budget, connect time.Duration, reqID string) (ans storeAnswer, notSent bool, err error) {
	defer c.slot.Release()
	started := time.Now()
	actx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	var connected atomic.Bool
	if connect < budget {
		cctx, ccancel := context.WithCancelCause(actx)
		defer ccancel(nil)
		t := time.AfterFunc(connect, func() {
			if !connected.Load() {
				ccancel(errNoConnection)
			}
		})
		defer t.Stop()
		actx = cctx
	}
	ans, class, notSent, err := g.send(actx, c.node, op, reqID, &connected)
	if errors.Is(context.Cause(actx), errNoConnection) && err != nil {
		class, err = "timeout", fmt.Errorf("%w: %w", errNoConnection, context.DeadlineExceeded)
	}
	g.replicaCalls(c.node, class).Inc()
	var (
		se *StatusError
		ns *nodeStatusError
	)
	switch {
	case err == nil || errors.As(err, &se):
		c.done(nil) // the node answered sensibly
	case errors.Is(ctx.Err(), context.Canceled):
		c.done(context.Canceled) // says nothing about the node
	case errors.As(err, &ns) && ns.Cause == api.CauseReplicas:
		// The coordinator was in touch with the key's replicas, they were
		// slow: not this node's failure (see api.CauseReplicas).
		g.m.BreakerSpared.WithLabelValues(c.node).Inc()
		c.done(fmt.Errorf("%w: %w", resilience.ErrBeyondPeer, err))
	case errors.As(err, &ns) && api.NoEffect(ns.Code) && g.breakers.Config().Trip == resilience.TripErrorRate:
		// The node answered at once that it sheds load: busy, not dead
		// (breaker trip mode errorRate; see resilience.ErrPeerBusy).
		c.done(fmt.Errorf("%w: %w", resilience.ErrPeerBusy, err))
	case class != "refused" && g.stalledFor(started, time.Now()) >= budget/stalledShare:
		// The gateway did not run for much of the call's budget: the
		// failure may be its own lateness (a timer fired late, the node's
		// share of the deadline went by unused). A refused connection is
		// the node's whatever the gateway did meanwhile.
		g.m.BreakerStalled.WithLabelValues(c.node).Inc()
		c.done(fmt.Errorf("%w: %w", resilience.ErrCallerStalled, err))
	default:
		c.done(err)
	}
	return ans, notSent, err
}

// send makes one HTTP request to node. class is the label of
// chaosdemo_replica_requests_total{code}: the status code, or timeout, refused,
// error. connected is set once the request has a connection: until then no byte
// of it can have reached the node, so a failure before is notSent.
func (g *Gateway) send(ctx context.Context, node string, op storeOp, reqID string, connected *atomic.Bool) (ans storeAnswer, class string, notSent bool, err error) {
	var body io.Reader
	if op.value != nil {
		body = bytes.NewReader(op.value)
	}
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { connected.Store(true) }}
	target := g.kvURL[node] + url.PathEscape(op.key)
	switch {
	case op.crdt != "":
		target = "http://" + g.cfg.Peers[node] + api.CRDTPrefix + op.crdt + "/" + url.PathEscape(op.key)
	case op.prefix != "":
		target = "http://" + g.cfg.Peers[node] + op.prefix + url.PathEscape(op.key)
	}
	if op.query != "" {
		target += "?" + op.query
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), op.method, target, body)
	if err != nil {
		return ans, "error", true, fmt.Errorf("build request to %s: %w", node, err)
	}
	if op.crdt != "" && op.value != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if op.fence != "" {
		req.Header.Set(api.HeaderFencingToken, op.fence)
	}
	api.SetOutgoing(ctx, req, reqID)
	if s := sessionFrom(ctx); s != "" {
		req.Header.Set(api.HeaderSession, s)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		notSent = !connected.Load()
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
		return storeAnswer{}, class, false, fmt.Errorf("%s %s on %s: %w", op.method, op.key, node,
			&nodeStatusError{Code: code, Reason: resp.Header.Get(api.HeaderError), Cause: resp.Header.Get(api.HeaderCause)})
	}
}
