package resilience

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
	"github.com/sony/gobreaker/v2"
)

// ErrBreakerOpen is wrapped by Breakers.Allow when a peer's breaker refuses a
// call: it is open, or half-open with its probe already in flight. A refused call
// was not sent, so failing over is always safe.
var ErrBreakerOpen = errors.New("circuit breaker open")

// ErrBeyondPeer, wrapped in the error given to a breaker's done, marks a
// failure that the peer reported as not its own (a coordinator whose replicas
// did not answer in time although it was in touch with them): the breaker
// counts it neither as a failure nor as a success.
var ErrBeyondPeer = errors.New("the peer answered that a failure beyond it caused the error")

// ErrCallerStalled, wrapped in the error given to a breaker's done, marks a
// failure of a call during which the caller itself stalled (see
// StallDetector): the breaker counts it neither as a failure nor as a
// success.
var ErrCallerStalled = errors.New("the caller stalled while the call was in flight")

// ErrPeerBusy, wrapped in the error given to a breaker's done by Breakers
// itself, marks a timed-out call to a peer that answered another call while
// this one was in flight (trip mode errorRate only): the peer is slow, most
// likely overloaded, not dead, and opening its breaker would move its load
// onto peers that are just as busy. The breaker counts it neither as a
// failure nor as a success.
var ErrPeerBusy = errors.New("the peer answered other calls while this one timed out")

// Breakers holds one circuit breaker per peer (sony/gobreaker, two-step form). A
// breaker opens after BreakerConfig.Failures consecutive failures (trip mode
// consecutive, the default) or when at least ErrorRate of at least
// MinRequests calls in the last Window failed (trip mode errorRate, a
// gobreaker rolling window), refuses calls
// for OpenFor, then lets one probe through (half-open): success closes it, failure
// opens it again. Every state change is exported as chaosdemo_breaker_state{peer}
// and logged.
//
// At most BreakerConfig.MaxOpen of the peers' breakers are open or half-open at
// once (at least one may be): a breaker reaching its failure count when the
// share is used up stays closed, and each such failure is counted in
// chaosdemo_breaker_trips_held_total{peer}. A breaker per peer guards against
// one bad peer; when most peers fail together the fault is rarely theirs (a
// stalled or overloaded caller times out on everyone), and failing fast on all
// of them would turn a slowdown into an outage. This is Envoy's outlier
// detection limit (max_ejection_percent) and the reason it exists.
type Breakers struct {
	cfg   BreakerConfig
	state *prometheus.GaugeVec
	held  *prometheus.CounterVec
	log   *logrus.Entry

	// ejected counts breakers that are not closed. A closed breaker reserves
	// a place (reserve) before it trips and gives it back when it closes
	// again, so concurrent trips cannot overshoot the limit.
	ejected atomic.Int64

	// now is the clock of ErrPeerBusy's "answered while in flight" test.
	now func() time.Time

	mu     sync.RWMutex
	byPeer map[string]*peerBreaker
}

// peerBreaker is one peer's breaker and when it last answered a call.
type peerBreaker struct {
	cb *gobreaker.TwoStepCircuitBreaker[struct{}]
	// answered is the Unix nanoseconds of the peer's latest successful
	// answer (errorRate mode).
	answered atomic.Int64
}

// NewBreakers builds closed breakers for peers (more are added on first use) and
// sets their gauges to 0. log may be nil.
func NewBreakers(cfg BreakerConfig, peers []string, m *metrics.Member, log *logrus.Entry) (*Breakers, error) {
	cfg, err := cfg.Validate()
	if err != nil {
		return nil, fmt.Errorf("create circuit breakers: %w", err)
	}
	if log == nil {
		log = discardLog()
	}
	b := &Breakers{cfg: cfg, state: m.BreakerState, held: m.BreakerHeld, log: log, now: time.Now, byPeer: make(map[string]*peerBreaker, len(peers))}
	for _, p := range peers {
		b.get(p)
	}
	return b, nil
}

// Config returns the validated breaker config.
func (b *Breakers) Config() BreakerConfig { return b.cfg }

// MaxOpen returns how many breakers may be open or half-open at once: the
// MaxOpen share of the known peers, rounded down, and at least one.
func (b *Breakers) MaxOpen() int {
	b.mu.RLock()
	peers := len(b.byPeer)
	b.mu.RUnlock()
	return maxOpen(b.cfg.MaxOpen, peers)
}

func maxOpen(share float64, peers int) int {
	return max(1, int(share*float64(peers)+1e-9))
}

// reserve takes a place among the open breakers for one about to trip, if the
// limit leaves one.
func (b *Breakers) reserve() bool {
	limit := int64(b.MaxOpen())
	for {
		n := b.ejected.Load()
		if n >= limit {
			return false
		}
		if b.ejected.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Trips reports whether counts open a closed breaker under cfg (validated):
// Failures in a row (consecutive), or at least ErrorRate of at least
// MinRequests calls in the window (errorRate). A disabled breaker never trips.
func Trips(cfg BreakerConfig, c gobreaker.Counts) bool {
	switch {
	case cfg.Disabled:
		return false
	case cfg.Trip == TripErrorRate:
		return c.Requests >= uint32(cfg.MinRequests) && float64(c.TotalFailures) >= cfg.ErrorRate*float64(c.Requests)
	default:
		return c.ConsecutiveFailures >= uint32(cfg.Failures)
	}
}

// readyToTrip is gobreaker's ReadyToTrip for peer: Trips, and a place among
// the open breakers taken. gobreaker calls it under the peer's own lock, so
// it must not ask another breaker for its state.
func (b *Breakers) readyToTrip(peer string, c gobreaker.Counts) bool {
	if !Trips(b.cfg, c) {
		return false
	}
	if b.reserve() {
		return true
	}
	b.held.WithLabelValues(peer).Inc()
	// Once per streak: in errorRate mode every further failure would log
	// (chaosdemo_breaker_trips_held_total counts them all).
	if b.cfg.Trip != TripErrorRate && c.ConsecutiveFailures == uint32(b.cfg.Failures) {
		b.log.WithFields(logrus.Fields{"peer": peer, "open": b.ejected.Load(), "maxOpen": b.MaxOpen()}).
			Warn("circuit breaker held closed: the share of open breakers (breaker.maxOpen) is used up")
	}
	return false
}

func (b *Breakers) get(peer string) *peerBreaker {
	b.mu.RLock()
	pb := b.byPeer[peer]
	b.mu.RUnlock()
	if pb != nil {
		return pb
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if pb = b.byPeer[peer]; pb != nil {
		return pb
	}
	gauge := b.state.WithLabelValues(peer)
	gauge.Set(metrics.BreakerClosed)
	b.held.WithLabelValues(peer)
	settings := gobreaker.Settings{
		Name:        peer,
		MaxRequests: 1, // one half-open probe
		Timeout:     b.cfg.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return b.readyToTrip(peer, c) },
		// A caller that went away says nothing about the peer, nor does a
		// failure the peer says was beyond it, nor one during which the
		// caller stalled, nor a timeout while the peer answered others.
		IsExcluded: func(err error) bool {
			return errors.Is(err, context.Canceled) || errors.Is(err, ErrBeyondPeer) || errors.Is(err, ErrCallerStalled) || errors.Is(err, ErrPeerBusy)
		},
		OnStateChange: func(name string, from, to gobreaker.State) {
			if to == gobreaker.StateClosed {
				b.ejected.Add(-1) // the place readyToTrip took
			}
			gauge.Set(stateValue(to))
			b.log.WithFields(logrus.Fields{"peer": name, "from": from.String(), "to": to.String()}).Warn("circuit breaker changed state")
		},
	}
	if b.cfg.Trip == TripErrorRate {
		// A rolling window of ten buckets: old calls age out gradually.
		settings.Interval = b.cfg.Window
		settings.BucketPeriod = max(b.cfg.Window/10, time.Millisecond)
	}
	pb = &peerBreaker{cb: gobreaker.NewTwoStepCircuitBreaker[struct{}](settings)}
	b.byPeer[peer] = pb
	return pb
}

func stateValue(s gobreaker.State) float64 {
	switch s {
	case gobreaker.StateOpen:
		return metrics.BreakerOpen
	case gobreaker.StateHalfOpen:
		return metrics.BreakerHalfOpen
	}
	return metrics.BreakerClosed
}

// State returns peer's breaker state, moving an open breaker whose OpenFor has
// passed to half-open. It never consumes the half-open probe.
func (b *Breakers) State(peer string) gobreaker.State {
	return b.get(peer).cb.State()
}

// Open reports whether peer's breaker is open, without consuming the half-open
// probe: the question candidate selection asks before Allow.
func (b *Breakers) Open(peer string) bool {
	return b.State(peer) == gobreaker.StateOpen
}

// Allow asks peer's breaker for a call. On success the caller must report the
// call's outcome through done exactly once: nil is a success, an error wrapping
// context.Canceled is not counted, any other error is a failure. When the breaker
// refuses, err wraps ErrBreakerOpen. An error wrapping ErrBeyondPeer is not
// counted either. In trip mode errorRate, a call that failed with
// context.DeadlineExceeded while the peer answered another call is not
// counted (ErrPeerBusy).
func (b *Breakers) Allow(peer string) (done func(error), err error) {
	pb := b.get(peer)
	done, err = pb.cb.Allow()
	if err != nil {
		return nil, fmt.Errorf("call %s: %w (%v)", peer, ErrBreakerOpen, err)
	}
	if b.cfg.Trip != TripErrorRate {
		return done, nil
	}
	started, report := b.now().UnixNano(), done
	return func(err error) {
		report(busyOrDead(err, started, &pb.answered, b.now().UnixNano()))
	}, nil
}

// busyOrDead is the outcome a breaker in errorRate mode counts for a call
// that started at started (Unix nanoseconds) and ended at now with err: a
// success moves the peer's last answer to now; a timeout while the peer
// answered another call becomes ErrPeerBusy.
func busyOrDead(err error, started int64, answered *atomic.Int64, now int64) error {
	if err == nil {
		for {
			last := answered.Load()
			if last >= now || answered.CompareAndSwap(last, now) {
				return nil
			}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) && answered.Load() > started {
		return fmt.Errorf("%w: %w", ErrPeerBusy, err)
	}
	return err
}

// States returns every known peer's state name (closed, half-open, open), for
// debug endpoints. Like State it applies due open → half-open transitions, so
// calling it keeps the gauges current while no traffic flows.
func (b *Breakers) States() map[string]string {
	b.mu.RLock()
	peers := make([]string, 0, len(b.byPeer))
	for p := range b.byPeer {
		peers = append(peers, p)
	}
	b.mu.RUnlock()
	sort.Strings(peers)
	out := make(map[string]string, len(peers))
	for _, p := range peers {
		out[p] = b.State(p).String()
	}
	return out
}
