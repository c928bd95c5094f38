package workload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Header names of the demo cluster's API (package targets/demo/api).
const (
	headerRequestID      = "X-Request-Id"
	headerRequestTimeout = "X-Request-Timeout"
	// headerRequestDeadline is the absolute deadline in Unix nanoseconds: the
	// demo cluster refuses a request that arrives after it (one held up by a
	// latency fault) rather than work on it with a fresh budget.
	headerRequestDeadline = "X-Request-Deadline"
	// headerSession names the client session of a sticky driver.
	headerSession = "X-Session"
)

// maxReadBody bounds the body of a get the driver keeps; the demo cluster's
// values are at most 1 MiB.
const maxReadBody = 16 << 20

// NewHTTPClient returns a client tuned for a load generator with up to
// maxInFlight concurrent requests: keep-alive connections, as many idle
// connections per host as requests in flight (so a burst does not close and
// reopen connections), no compression, no HTTP/2 (one request per connection
// keeps the requests independent), no client-level timeout (each request has
// its own deadline).
func NewHTTPClient(maxInFlight int) *http.Client {
	maxInFlight = max(maxInFlight, 1)
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil, // a chaos run must reach what it names, not an environment proxy
			DialContext:           dialer.DialContext,
			MaxIdleConns:          maxInFlight,
			MaxIdleConnsPerHost:   maxInFlight,
			IdleConnTimeout:       90 * time.Second,
			DisableCompression:    true,
			ForceAttemptHTTP2:     false,
			ExpectContinueTimeout: 0,
		},
		CheckRedirect: refuseRedirects,
	}
}

// KVDriver runs operations against the demo cluster's key-value API over
// HTTP, round-robin over the base URLs (the gateways):
//
//	get    → GET    {base}/kv/{key}: 200 ok with the body; 404 ok, not found
//	put    → PUT    {base}/kv/{key} with the value: 2xx ok
//	delete → DELETE {base}/kv/{key}: 2xx or 404 ok
//	scan   → GET    {base}/kv?from={key}&to={to}&limit={limit}: 200 ok
//
// A scan is a read: any failure is OutcomeFail. A partial answer (200 with
// X-Chaos-Partial, the gateways' scan policy allow) is ok.
//
// Outcomes of bad requests follow what the system may have done:
//   - a read that failed in any way is OutcomeFail: it changed nothing;
//   - a write answered 429 or another 4xx, or whose connection was refused, is
//     OutcomeFail: it was rejected before any work;
//   - a write answered 503 is OutcomeFail: the demo cluster answers 503 only
//     when nothing was written (shed before any work, the version query
//     failed, or no gateway attempt can have applied);
//   - a write answered any other 5xx (500 "indeterminate": it reached some
//     replicas but not a quorum; 504), timed out or lost its connection after
//     being sent is OutcomeUnknown: the replicas it reached keep the value, so
//     a later read may see it.
//
// Every request carries X-Request-Id "op-<id>", and X-Request-Deadline (absolute)
// and X-Request-Timeout (remaining budget), so the cluster neither works past
// the deadline nor loses the trail.
//
// A sticky driver (Sticky) sends every operation of a client session
// (Op.Client: one operation at a time, a new number after an unknown outcome)
// to one gateway, bases[Client mod len(bases)], with X-Session
// "c<Client>", so the gateway sends the session's requests for a key to one
// coordinator (package targets/demo/gateway). Otherwise operations spread
// round-robin over the gateways whatever their client.
type KVDriver struct {
	client *http.Client
	send   sender
	bases  []string
	next   atomic.Uint64
	sticky bool
}

// Sticky makes d route by session (see KVDriver). Call it before the first Do.
func (d *KVDriver) Sticky() { d.sticky = true }

var _ Driver = (*KVDriver)(nil)

// NewKVDriver returns a driver that round-robins over baseURLs (such as
// "http://127.0.0.1:8080"). A nil client gets NewHTTPClient(MinMaxInFlight);
// pass NewHTTPClient(cfg.MaxInFlight) to size the connection pool to the run.
func NewKVDriver(baseURLs []string, client *http.Client) (*KVDriver, error) {
	if len(baseURLs) == 0 {
		return nil, errors.New("create kv driver: no base URLs")
	}
	d := &KVDriver{client: client, bases: make([]string, len(baseURLs))}
	if d.client == nil {
		d.client = NewHTTPClient(MinMaxInFlight)
	}
	d.send = newSender(d.client)
	for i, b := range baseURLs {
		u, err := url.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("create kv driver: base URL %q: %w", b, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("create kv driver: base URL %q: want http://host:port or https://host:port", b)
		}
		d.bases[i] = strings.TrimSuffix(b, "/")
	}
	return d, nil
}

// Do runs one operation. It returns when the answer is in or ctx is done.
//
// The operations of a CRDT workload (Op.CRDT set) go to the CRDT API:
//
//	get    → GET  {base}/crdt/{type}/{key}: 200 ok with the JSON state
//	incr   → POST {base}/crdt/{counter|lww-counter}/{key} {"delta": N}: 2xx ok
//	add    → POST {base}/crdt/set/{key} {"add": "e"}: 2xx ok
//	remove → POST {base}/crdt/set/{key} {"remove": "e"}: 2xx ok
//
// with the outcomes of a write as above.
func (d *KVDriver) Do(ctx context.Context, op Op) Result {
	var method string
	var body io.Reader
	path := "/kv/"
	if op.CRDT != "" {
		path = "/crdt/" + op.CRDT + "/"
	}
	switch op.Kind {
	case OpIncr:
		method = http.MethodPost
		body = strings.NewReader(`{"delta":` + strconv.FormatInt(op.Delta, 10) + `}`)
	case OpAdd, OpRemove:
		method = http.MethodPost
		elem, _ := json.Marshal(op.Element) // a string always marshals
		body = strings.NewReader(`{"` + op.Kind.String() + `":` + string(elem) + `}`)
	case OpGet, OpScan:
		method = http.MethodGet
	case OpPut:
		method = http.MethodPut
		body = bytes.NewReader(op.Value)
	case OpDelete:
		method = http.MethodDelete
	default:
		return Result{Outcome: OutcomeFail, Class: ClassUnexpected,
			Err: fmt.Errorf("kv driver: operation %s is not supported", op.Kind)}
	}
	var base string
	if d.sticky {
		base = d.bases[uint64(op.Client)%uint64(len(d.bases))]
	} else {
		base = d.bases[(d.next.Add(1)-1)%uint64(len(d.bases))]
	}
	target := base + path + url.PathEscape(op.Key)
	if op.Kind == OpScan {
		target = base + "/kv?" + scanQuery(op)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return Result{Outcome: OutcomeFail, Class: ClassUnexpected, Err: fmt.Errorf("build %s request: %w", op.Kind, err)}
	}
	// The header values share one backing array: one allocation, not five.
	var num [20]byte
	vals := make([]string, 5)
	vals[0] = "op-" + string(strconv.AppendUint(num[:0], op.ID, 10))
	req.Header[headerRequestID] = vals[0:1:1]
	if d.sticky {
		vals[4] = "c" + string(strconv.AppendInt(num[:0], int64(op.Client), 10))
		req.Header[headerSession] = vals[4:5:5]
	}
	if dl, ok := ctx.Deadline(); ok {
		vals[1] = max(time.Until(dl), time.Microsecond).String()
		vals[2] = string(strconv.AppendInt(num[:0], dl.UnixNano(), 10))
		req.Header[headerRequestTimeout] = vals[1:2:2]
		req.Header[headerRequestDeadline] = vals[2:3:3]
	}
	switch op.Kind {
	case OpPut:
		vals[3] = "application/octet-stream"
		req.Header["Content-Type"] = vals[3:4:4]
	case OpIncr, OpAdd, OpRemove:
		vals[3] = "application/json"
		req.Header["Content-Type"] = vals[3:4:4]
	}
	resp, err := d.send.do(req)
	if err != nil {
		return transportResult(ctx, op.Kind, fmt.Errorf("%s %s: %w", op.Kind, op.Key, err))
	}
	defer resp.Body.Close()

	res := Result{Code: resp.StatusCode}
	if op.Kind == OpGet && resp.StatusCode == http.StatusOK {
		v, err := io.ReadAll(io.LimitReader(resp.Body, maxReadBody))
		if err != nil {
			return transportResult(ctx, op.Kind, fmt.Errorf("read %s %s answer: %w", op.Kind, op.Key, err))
		}
		res.Outcome, res.Found, res.Value = OutcomeOK, true, v
		return res
	}
	if op.Kind == OpScan && resp.StatusCode == http.StatusOK {
		// The whole answer is part of the scan's latency.
		if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxReadBody)); err != nil {
			return transportResult(ctx, op.Kind, fmt.Errorf("read %s %s answer: %w", op.Kind, op.Key, err))
		}
		res.Outcome = OutcomeOK
		return res
	}
	// Drain a little so the connection can be reused (an empty answer has
	// nothing to drain).
	if resp.Body != http.NoBody {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	}

	code := resp.StatusCode
	switch {
	case code == http.StatusNotFound && (op.Kind == OpGet || op.Kind == OpDelete):
		res.Outcome = OutcomeOK
	case code >= 200 && code < 300 && op.Kind != OpGet:
		res.Outcome = OutcomeOK // a scan's items are not kept: drained above
	case code == http.StatusTooManyRequests:
		res.Outcome, res.Class = OutcomeFail, ClassRateLimited
	case code == http.StatusServiceUnavailable:
		res.Outcome, res.Class = OutcomeFail, ClassServerError
	case code >= 500:
		res.Outcome, res.Class = OutcomeUnknown, ClassServerError
		if op.Kind == OpGet || op.Kind == OpScan {
			res.Outcome = OutcomeFail
		}
	default:
		res.Outcome, res.Class = OutcomeFail, ClassUnexpected
	}
	if res.Outcome != OutcomeOK {
		res.Err = fmt.Errorf("%s %s: status %d", op.Kind, op.Key, code)
	}
	return res
}

// transportResult classifies a request that got no complete answer.
func transportResult(ctx context.Context, kind OpKind, err error) Result {
	res := Result{Outcome: OutcomeUnknown, Class: ClassTransport, Err: err}
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout() {
		res.Class = ClassTimeout
	}
	var oe *net.OpError
	if errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &oe) && oe.Op == "dial" {
		// No connection, so nothing was sent: the write certainly did not happen.
		res.Outcome = OutcomeFail
	}
	if kind == OpGet || kind == OpScan {
		res.Outcome = OutcomeFail
	}
	return res
}

// scanQuery is a scan's query string: from, to (when set) and limit.
func scanQuery(op Op) string {
	v := url.Values{"from": {op.Key}, "limit": {strconv.Itoa(op.Limit)}}
	if op.To != "" {
		v.Set("to", op.To)
	}
	return v.Encode()
}
