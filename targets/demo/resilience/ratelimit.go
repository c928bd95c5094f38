package resilience

import (
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// RateLimiter is a token bucket (golang.org/x/time/rate): perSecond tokens a
// second, at most burst saved up. A request that finds no token is refused (429)
// rather than delayed, and counted in chaosdemo_rate_limited_total. A nil
// *RateLimiter allows everything.
type RateLimiter struct {
	lim     *rate.Limiter
	limited prometheus.Counter
}

// NewRateLimiter returns a limiter, or nil (no limit) when perSecond <= 0. burst
// <= 0 means one second's worth of tokens (at least 1).
func NewRateLimiter(perSecond float64, burst int, m *metrics.Member) *RateLimiter {
	if perSecond <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = max(1, int(perSecond+0.999999))
	}
	return &RateLimiter{lim: rate.NewLimiter(rate.Limit(perSecond), burst), limited: m.RateLimited}
}

// Allow takes a token if one is there. When it is not, ok is false and
// retryAfter says when the next token is due (for a Retry-After header).
func (r *RateLimiter) Allow() (ok bool, retryAfter time.Duration) {
	if r == nil {
		return true, 0
	}
	now := time.Now()
	res := r.lim.ReserveN(now, 1)
	if !res.OK() {
		r.limited.Inc()
		return false, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		r.limited.Inc()
		return false, d
	}
	return true, 0
}
