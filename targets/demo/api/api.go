package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Limits of the client API. Requests outside them get 400.
const (
	MaxKeyLen   = 256     // bytes
	MaxValueLen = 1 << 20 // bytes (1 MiB)
)

// Header names.
const (
	HeaderVersion   = "X-Version"
	HeaderRequestID = "X-Request-Id"
	HeaderTimeout   = "X-Request-Timeout"  // budget left when sent (Go duration)
	HeaderDeadline  = "X-Request-Deadline" // absolute deadline, Unix nanoseconds
	HeaderError     = "X-Error"            // short machine-readable reason on error answers
	HeaderCause     = "X-Failure-Cause"    // on a coordinator's error answer: CauseReplicas, or absent
	// HeaderSession names a client session (at most MaxSessionLen bytes):
	// the gateway sends every request of a session for a key to one
	// coordinator, and in eventual mode that coordinator serves it from its
	// own replica (package gateway, package node: sessions).
	HeaderSession = "X-Session"
)

// MaxSessionLen bounds X-Session; a longer one is ignored.
const MaxSessionLen = 128

// CauseReplicas, in HeaderCause, says that a coordinator failed a request
// because the key's replicas did not answer it in time, although the
// coordinator heard from enough of them (answering other requests) while it
// worked on this one: it is not cut off, and another coordinator would have to
// ask the same replicas. A caller may still try another coordinator, but its
// circuit breaker must not count the failure against this one: counting it
// opens the breaker to every healthy coordinator when one replica dies and
// another is slow, turning a partial failure into a total one. Without the
// header (a coordinator cut off from its replicas, or failing itself) the
// failure is the coordinator's.
const CauseReplicas = "replicas"

// KVPrefix is the path prefix of the client API.
const KVPrefix = "/kv/"

// CRDTPrefix is the path prefix of the CRDT values of the eventual mode:
// /crdt/{type}/{key}, type counter or set (package targets/demo/crdt).
const CRDTPrefix = "/crdt/"

// CRDTFromPath splits a /crdt/{type}/{key} path; ok is false when path has no
// such shape (the type and key are not checked).
func CRDTFromPath(path string) (typ, key string, ok bool) {
	rest, found := strings.CutPrefix(path, CRDTPrefix)
	if !found {
		return "", "", false
	}
	typ, key, ok = strings.Cut(rest, "/")
	return typ, key, ok
}

// CRDTStorageKey is the key under which the store nodes keep the CRDT value
// key of type typ, and by whose preference list it is routed: "crdt/{type}/{key}",
// which no /kv/ key can be (those contain no '/').
func CRDTStorageKey(typ, key string) string { return "crdt/" + typ + "/" + key }

// ValidateKey reports why key cannot be used, or nil.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("key is empty; keys are 1 to %d bytes", MaxKeyLen)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("key is %d bytes; keys are 1 to %d bytes", len(key), MaxKeyLen)
	case strings.ContainsAny(key, "/?#"):
		return fmt.Errorf("key %q contains '/', '?' or '#', which are not allowed", key)
	}
	for _, c := range []byte(key) {
		if c < 0x21 || c == 0x7f {
			return fmt.Errorf("key %q contains a space or control character", key)
		}
	}
	return nil
}

// ValidateValue reports why a value cannot be stored, or nil.
func ValidateValue(v []byte) error {
	switch {
	case len(v) == 0:
		return fmt.Errorf("value is empty; values are 1 byte to %d bytes (use DELETE to remove a key)", MaxValueLen)
	case len(v) > MaxValueLen:
		return fmt.Errorf("value is %d bytes; the limit is %d bytes", len(v), MaxValueLen)
	}
	return nil
}

// KeyFromPath extracts the key of a /kv/{key} path.
func KeyFromPath(path string) (string, bool) {
	if !strings.HasPrefix(path, KVPrefix) {
		return "", false
	}
	return path[len(KVPrefix):], true
}

// IncomingContext derives a request's context from the caller's deadline and
// def (when > 0), whichever ends first. The caller's deadline is absolute,
// X-Request-Deadline (Unix nanoseconds), bounded by the relative
// X-Request-Timeout measured from arrival: a request held up on the way (a
// latency fault, a queue) arrives with less budget left, not with a fresh one,
// so no member starts work its caller can no longer use. Both headers are set
// by SetOutgoing; a client that sends only X-Request-Timeout gets a budget from
// arrival. expired reports a budget already spent on arrival: such a request
// must not be worked on.
//
// The absolute deadline assumes the members share a clock, as the demo's do
// (processes, containers and pods on one host); across hosts it errs by their
// clock offset, and the relative bound keeps that error from lengthening a
// budget.
func IncomingContext(r *http.Request, def time.Duration) (ctx context.Context, cancel context.CancelFunc, expired bool) {
	now := time.Now()
	var deadline time.Time
	if def > 0 {
		deadline = now.Add(def)
	}
	tighten := func(t time.Time) {
		if deadline.IsZero() || t.Before(deadline) {
			deadline = t
		}
	}
	if h := r.Header.Get(HeaderTimeout); h != "" {
		if d, err := time.ParseDuration(h); err == nil {
			tighten(now.Add(d))
		}
	}
	if h := r.Header.Get(HeaderDeadline); h != "" {
		if ns, err := strconv.ParseInt(h, 10, 64); err == nil {
			tighten(time.Unix(0, ns))
		}
	}
	if deadline.IsZero() {
		ctx, cancel = context.WithCancel(r.Context())
		return ctx, cancel, false
	}
	if !now.Before(deadline) {
		ctx, cancel = context.WithCancel(r.Context())
		return ctx, cancel, true
	}
	ctx, cancel = context.WithDeadline(r.Context(), deadline)
	return ctx, cancel, false
}

// SetOutgoing stamps an outgoing request with the caller's deadline (absolute,
// and as the budget left now) and request id, so the next hop neither works
// past the deadline nor loses the trail.
func SetOutgoing(ctx context.Context, req *http.Request, requestID string) {
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left < time.Microsecond {
			left = time.Microsecond
		}
		req.Header.Set(HeaderTimeout, left.String())
		req.Header.Set(HeaderDeadline, strconv.FormatInt(dl.UnixNano(), 10))
	}
	if requestID != "" {
		req.Header.Set(HeaderRequestID, requestID)
	}
}

// RequestID returns the request's X-Request-Id, or a new random one.
func RequestID(r *http.Request) string {
	if id := r.Header.Get(HeaderRequestID); id != "" && len(id) <= 128 {
		return id
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Error writes an error answer with a short reason in X-Error and the body.
func Error(w http.ResponseWriter, code int, reason string) {
	w.Header().Set(HeaderError, reason)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = fmt.Fprintln(w, reason)
}

// NoEffect reports whether an error answer promises that the request had no
// effect, so a client or gateway may retry it elsewhere: 503 (shed before any
// work, or a write whose version query failed) and 429 (rate limited). Any
// other 5xx on a write (500 "indeterminate", 504) means it may have applied.
func NoEffect(status int) bool {
	return status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests
}

// OpName maps an HTTP method of the client API to the op label used in metrics
// and logs: get, put, delete; "" for any other method.
func OpName(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		return "get"
	case http.MethodPut:
		return "put"
	case http.MethodDelete:
		return "delete"
	case http.MethodPost:
		return "update" // a CRDT value's update
	}
	return ""
}

// MaxPad bounds the padding a member's /healthz?pad=N answers with.
const MaxPad = 1 << 20

// ReachRequest is the body of POST /control/v1/reach: probe the link from
// this member to store node To through the address this member uses for it
// (the fault plane's proxy), on a new connection.
type ReachRequest struct {
	To      string `json:"to"`
	Timeout string `json:"timeout"`
	// Pad asks the peer for that many extra bytes (see serveHealthz).
	Pad int `json:"pad,omitempty"`
	// Path, when set, is requested instead of /healthz, and any HTTP answer
	// counts (chaosctl's own probes of users' services; not sent).
	Path string `json:"-"`
}

// ReachAnswer is what a reach probe observed. OK is a 200 with the whole
// body within the timeout; otherwise Error says what happened.
type ReachAnswer struct {
	To     string  `json:"to"`
	Addr   string  `json:"addr"`
	OK     bool    `json:"ok"`
	Status int     `json:"status,omitempty"`
	Bytes  int64   `json:"bytes"`
	RTT    float64 `json:"rtt"` // seconds, request sent to the last byte read
	Error  string  `json:"error,omitempty"`
}

// Reach probes the demo member at addr with GET /healthz (req.Path when
// set) on a new connection: what a member's reach control does, and what
// chaosctl does on the links it dials itself. With req.Path set any HTTP
// answer counts as reached (a user's service need not serve /healthz).
func Reach(ctx context.Context, addr string, req ReachRequest, timeout time.Duration) ReachAnswer {
	out := ReachAnswer{To: req.To, Addr: addr}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "http://" + addr + "/healthz"
	if req.Path != "" {
		url = "http://" + addr + req.Path
	}
	if req.Pad > 0 {
		url += "?pad=" + strconv.Itoa(req.Pad)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	t0 := time.Now()
	resp, err := client.Do(hreq)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	defer resp.Body.Close()
	out.Status = resp.StatusCode
	out.Bytes, err = io.Copy(io.Discard, resp.Body)
	out.RTT = time.Since(t0).Seconds()
	switch {
	case err != nil:
		out.Error = "read the answer: " + err.Error()
	case resp.StatusCode != http.StatusOK && req.Path == "":
		out.Error = "status " + resp.Status
	default:
		out.OK = true
	}
	return out
}
