package resilience

import (
	"cmp"
	"context"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/sirupsen/logrus"
)

// MiddlewareConfig configures Middleware. Nil Shedder and Limiter turn shedding
// and rate limiting off.
type MiddlewareConfig struct {
	// Timeout is the budget of a request that states none in X-Request-Timeout
	// (a stated budget is tightened to it); <= 0: no default budget.
	Timeout time.Duration
	Shedder *Shedder
	Limiter *RateLimiter
	// CoDel, when not nil, refuses requests that queued too long (see
	// AdmissionConfig.Queue).
	CoDel *CoDel
	// Priority classes requests (RequestPriority) for the Shedder and CoDel;
	// off, every request is high-priority.
	Priority bool
	// SlowRequest is the duration from which an answered request is logged at
	// info level whatever its code; 0 means DefaultSlowRequest.
	SlowRequest time.Duration
}

// DefaultSlowRequest is MiddlewareConfig.SlowRequest's default.
const DefaultSlowRequest = 100 * time.Millisecond

// MiddlewareConfig builds the middleware's parts from a validated Config: its
// Timeout, a Shedder of MaxInflight (adaptive and by priority as Admission
// says), CoDel when Admission.Queue asks for it, and a RateLimiter of
// RateLimit/RateBurst.
func (c Config) MiddlewareConfig(m *metrics.Member) MiddlewareConfig {
	a := c.Admission
	var aimd *AIMDLimit
	if a.Limit == LimitAIMD {
		aimd = NewAIMDLimit(c.MaxInflight, cmp.Or(a.Target, DefaultAdmissionTarget))
	}
	var codel *CoDel
	if a.Queue == QueueCoDel {
		codel = NewCoDel(cmp.Or(a.QueueTarget, DefaultQueueTarget), cmp.Or(a.QueueInterval, DefaultQueueInterval))
	}
	return MiddlewareConfig{
		Timeout:  c.Timeout,
		Shedder:  NewAdaptiveShedder(c.MaxInflight, aimd, a.Priority, m),
		Limiter:  NewRateLimiter(c.RateLimit, c.RateBurst, m),
		CoDel:    codel,
		Priority: a.Priority,
	}
}

// Middleware wraps a member's client API handler (gateways and store nodes alike)
// and applies, in order:
//
//  1. request id: X-Request-Id is taken from the request or made up, set on the
//     request, the answer and the context (RequestIDFrom);
//  2. rate limit: 429 with Retry-After when the token bucket is empty;
//  3. load shedding: 503 when the request queued too long (CoDel, when set;
//     the request's age comes from its deadline headers, see RequestAge) or
//     when the in-flight limit (MaxInflight, or the AIMD limit under it) is
//     reached; with Priority, low-priority requests (RequestPriority) are
//     refused first;
//  4. deadline: the context gets the budget from X-Request-Timeout or Timeout; a
//     budget already spent on arrival gets 504 without calling next, counted in
//     chaosdemo_deadline_dropped_total{stage="admit"}.
//
// Every answered request, refused ones included, is counted with
// m.ObserveRequest(op, code, duration) and logged with the fields member,
// request_id, op, key, code, duration (and on error answers error, the X-Error
// reason, and cause, the X-Failure-Cause): at info level when it failed on the server's side (5xx), was
// refused (429) or took SlowRequest or longer, at debug level otherwise. A
// line per healthy request cost a 200 requests/s cluster about a fifth of a
// core in formatting (and on the docker runtime as much again in the engine's
// log pipeline), which a busy machine could not spare. log may be nil.
//
// The middleware's own refusals (2 and 3) are the exception: they come in
// floods, exactly when the member has no CPU to spare, and a line each would
// cost more than the refusal. Each is logged at debug level, and at info
// level one line a second at most says how many there were since the last
// one (the field refused); the metrics count every one.
func Middleware(cfg MiddlewareConfig, m *metrics.Member, log *logrus.Entry, next http.Handler) http.Handler {
	if log == nil {
		log = discardLog()
	}
	member := m.Member()
	slow := cfg.SlowRequest
	if slow <= 0 {
		slow = DefaultSlowRequest
	}
	admitDropped := m.DeadlineDropped.WithLabelValues("admit")
	shedLog, limitLog := newRefusalLog(), newRefusalLog()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := api.RequestID(r)
		r.Header.Set(api.HeaderRequestID, id)
		w.Header().Set(api.HeaderRequestID, id)
		op := api.OpName(r.Method)
		if op == "get" && r.URL.Path == api.ScanPath {
			op = "scan" // a range query, so its latency is told apart from point reads
		}
		if op == "" {
			op = "other"
		}
		rec := &statusRecorder{ResponseWriter: w}
		var refusals *refusalLog // set when the middleware itself refused
		defer func() {
			code, d := rec.status(), time.Since(start)
			m.ObserveRequest(op, code, d)
			level := logrus.DebugLevel
			if code >= http.StatusInternalServerError || code == http.StatusTooManyRequests || d >= slow {
				level = logrus.InfoLevel
			}
			if refusals != nil {
				if n, due := refusals.note(start); due && log.Logger.IsLevelEnabled(logrus.InfoLevel) {
					log.WithFields(logrus.Fields{"member": member, "code": code, "error": rec.Header().Get(api.HeaderError), "refused": n}).
						Info("requests refused (the count since the last such line)")
				}
				level = logrus.DebugLevel
			}
			if !log.Logger.IsLevelEnabled(level) {
				return
			}
			key, _ := api.KeyFromPath(r.URL.Path)
			fields := logrus.Fields{"member": member, "request_id": id, "op": op, "key": key, "code": code, "duration": d}
			if reason := rec.Header().Get(api.HeaderError); reason != "" {
				fields["error"] = reason
			}
			if cause := rec.Header().Get(api.HeaderCause); cause != "" {
				fields["cause"] = cause
			}
			log.WithFields(fields).Log(level, "request")
		}()

		if ok, retryAfter := cfg.Limiter.Allow(); !ok {
			refusals = limitLog
			rec.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
			api.Error(rec, http.StatusTooManyRequests, "rate limited")
			return
		}
		prio := PriorityHigh
		if cfg.Priority {
			prio = RequestPriority(r)
		}
		if cfg.CoDel != nil {
			if age, ok := RequestAge(r, start); ok && !cfg.CoDel.Admit(age, start, prio) {
				refusals = shedLog
				m.Shed.Inc()
				api.Error(rec, http.StatusServiceUnavailable, "overloaded: queued too long")
				return
			}
		}
		inflight := cfg.Shedder.Inflight()
		if !cfg.Shedder.AdmitClass(prio) {
			refusals = shedLog
			api.Error(rec, http.StatusServiceUnavailable, "overloaded: load shed")
			return
		}
		defer func() {
			cfg.Shedder.Done()
			end := time.Now()
			cfg.Shedder.Observe(end.Sub(start), rec.status() >= http.StatusInternalServerError, inflight+1, end)
		}()
		ctx, cancel, expired := api.IncomingContext(r, cfg.Timeout)
		defer cancel()
		if expired {
			admitDropped.Inc()
			api.Error(rec, http.StatusGatewayTimeout, "deadline exceeded on arrival")
			return
		}
		next.ServeHTTP(rec, r.WithContext(WithRequestID(ctx, id)))
	})
}

// statusRecorder remembers the status code a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK // nothing written: net/http answers 200
	}
	return s.code
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying a request id for the next hop.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id Middleware (or WithRequestID) put in ctx,
// or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func discardLog() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	l.SetLevel(logrus.PanicLevel)
	return logrus.NewEntry(l)
}

// refusalEvery is how often at most the middleware logs its refusals at info
// level.
const refusalEvery = time.Second

// refusalLog spaces out the info lines of one kind of refusal: note says
// whether a line is due and how many refusals it stands for.
type refusalLog struct {
	mu      sync.Mutex
	last    time.Time
	pending int
}

func newRefusalLog() *refusalLog { return &refusalLog{} }

// note counts a refusal at now; when the last line is refusalEvery old (or
// there was none) it returns the refusals since that line and due true.
func (l *refusalLog) note(now time.Time) (count int, due bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending++
	if !l.last.IsZero() && now.Sub(l.last) < refusalEvery {
		return 0, false
	}
	count, l.pending, l.last = l.pending, 0, now
	return count, true
}
