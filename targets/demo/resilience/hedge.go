package resilience

import (
	"cmp"
	"fmt"
	"math"
	"sync"
	"time"
)

// Defaults filled in by HedgeConfig.Validate for zero fields.
const (
	DefaultHedgeAfter  = 50 * time.Millisecond
	DefaultHedgeBudget = 0.1
	// hedgeBurst is how many hedges a full budget holds: enough for the
	// reads a node that just went silent holds before its breaker opens.
	hedgeBurst = 50
)

// HedgeConfig configures hedged reads ("The Tail at Scale", Dean and Barroso):
// a read whose node has not answered within the hedge delay is also sent to
// the next node of its key, and the first answer wins. The delay is the 95th
// percentile of recent successful reads, and at least After; until enough
// reads were seen there are no hedges. So hedges go out for the reads that are
// slow compared with the others (a node that just went silent), and not when
// every read is slow (a cold start, a busy machine), where they would only add
// load. The slower attempt is not cancelled: it runs out its own share of the
// deadline, so its node's breaker still learns that the node is slow or gone.
type HedgeConfig struct {
	After time.Duration // the least hedge delay; 0 = DefaultHedgeAfter
	// Budget caps hedges at this share of reads, in (0, 1]; 0 =
	// DefaultHedgeBudget. Hedges add load, and under overload every read is
	// slow: the budget keeps hedging from doubling the load it meets.
	Budget   float64
	Disabled bool // never hedge: a read waits for its node's answer or timeout
}

// Validate checks h and fills defaults.
func (h HedgeConfig) Validate() (HedgeConfig, error) {
	switch {
	case h.After < 0:
		return h, fmt.Errorf("resilience hedge.after %s is negative: %w", h.After, ErrInvalidConfig)
	case h.Budget < 0 || h.Budget > 1 || math.IsNaN(h.Budget):
		return h, fmt.Errorf("resilience hedge.budget %v is outside (0, 1] (0 = default %v): %w", h.Budget, DefaultHedgeBudget, ErrInvalidConfig)
	}
	h.After = cmp.Or(h.After, DefaultHedgeAfter)
	h.Budget = cmp.Or(h.Budget, DefaultHedgeBudget)
	return h, nil
}

// HedgeBudget is a token bucket in the style of gRPC's retry throttling and
// Finagle's retry budget: every read earns Budget of a token, every hedge
// spends one, and the bucket holds at most hedgeBurst tokens (it starts full).
// Over time at most a Budget share of reads is hedged; a node that goes silent
// can still have its first burst of reads hedged at once. Tokens are counted
// in thousandths, so shares add up exactly.
type HedgeBudget struct {
	mu     sync.Mutex
	earn   int64
	tokens int64
}

const milliToken = 1000

// NewHedgeBudget returns a full budget earning share of a hedge per read.
func NewHedgeBudget(share float64) *HedgeBudget {
	return &HedgeBudget{earn: int64(math.Round(share * milliToken)), tokens: hedgeBurst * milliToken}
}

// Earn credits one read.
func (b *HedgeBudget) Earn() { b.add(b.earn) }

// Refund gives back a hedge that was not sent after all.
func (b *HedgeBudget) Refund() { b.add(milliToken) }

func (b *HedgeBudget) add(n int64) {
	b.mu.Lock()
	b.tokens = min(hedgeBurst*milliToken, b.tokens+n)
	b.mu.Unlock()
}

// Spend takes one hedge from the budget, or reports that none is left.
func (b *HedgeBudget) Spend() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tokens < milliToken {
		return false
	}
	b.tokens -= milliToken
	return true
}

// Latency buckets of LatencyWindow: upper bounds growing by a quarter from
// 100µs, up to about 14s; the last bucket takes everything slower.
const (
	latencyBuckets    = 54
	latencyFirst      = 100 * time.Microsecond
	latencyGrowth     = 1.25
	latencyMinSamples = 20
)

var latencyBounds = func() [latencyBuckets]time.Duration {
	var b [latencyBuckets]time.Duration
	v := float64(latencyFirst)
	for i := range b {
		b[i] = time.Duration(v)
		v *= latencyGrowth
	}
	return b
}()

// LatencyWindow estimates a quantile of recent latencies: a log-bucketed
// histogram of this period and the last (period long each), so an estimate
// always rests on between one and two periods of samples and forgets what is
// older. Estimates are bucket upper bounds (within 25 % above the truth).
type LatencyWindow struct {
	period time.Duration
	now    func() time.Time

	mu        sync.Mutex
	start     time.Time // of the current period
	cur, prev [latencyBuckets]uint32
}

// NewLatencyWindow returns an empty window; now may be nil (time.Now).
func NewLatencyWindow(period time.Duration, now func() time.Time) *LatencyWindow {
	if now == nil {
		now = time.Now
	}
	return &LatencyWindow{period: period, now: now, start: now()}
}

// rotate moves to the current period; callers hold mu.
func (w *LatencyWindow) rotate() {
	now := w.now()
	switch elapsed := now.Sub(w.start); {
	case elapsed >= 2*w.period:
		w.prev, w.cur = [latencyBuckets]uint32{}, [latencyBuckets]uint32{}
		w.start = now
	case elapsed >= w.period:
		w.prev, w.cur = w.cur, [latencyBuckets]uint32{}
		w.start = w.start.Add(w.period)
	}
}

// Observe records one latency.
func (w *LatencyWindow) Observe(d time.Duration) {
	i := 0
	for i < latencyBuckets-1 && d > latencyBounds[i] {
		i++
	}
	w.mu.Lock()
	w.rotate()
	w.cur[i]++
	w.mu.Unlock()
}

// Quantile returns the q-quantile (0 < q ≤ 1) of the latencies of this period
// and the last, and false while they hold fewer than 20 samples.
func (w *LatencyWindow) Quantile(q float64) (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rotate()
	var counts [latencyBuckets]uint64
	var total uint64
	for i := range counts {
		counts[i] = uint64(w.cur[i]) + uint64(w.prev[i])
		total += counts[i]
	}
	if total < latencyMinSamples {
		return 0, false
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			return latencyBounds[i], true
		}
	}
	return latencyBounds[latencyBuckets-1], true
}
