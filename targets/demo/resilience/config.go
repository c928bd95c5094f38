package resilience

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults filled in by Config.Validate for zero fields.
const (
	DefaultTimeout         = 500 * time.Millisecond
	DefaultRetryBase       = 10 * time.Millisecond
	DefaultRetryCap        = 200 * time.Millisecond
	DefaultBreakerFailures = 5
	DefaultBreakerOpenFor  = 2 * time.Second
	DefaultBreakerMaxOpen  = 1.0
	DefaultBulkhead        = 32
	DefaultMaxInflight     = 512

	DefaultBreakerErrorRate   = 0.5
	DefaultBreakerMinRequests = 20
	DefaultBreakerWindow      = 5 * time.Second
)

// Breaker trip modes (BreakerConfig.Trip).
const (
	TripConsecutive = "consecutive"
	TripErrorRate   = "errorRate"
)

// ErrInvalidConfig is wrapped by every validation error of this package.
var ErrInvalidConfig = errors.New("invalid resilience config")

// RetryConfig bounds the retries of an idempotent call: at most Max attempts after
// the first, separated by full-jitter exponential backoff from Base up to Cap.
type RetryConfig struct {
	Max  int           // attempts after the first; 0 = no retries
	Base time.Duration // first backoff ceiling; 0 = DefaultRetryBase
	Cap  time.Duration // largest backoff ceiling; 0 = DefaultRetryCap
}

// BreakerConfig configures each per-peer circuit breaker.
type BreakerConfig struct {
	Failures int           // consecutive failures that open the breaker; 0 = DefaultBreakerFailures
	OpenFor  time.Duration // how long it stays open before a half-open probe; 0 = DefaultBreakerOpenFor
	// MaxOpen is the largest share of the peers whose breakers may be open
	// (or half-open) at once, in (0, 1]; 0 = DefaultBreakerMaxOpen. One breaker
	// may always open. A breaker whose failures would exceed the share stays
	// closed (Envoy's max_ejection_percent): when most peers fail at once the
	// likely cause is the caller itself (a stalled or overloaded machine) or a
	// failure that fail-fast cannot route around, and opening every breaker
	// would turn a slowdown into an outage.
	MaxOpen float64
	// Disabled breakers never open: every call goes through, as if there
	// were none (what an experiment compares the breaker against).
	Disabled bool
	// Trip is what opens a closed breaker: TripConsecutive (the default,
	// "" too), Failures failures in a row; or TripErrorRate, at least
	// ErrorRate of at least MinRequests calls over the last Window failed,
	// where a timeout while the peer answered other calls is not a failure
	// (ErrPeerBusy). Consecutive timeouts are what an overloaded peer
	// produces as much as a dead one; an error rate over a window with a
	// floor of calls, and timeouts judged against the peer's other answers,
	// tell the two apart.
	Trip        string
	ErrorRate   float64       // (0, 1]; 0 = DefaultBreakerErrorRate
	MinRequests int           // 0 = DefaultBreakerMinRequests
	Window      time.Duration // 0 = DefaultBreakerWindow
}

// Config is the resilience section of the experiment file, shared by gateways
// (everything) and store nodes (Timeout, MaxInflight, RateLimit through the
// middleware). Zero fields take the defaults noted on each.
type Config struct {
	Timeout     time.Duration // per request budget, propagated as a deadline; 0 = DefaultTimeout
	Retries     RetryConfig
	Breaker     BreakerConfig
	Hedge       HedgeConfig
	Bulkhead    int     // concurrent calls per peer; 0 = DefaultBulkhead
	MaxInflight int     // requests served at once before shedding (503); 0 = DefaultMaxInflight
	RateLimit   float64 // requests/s admitted (429 beyond); 0 = off
	RateBurst   int     // token bucket depth; 0 = ceil(RateLimit)
	// RetryBudget, in (0, 1], limits a gateway's retries to that share of
	// its recent requests plus DefaultRetryBudgetFloor a second (see
	// RetryBudget); 0 = no budget, every failure may be retried Retries.Max
	// times.
	RetryBudget float64
	Admission   AdmissionConfig
}

// DefaultConfig is the demo cluster's default configuration: 500ms timeout, two
// retries backing off from 10ms to 200ms, breakers opening after 5 failures for
// 2s (any number of them at once), no hedged reads, bulkheads of 32, shedding beyond 512
// in flight, no rate limit.
func DefaultConfig() Config {
	return Config{
		Timeout: DefaultTimeout,
		Retries: RetryConfig{Max: 2, Base: DefaultRetryBase, Cap: DefaultRetryCap},
		Breaker: BreakerConfig{Failures: DefaultBreakerFailures, OpenFor: DefaultBreakerOpenFor, MaxOpen: DefaultBreakerMaxOpen,
			Trip: TripConsecutive, ErrorRate: DefaultBreakerErrorRate, MinRequests: DefaultBreakerMinRequests, Window: DefaultBreakerWindow},
		Hedge:    HedgeConfig{After: DefaultHedgeAfter, Budget: DefaultHedgeBudget, Disabled: true},
		Bulkhead: DefaultBulkhead, MaxInflight: DefaultMaxInflight,
		Admission: AdmissionConfig{Limit: LimitStatic, Target: DefaultAdmissionTarget, Queue: QueueNone,
			QueueTarget: DefaultQueueTarget, QueueInterval: DefaultQueueInterval},
	}
}

// Validate checks c, fills defaults and returns the completed config. Errors name
// the field and its bound and wrap ErrInvalidConfig.
func (c Config) Validate() (Config, error) {
	switch {
	case c.Timeout < 0:
		return c, fmt.Errorf("resilience timeout %s is negative: %w", c.Timeout, ErrInvalidConfig)
	case c.Bulkhead < 0:
		return c, fmt.Errorf("resilience bulkhead %d is negative: %w", c.Bulkhead, ErrInvalidConfig)
	case c.MaxInflight < 0:
		return c, fmt.Errorf("resilience maxInflight %d is negative: %w", c.MaxInflight, ErrInvalidConfig)
	case c.RateLimit < 0 || math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0):
		return c, fmt.Errorf("resilience rateLimit %v must be a finite number >= 0 (0 = off): %w", c.RateLimit, ErrInvalidConfig)
	case c.RateBurst < 0:
		return c, fmt.Errorf("resilience rateBurst %d is negative: %w", c.RateBurst, ErrInvalidConfig)
	case c.RetryBudget < 0 || c.RetryBudget > 1 || math.IsNaN(c.RetryBudget):
		return c, fmt.Errorf("resilience retryBudget %v is outside [0, 1] (0 = no budget): %w", c.RetryBudget, ErrInvalidConfig)
	}
	var err error
	if c.Retries, err = c.Retries.Validate(); err != nil {
		return c, err
	}
	if c.Breaker, err = c.Breaker.Validate(); err != nil {
		return c, err
	}
	if c.Hedge, err = c.Hedge.Validate(); err != nil {
		return c, err
	}
	if c.Admission, err = c.Admission.Validate(); err != nil {
		return c, err
	}
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.Bulkhead = cmp.Or(c.Bulkhead, DefaultBulkhead)
	c.MaxInflight = cmp.Or(c.MaxInflight, DefaultMaxInflight)
	if c.RateLimit > 0 && c.RateBurst == 0 {
		c.RateBurst = max(1, int(math.Ceil(c.RateLimit)))
	}
	return c, nil
}

// Validate checks r and fills defaults.
func (r RetryConfig) Validate() (RetryConfig, error) {
	switch {
	case r.Max < 0:
		return r, fmt.Errorf("resilience retries.max %d is negative: %w", r.Max, ErrInvalidConfig)
	case r.Base < 0:
		return r, fmt.Errorf("resilience retries.base %s is negative: %w", r.Base, ErrInvalidConfig)
	case r.Cap < 0:
		return r, fmt.Errorf("resilience retries.cap %s is negative: %w", r.Cap, ErrInvalidConfig)
	}
	r.Base = cmp.Or(r.Base, DefaultRetryBase)
	r.Cap = cmp.Or(r.Cap, max(DefaultRetryCap, r.Base))
	if r.Cap < r.Base {
		return r, fmt.Errorf("resilience retries.cap %s is below retries.base %s: %w", r.Cap, r.Base, ErrInvalidConfig)
	}
	return r, nil
}

// Validate checks b and fills defaults.
func (b BreakerConfig) Validate() (BreakerConfig, error) {
	switch {
	case b.Failures < 0:
		return b, fmt.Errorf("resilience breaker.failures %d is negative: %w", b.Failures, ErrInvalidConfig)
	case b.OpenFor < 0:
		return b, fmt.Errorf("resilience breaker.openFor %s is negative: %w", b.OpenFor, ErrInvalidConfig)
	case b.MaxOpen < 0 || b.MaxOpen > 1 || math.IsNaN(b.MaxOpen):
		return b, fmt.Errorf("resilience breaker.maxOpen %v is outside (0, 1] (0 = default %v): %w", b.MaxOpen, DefaultBreakerMaxOpen, ErrInvalidConfig)
	}
	switch b.Trip {
	case "", TripConsecutive, TripErrorRate:
	default:
		return b, fmt.Errorf("resilience breaker.trip %q: allowed are %s, %s: %w", b.Trip, TripConsecutive, TripErrorRate, ErrInvalidConfig)
	}
	switch {
	case b.ErrorRate < 0 || b.ErrorRate > 1 || math.IsNaN(b.ErrorRate):
		return b, fmt.Errorf("resilience breaker.errorRate %v is outside (0, 1] (0 = default %v): %w", b.ErrorRate, DefaultBreakerErrorRate, ErrInvalidConfig)
	case b.MinRequests < 0:
		return b, fmt.Errorf("resilience breaker.minRequests %d is negative: %w", b.MinRequests, ErrInvalidConfig)
	case b.Window < 0:
		return b, fmt.Errorf("resilience breaker.window %s is negative: %w", b.Window, ErrInvalidConfig)
	}
	b.Trip = cmp.Or(b.Trip, TripConsecutive)
	b.ErrorRate = cmp.Or(b.ErrorRate, DefaultBreakerErrorRate)
	b.MinRequests = cmp.Or(b.MinRequests, DefaultBreakerMinRequests)
	b.Window = cmp.Or(b.Window, DefaultBreakerWindow)
	b.MaxOpen = cmp.Or(b.MaxOpen, DefaultBreakerMaxOpen)
	b.Failures = cmp.Or(b.Failures, DefaultBreakerFailures)
	b.OpenFor = cmp.Or(b.OpenFor, DefaultBreakerOpenFor)
	return b, nil
}

func errorf(format string, a ...any) error {
	return fmt.Errorf(format+": %w", append(a, ErrInvalidConfig)...)
}
