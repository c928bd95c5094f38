package resilience

import (
	"sync"
	"time"
)

// RetryBudget limits retries to a share of recent requests, as Finagle's
// RetryBudget and gRPC's retry throttling do: every request deposits Ratio
// of a token, every retry withdraws a whole one, and a retry that finds less
// than one token is not made. A floor of MinPerSecond tokens a second keeps a
// lightly loaded caller able to retry at all. The bucket holds at most
// Ratio·(requests in Window) + MinPerSecond·Window tokens, so a quiet spell
// cannot save up a retry storm.
//
// Without a budget every failed attempt may be retried Retries.Max times:
// when the failures are overload, each retry is extra load on a store that is
// already failing, and goodput falls as the offered load rises (the retry
// storm of a metastable failure). With one, retries add at most Ratio to the
// load whatever the failure rate.
//
// A nil *RetryBudget allows every retry.
type RetryBudget struct {
	ratio, floor, depth float64
	now                 func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// Retry budget defaults.
const (
	DefaultRetryBudgetFloor = 10.0 // retries a second always allowed
	DefaultRetryBudgetDepth = 10.0 // tokens saved up at most
)

// NewRetryBudget returns a budget of ratio (0 < ratio <= 1) of requests plus
// floor retries a second, or nil (no budget) when ratio <= 0. now is the
// clock (nil: time.Now).
func NewRetryBudget(ratio, floor float64, now func() time.Time) *RetryBudget {
	if ratio <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	floor = max(floor, 0)
	b := &RetryBudget{ratio: min(ratio, 1), floor: floor, depth: max(floor, DefaultRetryBudgetDepth), now: now}
	b.last = now()
	b.tokens = b.floor // a fresh caller may retry a little
	return b
}

// refill adds the floor's tokens since the last call; mu held.
func (b *RetryBudget) refill() {
	now := b.now()
	if d := now.Sub(b.last); d > 0 {
		b.tokens += b.floor * d.Seconds()
		b.last = now
	}
	b.clamp()
}

// Request records a first attempt: it deposits Ratio of a token.
func (b *RetryBudget) Request() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	b.tokens += b.ratio
	b.clamp()
}

// clamp caps the bucket at its depth; mu held.
func (b *RetryBudget) clamp() { b.tokens = min(b.tokens, b.depth) }

// TryRetry withdraws a token for a retry and reports whether there was one.
func (b *RetryBudget) TryRetry() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	if b.tokens < 1-1e-9 { // deposits of 0.1 add up to a little under 1
		return false
	}
	b.tokens = max(b.tokens-1, 0)
	return true
}

// Tokens is the number of retries the budget would allow now.
func (b *RetryBudget) Tokens() float64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	return b.tokens
}
