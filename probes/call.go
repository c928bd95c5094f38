package probes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// DefaultCallTimeout bounds an HTTP call whose spec has no timeout.
const DefaultCallTimeout = 30 * time.Second

// maxCallAnswer is how much of a call's answer is kept.
const maxCallAnswer = 4 << 10

// HTTPCallSpec is one HTTP request of an action or rollback: method, URL,
// headers, body, the status that counts as success (0: any 2xx) and a time
// limit. It is also what the ledger records of an HTTP rollback.
type HTTPCallSpec struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	Status  int               `json:"status,omitempty"`
	Timeout time.Duration     `json:"timeout,omitempty"` // 0: DefaultCallTimeout
}

// HTTPCallResult is one call's outcome.
type HTTPCallResult struct {
	Status   int           `json:"status"` // 0 when no answer came
	Answer   string        `json:"answer,omitempty"`
	Duration time.Duration `json:"duration"`
	OK       bool          `json:"ok"`
	Reason   string        `json:"reason"`
}

// CallHTTP sends the request and judges its status; the answer's first
// 4 KiB are kept.
func CallHTTP(ctx context.Context, spec HTTPCallSpec) HTTPCallResult {
	limit := spec.Timeout
	if limit <= 0 {
		limit = DefaultCallTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	method := spec.Method
	if method == "" {
		method = http.MethodGet
	}
	what := method + " " + spec.URL
	var body io.Reader
	if spec.Body != "" {
		body = strings.NewReader(spec.Body)
	}
	req, err := http.NewRequestWithContext(cctx, method, spec.URL, body)
	if err != nil {
		return HTTPCallResult{Reason: fmt.Sprintf("%s: %v", what, err)}
	}
	for k, v := range spec.Headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := httpProbeClient.Do(req)
	var answer []byte
	if err == nil {
		answer, err = io.ReadAll(io.LimitReader(resp.Body, maxCallAnswer))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxHTTPBodyBytes))
		resp.Body.Close()
	}
	res := HTTPCallResult{Duration: time.Since(start), Answer: string(answer)}
	if resp != nil {
		res.Status = resp.StatusCode
	}
	switch {
	case err != nil && ctx.Err() != nil:
		res.Reason = fmt.Sprintf("%s: interrupted: %v", what, context.Cause(ctx))
	case err != nil && errors.Is(cctx.Err(), context.DeadlineExceeded):
		res.Reason = fmt.Sprintf("%s: no complete answer within its timeout %s", what, limit)
	case err != nil:
		res.Reason = fmt.Sprintf("%s: %v", what, err)
	case !statusOK(res.Status, spec.Status):
		want := fmt.Sprint(spec.Status)
		if spec.Status == 0 {
			want = "2xx"
		}
		res.Reason = fmt.Sprintf("%s: status %d, want %s (in %s)", what, res.Status, want, roundLatency(res.Duration))
	default:
		res.OK = true
		res.Reason = fmt.Sprintf("%s: status %d in %s", what, res.Status, roundLatency(res.Duration))
	}
	return res
}
