package resilience

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// IntN is the randomness Backoff needs; *rand.Rand and *LockedRand provide it.
type IntN interface {
	Int64N(n int64) int64
}

// Backoff returns the pause before retry number attempt (0 for the first retry):
// "full jitter" from the AWS Architecture Blog's "Exponential Backoff And Jitter",
// a uniform draw from [0, min(cap, base·2^attempt)]. Spreading retries over the
// whole interval keeps clients that failed together from retrying together.
// A non-positive base or cap gives 0.
func Backoff(attempt int, base, cap time.Duration, rng IntN) time.Duration {
	if base <= 0 || cap <= 0 {
		return 0
	}
	attempt = max(attempt, 0)
	ceiling := cap
	// base·2^attempt < cap, written so that the shift cannot overflow.
	if attempt < 62 && base <= cap>>attempt {
		ceiling = min(cap, base<<attempt)
	}
	return time.Duration(rng.Int64N(int64(ceiling) + 1))
}

// Sleep pauses for d or until ctx is done, whichever comes first, and returns
// ctx's error in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// LockedRand makes a seeded *rand.Rand safe for concurrent use.
type LockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

// NewLockedRand wraps r; the caller must not use r directly afterwards.
func NewLockedRand(r *rand.Rand) *LockedRand { return &LockedRand{r: r} }

// Int64N returns a uniform int64 in [0, n).
func (l *LockedRand) Int64N(n int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Int64N(n)
}

// Float64 returns a uniform float64 in [0, 1).
func (l *LockedRand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

// Uint64 returns a uniform uint64, e.g. to seed a derived generator.
func (l *LockedRand) Uint64() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Uint64()
}
