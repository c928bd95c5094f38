package resilience

import (
	"sync/atomic"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Shedder sheds load on in-flight count: a member serving Limit requests refuses
// the next one at once (503) instead of queueing it, so the requests it accepted
// stay fast and a caller can fail over. Gateways and store nodes both use it,
// through Middleware or directly:
//
//	if !s.Admit() {
//		api.Error(w, http.StatusServiceUnavailable, "overloaded")
//		return
//	}
//	defer s.Done()
//
// It keeps chaosdemo_inflight_requests and chaosdemo_shed_total. A nil *Shedder
// admits everything and counts nothing.
//
// With an AIMDLimit the limit is the AIMD limit's, capped at the static one;
// with priority, low-priority requests fill at most LowPriorityShare of it
// (AdmitClass).
type Shedder struct {
	limit    int64
	aimd     *AIMDLimit
	priority bool
	n        atomic.Int64
	inflight prometheus.Gauge
	shed     prometheus.Counter
}

// NewShedder admits at most limit requests at once (limit <= 0: no limit, the
// in-flight gauge is still kept).
func NewShedder(limit int, m *metrics.Member) *Shedder {
	return &Shedder{limit: int64(limit), inflight: m.Inflight, shed: m.Shed}
}

// NewAdaptiveShedder is NewShedder whose limit follows aimd (nil: static) and
// which, with priority, keeps a share of the limit for high-priority
// requests.
func NewAdaptiveShedder(limit int, aimd *AIMDLimit, priority bool, m *metrics.Member) *Shedder {
	s := NewShedder(limit, m)
	s.aimd, s.priority = aimd, priority
	return s
}

// Admit reports whether a request may be served now; if so, the caller must call
// Done when it has answered.
func (s *Shedder) Admit() bool { return s.AdmitClass(PriorityHigh) }

// AdmitClass is Admit for a request of priority p.
func (s *Shedder) AdmitClass(p Priority) bool {
	if s == nil {
		return true
	}
	limit := s.current()
	if s.priority && p == PriorityLow && limit > 0 {
		limit = max(1, int64(float64(limit)*LowPriorityShare))
	}
	if n := s.n.Add(1); limit > 0 && n > limit {
		s.n.Add(-1)
		s.shed.Inc()
		return false
	}
	s.inflight.Inc()
	return true
}

// Done ends a request that Admit let in.
func (s *Shedder) Done() {
	if s == nil {
		return
	}
	s.n.Add(-1)
	s.inflight.Dec()
}

// Inflight is the number of admitted requests not yet done.
func (s *Shedder) Inflight() int {
	if s == nil {
		return 0
	}
	return int(s.n.Load())
}

// Limit is the admission limit now (<= 0: none).
func (s *Shedder) Limit() int {
	if s == nil {
		return 0
	}
	return int(s.current())
}

func (s *Shedder) current() int64 {
	if s.aimd == nil {
		return s.limit
	}
	l := int64(s.aimd.Limit())
	if s.limit > 0 {
		l = min(l, s.limit)
	}
	return l
}

// Observe feeds an answered request to the AIMD limit, if any: its latency,
// whether it failed on the server's side, the requests in flight when it was
// admitted, and now.
func (s *Shedder) Observe(latency time.Duration, failed bool, inflight int, now time.Time) {
	if s == nil || s.aimd == nil {
		return
	}
	s.aimd.Observe(latency, failed, inflight, now)
}
