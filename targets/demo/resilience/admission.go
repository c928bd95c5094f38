package resilience

import (
	"cmp"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
)

// Admission modes (AdmissionConfig.Limit and .Queue).
const (
	LimitStatic = "static" // MaxInflight requests at once, always
	LimitAIMD   = "aimd"   // an in-flight limit adapted to measured latency
	QueueNone   = "none"   // no queueing-delay check
	QueueCoDel  = "codel"  // drop requests that queued too long (CoDel)
)

// Admission defaults.
const (
	DefaultAdmissionTarget     = 50 * time.Millisecond
	DefaultAdmissionMinLimit   = 8
	DefaultAdmissionStartLimit = 32
	DefaultQueueTarget         = 5 * time.Millisecond
	DefaultQueueInterval       = 100 * time.Millisecond
	// AIMDBackoff is the factor of a decrease.
	AIMDBackoff = 0.9
	// LowPriorityShare is the share of the in-flight limit that low-priority
	// requests may fill (Priority on): the rest is kept for high-priority ones.
	LowPriorityShare = 0.75
)

// HeaderRequestClass, on a client request, states its priority in shedding:
// "high" or "low". Without it reads (GET, HEAD) are high and writes low.
const HeaderRequestClass = "X-Request-Class"

// Priority is a request's class in shedding: under Priority, low-priority
// requests are refused first.
type Priority int

// Priorities.
const (
	PriorityHigh Priority = iota
	PriorityLow
)

// RequestPriority is r's class: X-Request-Class when it says high or low,
// otherwise high for reads and low for writes. A read that fails costs its
// caller a retry; a write turned away early costs the same and is, under
// overload, the more expensive request to serve (a quorum round and a write
// on every replica).
func RequestPriority(r *http.Request) Priority {
	switch r.Header.Get(HeaderRequestClass) {
	case "high":
		return PriorityHigh
	case "low":
		return PriorityLow
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return PriorityHigh
	}
	return PriorityLow
}

// AdmissionConfig configures a member's admission control beyond the static
// in-flight limit (Config.MaxInflight, which stays the ceiling).
type AdmissionConfig struct {
	// Limit is LimitStatic (the default, "" too) or LimitAIMD: the in-flight
	// limit grows by one for each request answered within Target while at
	// least half the limit is in use, and shrinks by AIMDBackoff, at most once
	// per Target, when one takes longer or fails with 5xx. It stays between
	// DefaultAdmissionMinLimit and MaxInflight.
	Limit  string
	Target time.Duration // 0 = DefaultAdmissionTarget
	// Queue is QueueNone (the default, "" too) or QueueCoDel: a request's
	// age on arrival (from its caller's X-Request-Deadline and
	// X-Request-Timeout) is its queueing delay; when the smallest delay over
	// an Interval exceeded QueueTarget the member is overloaded and refuses
	// requests older than QueueTarget (high-priority ones under Priority:
	// older than twice QueueTarget), otherwise those older than Interval.
	// This sees the queue that forms in front of the handlers (in the
	// kernel's and the runtime's queues), which the in-flight count cannot.
	// A request without the headers has no age and is not judged. The demo
	// applies it at store nodes only: a client's request ages on the
	// client's side too, which a gateway must not take for its own queue.
	Queue         string
	QueueTarget   time.Duration // 0 = DefaultQueueTarget
	QueueInterval time.Duration // 0 = DefaultQueueInterval
	// Priority makes shedding prefer the high-priority requests (see
	// RequestPriority): low-priority ones fill at most LowPriorityShare of the
	// in-flight limit.
	Priority bool
}

// Validate checks a and fills defaults.
func (a AdmissionConfig) Validate() (AdmissionConfig, error) {
	switch a.Limit {
	case "", LimitStatic, LimitAIMD:
	default:
		return a, errorf("resilience admission.limit %q: allowed are %s, %s", a.Limit, LimitStatic, LimitAIMD)
	}
	switch a.Queue {
	case "", QueueNone, QueueCoDel:
	default:
		return a, errorf("resilience admission.queue %q: allowed are %s, %s", a.Queue, QueueNone, QueueCoDel)
	}
	if a.Target < 0 || a.QueueTarget < 0 || a.QueueInterval < 0 {
		return a, errorf("resilience admission: target %s, queueTarget %s and queueInterval %s must be >= 0", a.Target, a.QueueTarget, a.QueueInterval)
	}
	a.Limit = cmp.Or(a.Limit, LimitStatic)
	a.Queue = cmp.Or(a.Queue, QueueNone)
	a.Target = cmp.Or(a.Target, DefaultAdmissionTarget)
	a.QueueTarget = cmp.Or(a.QueueTarget, DefaultQueueTarget)
	a.QueueInterval = cmp.Or(a.QueueInterval, DefaultQueueInterval)
	if a.QueueInterval < a.QueueTarget {
		return a, errorf("resilience admission.queueInterval %s is below queueTarget %s", a.QueueInterval, a.QueueTarget)
	}
	return a, nil
}

// AIMDLimit is an additive-increase, multiplicative-decrease concurrency
// limit driven by latency (Netflix concurrency-limits' AIMDLimit): the
// in-flight limit a member can hold while answering within Target. It is
// safe for concurrent use; the clock is passed in, so tests drive it.
type AIMDLimit struct {
	min, max float64
	target   time.Duration

	mu           sync.Mutex
	limit        float64
	lastDecrease time.Time
}

// NewAIMDLimit starts at min(max, DefaultAdmissionStartLimit) and stays in
// [min(DefaultAdmissionMinLimit, max), max].
func NewAIMDLimit(maxLimit int, target time.Duration) *AIMDLimit {
	hi := float64(max(maxLimit, 1))
	lo := math.Min(DefaultAdmissionMinLimit, hi)
	return &AIMDLimit{min: lo, max: hi, target: target, limit: math.Min(DefaultAdmissionStartLimit, hi)}
}

// Limit is the current in-flight limit.
func (l *AIMDLimit) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.limit)
}

// Observe feeds one answered request: its latency, whether it failed on the
// server's side, the requests in flight when it started, and now.
func (l *AIMDLimit) Observe(latency time.Duration, failed bool, inflight int, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if failed || latency > l.target {
		// At most one decrease per target: the samples of one congested
		// spell are one signal, not many.
		if now.Sub(l.lastDecrease) >= l.target {
			l.limit = math.Max(l.min, l.limit*AIMDBackoff)
			l.lastDecrease = now
		}
		return
	}
	if float64(inflight)*2 >= l.limit {
		l.limit = math.Min(l.max, l.limit+1)
	}
}

// CoDel is the controlled-delay test of a request's queueing delay (Nichols
// and Jacobson; in a server's request queue as Facebook's "Fail at Scale"
// describes it): when the smallest delay over the last interval exceeded
// target, a standing queue has formed and requests older than target are
// refused; otherwise only those older than interval are. Safe for concurrent
// use; the clock is passed in.
type CoDel struct {
	target, interval time.Duration

	mu          sync.Mutex
	intervalEnd time.Time
	minDelay    time.Duration
	overloaded  bool
}

// NewCoDel returns a CoDel test with target and interval.
func NewCoDel(target, interval time.Duration) *CoDel {
	return &CoDel{target: target, interval: interval, minDelay: -1}
}

// Admit reports whether a request that queued for delay, arriving at now,
// is still worth serving. A high-priority request (under Priority) is given
// twice the target.
func (c *CoDel) Admit(delay time.Duration, now time.Time, p Priority) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.intervalEnd.IsZero() {
		c.intervalEnd = now.Add(c.interval)
	}
	if !now.Before(c.intervalEnd) {
		c.overloaded = c.minDelay > c.target
		c.minDelay = delay
		c.intervalEnd = now.Add(c.interval)
	} else if c.minDelay < 0 || delay < c.minDelay {
		c.minDelay = delay
	}
	allowed := c.interval
	if c.overloaded {
		allowed = c.target
		if p == PriorityHigh {
			allowed = 2 * c.target
		}
	}
	return delay <= allowed
}

// Overloaded reports whether the last full interval saw a standing queue.
func (c *CoDel) Overloaded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.overloaded
}

// RequestAge is how long ago r's caller sent it, from X-Request-Deadline
// minus X-Request-Timeout (both set by api.SetOutgoing and the workload
// generator); ok is false when either is missing or malformed. Callers on
// the same host share the clock; across hosts the age includes the clocks'
// offset, and is clamped at 0.
func RequestAge(r *http.Request, now time.Time) (age time.Duration, ok bool) {
	dl, to := r.Header.Get(api.HeaderDeadline), r.Header.Get(api.HeaderTimeout)
	if dl == "" || to == "" {
		return 0, false
	}
	ns, err := strconv.ParseInt(dl, 10, 64)
	if err != nil {
		return 0, false
	}
	left, err := time.ParseDuration(to)
	if err != nil {
		return 0, false
	}
	sent := time.Unix(0, ns).Add(-left)
	return max(now.Sub(sent), 0), true
}
