package probes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultHTTPTimeout bounds an HTTP probe without a latency bound whose
// context has no deadline.
const DefaultHTTPTimeout = 10 * time.Second

// maxHTTPBodyBytes is how much of a probed answer's body is read (and timed).
const maxHTTPBodyBytes = 1 << 20

// httpProbeClient opens a fresh connection for every probe, so each one times
// what a new client would see (connect included) and no idle connection to
// a killed or paused server outlives the probe.
var httpProbeClient = &http.Client{Transport: &http.Transport{
	Proxy:             http.ProxyFromEnvironment,
	DisableKeepAlives: true,
}}

// HTTPResult is one HTTP probe's outcome.
type HTTPResult struct {
	Status  int           `json:"status"` // 0 when no answer came
	Latency time.Duration `json:"latency"`
	OK      bool          `json:"ok"`
	Reason  string        `json:"reason"`
}

// CheckHTTP GETs url and judges the answer: the status must be wantStatus
// (0: any 2xx) and the whole answer (headers and up to 1 MiB of body) must
// arrive within maxLatency (0: no bound). A probe waits no longer than
// maxLatency: past it the answer is too slow whatever it would have been;
// without a bound, DefaultHTTPTimeout applies unless ctx ends earlier.
// Latency is measured from just before the request to the end of the body.
func CheckHTTP(ctx context.Context, url string, wantStatus int, maxLatency time.Duration) HTTPResult {
	limit := maxLatency
	if limit <= 0 {
		limit = DefaultHTTPTimeout
	}
	reqCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, url, nil)
	if err != nil {
		return HTTPResult{Reason: fmt.Sprintf("bad probe URL %q: %v", url, err)}
	}
	start := time.Now()
	resp, err := httpProbeClient.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxHTTPBodyBytes))
		resp.Body.Close()
	}
	res := HTTPResult{Latency: time.Since(start)}
	if resp != nil {
		res.Status = resp.StatusCode
	}
	switch {
	case err != nil && ctx.Err() != nil:
		res.Reason = fmt.Sprintf("GET %s: probe interrupted: %v", url, context.Cause(ctx))
	case err != nil && errors.Is(reqCtx.Err(), context.DeadlineExceeded) && maxLatency > 0:
		res.Reason = fmt.Sprintf("GET %s: no complete answer within maxLatency %s", url, maxLatency)
	case err != nil:
		res.Reason = fmt.Sprintf("GET %s: %v", url, err)
	case !statusOK(res.Status, wantStatus):
		want := fmt.Sprint(wantStatus)
		if wantStatus == 0 {
			want = "2xx"
		}
		res.Reason = fmt.Sprintf("GET %s: status %d, want %s (in %s)", url, res.Status, want, roundLatency(res.Latency))
	case maxLatency > 0 && res.Latency > maxLatency:
		res.Reason = fmt.Sprintf("GET %s: status %d in %s, over maxLatency %s", url, res.Status, roundLatency(res.Latency), maxLatency)
	default:
		res.OK = true
		res.Reason = fmt.Sprintf("GET %s: status %d in %s", url, res.Status, roundLatency(res.Latency))
	}
	return res
}

func statusOK(got, want int) bool {
	if want == 0 {
		return got >= 200 && got < 300
	}
	return got == want
}

func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
