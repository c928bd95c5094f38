package resilience

import (
	"sync/atomic"

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
type Shedder struct {
	limit    int64
	n        atomic.Int64
	inflight prometheus.Gauge
	shed     prometheus.Counter
}

// NewShedder admits at most limit requests at once (limit <= 0: no limit, the
// in-flight gauge is still kept).
func NewShedder(limit int, m *metrics.Member) *Shedder {
	return &Shedder{limit: int64(limit), inflight: m.Inflight, shed: m.Shed}
}

// Admit reports whether a request may be served now; if so, the caller must call
// Done when it has answered.
func (s *Shedder) Admit() bool {
	if s == nil {
		return true
	}
	if n := s.n.Add(1); s.limit > 0 && n > s.limit {
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

// Limit is the admission limit (<= 0: none).
func (s *Shedder) Limit() int {
	if s == nil {
		return 0
	}
	return int(s.limit)
}
