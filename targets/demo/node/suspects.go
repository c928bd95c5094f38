package node

import (
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultSuspectFor is Config.SuspectFor's default.
const DefaultSuspectFor = time.Second

// suspects is the node's failure detector in its simplest form: a peer whose
// replica call failed (an error, a timeout, or a call abandoned because the
// others answered first) is suspected until it answers again or SuspectFor
// passes. A targeted read asks suspected peers last, so while one replica is
// cut off or down the coordinator asks the healthy ones at once instead of
// waiting out the hedge delay on every read and leaving a hung call behind
// (Cassandra's dynamic snitch orders replicas by the same evidence). The
// suspicion only orders reads: a suspected peer is still asked when the
// first ones fail or are slow, and after SuspectFor it is asked first again,
// so a peer that came back is noticed within SuspectFor at the latest.
type suspects struct {
	window time.Duration
	now    func() time.Time
	gauge  *prometheus.GaugeVec // chaosdemo_replica_suspected{peer}; may be nil

	mu    sync.Mutex
	until map[string]time.Time
	// heard is when each peer last answered a replica call (any answer,
	// even a refusal: the peer is reachable). A coordinator that failed a
	// request asks it whether it was in touch with a quorum meanwhile (see
	// inTouch).
	heard map[string]time.Time
}

func newSuspects(window time.Duration, now func() time.Time, gauge *prometheus.GaugeVec) *suspects {
	if now == nil {
		now = time.Now
	}
	return &suspects{window: window, now: now, gauge: gauge, until: map[string]time.Time{}, heard: map[string]time.Time{}}
}

// observe records the outcome of a replica call to peer. It is on every
// replica read's path: an answer from a peer not suspected only looks the
// peer up, and the gauge is written only when the suspicion changes.
func (s *suspects) observe(peer string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, was := s.until[peer]
	if ok {
		s.heard[peer] = s.now()
		if was {
			delete(s.until, peer)
			s.set(peer, false)
		}
		return
	}
	s.until[peer] = s.now().Add(s.window)
	if !was {
		s.set(peer, true)
	}
}

// answered records that peer answered a replica call, though not with a
// usable reply (a recovering replica's refusal): it is reachable, which is
// all inTouch asks, but says nothing about whether to ask it first.
func (s *suspects) answered(peer string) {
	s.mu.Lock()
	s.heard[peer] = s.now()
	s.mu.Unlock()
}

// inTouch reports whether self (when a replica) and the peers of replicas
// that answered some replica call at or after since make at least need: the
// test of whether a failed quorum was this coordinator's fault (cut off from
// its replicas) or theirs (reachable, but too slow for this request). See
// api.CauseReplicas.
func (s *suspects) inTouch(self string, replicas []string, need int, since time.Time) bool {
	got := 0
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range replicas {
		if p == self {
			got++
			continue
		}
		if t, ok := s.heard[p]; ok && !t.Before(since) {
			got++
		}
	}
	return got >= need
}

// suspected reports whether peer failed a call lately and has not answered
// since.
func (s *suspects) suspected(peer string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.suspectedLocked(peer, s.now())
}

// suspectedLocked is suspected with s.mu held; an expired suspicion is
// dropped (and its gauge cleared) here.
func (s *suspects) suspectedLocked(peer string, now time.Time) bool {
	until, ok := s.until[peer]
	if !ok {
		return false
	}
	if !now.Before(until) {
		delete(s.until, peer)
		s.set(peer, false)
		return false
	}
	return true
}

// set writes peer's gauge; s.mu is held.
func (s *suspects) set(peer string, on bool) {
	if s.gauge == nil {
		return
	}
	v := 0.0
	if on {
		v = 1
	}
	s.gauge.WithLabelValues(peer).Set(v)
}

// order returns peers with this node first, then the peers not suspected, then
// the suspected ones, each group in preference order.
func (s *suspects) order(self string, peers []string) []string {
	ordered := make([]string, 0, len(peers))
	if slices.Contains(peers, self) {
		ordered = append(ordered, self)
	}
	var later []string
	s.mu.Lock()
	now := s.now()
	for _, p := range peers {
		switch {
		case p == self:
		case s.suspectedLocked(p, now):
			later = append(later, p)
		default:
			ordered = append(ordered, p)
		}
	}
	s.mu.Unlock()
	return append(ordered, later...)
}
