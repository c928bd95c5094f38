package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
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
	HeaderTimeout   = "X-Request-Timeout"
	HeaderError     = "X-Error" // short machine-readable reason on error answers
)

// KVPrefix is the path prefix of the client API.
const KVPrefix = "/kv/"

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

// IncomingContext derives a request's context from its X-Request-Timeout header
// (when present and tighter than def) or def (when > 0). expired reports a budget
// that was already spent on arrival: such a request must not be worked on.
func IncomingContext(r *http.Request, def time.Duration) (ctx context.Context, cancel context.CancelFunc, expired bool) {
	budget := def
	if h := r.Header.Get(HeaderTimeout); h != "" {
		d, err := time.ParseDuration(h)
		if err == nil {
			if d <= 0 {
				ctx, cancel = context.WithCancel(r.Context())
				return ctx, cancel, true
			}
			if budget <= 0 || d < budget {
				budget = d
			}
		}
	}
	if budget <= 0 {
		ctx, cancel = context.WithCancel(r.Context())
		return ctx, cancel, false
	}
	ctx, cancel = context.WithTimeout(r.Context(), budget)
	return ctx, cancel, false
}

// SetOutgoing stamps an outgoing request with the caller's remaining budget and
// request id, so the next hop neither works past the deadline nor loses the trail.
func SetOutgoing(ctx context.Context, req *http.Request, requestID string) {
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left < time.Microsecond {
			left = time.Microsecond
		}
		req.Header.Set(HeaderTimeout, left.String())
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
	}
	return ""
}
