package httptoxic

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
)

// Type is the toxic type chaosctl's fault plane registers.
const Type = "chaosctl-http"

// Roles of the two toxics of a pair.
const (
	RoleRequest  = "request"  // on the upstream stream
	RoleResponse = "response" // on the downstream stream
)

// Actions.
const (
	ActionAbort = "abort" // answer Status without reaching the upstream
	ActionDelay = "delay" // hold the request Latency before forwarding it
	ActionDrop  = "drop"  // forward the response's head, then close the connection
)

// MaxLatencyMS bounds a delay (one hour).
const MaxLatencyMS = 3_600_000

// Rule is the toxic's attributes: what it matches and what it does. Both
// toxics of a pair carry the same rule but for Role.
type Rule struct {
	Role string `json:"role"`
	// Pair is shared by the two toxics of one fault on one link, and by no
	// other toxic.
	Pair  string `json:"pair"`
	Fault string `json:"fault,omitempty"`

	// Match: every condition given must hold. Method is compared without
	// case, PathPrefix against the request target's path, Headers' names
	// without case and values exactly.
	Method     string            `json:"method,omitempty"`
	PathPrefix string            `json:"pathPrefix,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`

	Action  string `json:"action"`
	Status  int    `json:"status,omitempty"`  // abort
	Latency int64  `json:"latency,omitempty"` // delay, milliseconds
	// Percent is the share (0 < Percent ≤ 1) of matching requests acted
	// on, unless FirstN > 0: then the first FirstN matching requests.
	Percent float64 `json:"percent,omitempty"`
	FirstN  int64   `json:"firstN,omitempty"`
	Seed    int64   `json:"seed"`
}

// Validate says what is wrong with r, if anything.
func (r Rule) Validate() error {
	var errs []error
	if r.Role != RoleRequest && r.Role != RoleResponse {
		errs = append(errs, fmt.Errorf("role %q: want %s or %s", r.Role, RoleRequest, RoleResponse))
	}
	if r.Pair == "" {
		errs = append(errs, errors.New("no pair id"))
	}
	switch r.Action {
	case ActionAbort:
		if r.Status < 200 || r.Status > 599 {
			errs = append(errs, fmt.Errorf("abort status %d: want 200 to 599", r.Status))
		}
	case ActionDelay:
		if r.Latency < 1 || r.Latency > MaxLatencyMS {
			errs = append(errs, fmt.Errorf("delay latency %dms: want 1 to %d", r.Latency, MaxLatencyMS))
		}
	case ActionDrop:
	default:
		errs = append(errs, fmt.Errorf("action %q: want %s, %s or %s", r.Action, ActionAbort, ActionDelay, ActionDrop))
	}
	switch {
	case r.FirstN < 0:
		errs = append(errs, fmt.Errorf("firstN %d: want at least 1", r.FirstN))
	case r.FirstN == 0 && (r.Percent <= 0 || r.Percent > 1 || math.IsNaN(r.Percent)):
		errs = append(errs, fmt.Errorf("percent %g: want a share in (0, 1], or a firstN", r.Percent))
	}
	if r.Method != "" && strings.ContainsAny(r.Method, " \t\r\n") {
		errs = append(errs, fmt.Errorf("method %q: no spaces", r.Method))
	}
	for name := range r.Headers {
		if name == "" || strings.ContainsAny(name, " \t\r\n:") {
			errs = append(errs, fmt.Errorf("header name %q: a token without spaces or ':'", name))
		}
	}
	return errors.Join(errs...)
}

// Matches reports whether req meets every condition of r.
func (r Rule) Matches(req *http.Request) bool {
	if r.Method != "" && !strings.EqualFold(r.Method, req.Method) {
		return false
	}
	if r.PathPrefix != "" && (req.URL == nil || !strings.HasPrefix(req.URL.Path, r.PathPrefix)) {
		return false
	}
	for name, want := range r.Headers {
		if !slicesContains(req.Header.Values(name), want) {
			return false
		}
	}
	return true
}

func slicesContains(vals []string, want string) bool {
	for _, v := range vals {
		if strings.TrimSpace(v) == want {
			return true
		}
	}
	return false
}

// Acts reports whether the n-th (from 0) matching request is acted on.
func (r Rule) Acts(n int64) bool {
	if r.FirstN > 0 {
		return n < r.FirstN
	}
	return Chance(r.Seed, n) < r.Percent
}

// Chance is a number in [0, 1) that depends only on seed and n
// (splitmix64): the draw of the n-th matching request.
func Chance(seed, n int64) float64 {
	z := uint64(seed) + uint64(n+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}
