package cache

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Policy names an eviction policy.
type Policy string

// The eviction policies. PolicyNone turns the cache off: every read goes to the
// loader (no singleflight either, so a read never returns a value loaded before it
// was invoked).
const (
	PolicyNone Policy = "none"
	PolicyLRU  Policy = "lru"
	Policy2Q   Policy = "2q"
	PolicyARC  Policy = "arc"
	PolicyLFU  Policy = "lfu"
)

// Policies lists the valid policy names, for error messages and flag help.
var Policies = []Policy{PolicyNone, PolicyLRU, Policy2Q, PolicyARC, PolicyLFU}

// Defaults filled in by Config.Validate for zero fields.
const (
	DefaultSize             = 10000
	DefaultMaxBytes         = 64 << 20
	DefaultTTL              = 10 * time.Second
	DefaultEarlyRefreshBeta = 1.0
)

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid cache config")

// Config configures a Cache. The zero value is a valid, disabled cache (policy
// none); zero fields take the defaults noted on each.
type Config struct {
	// Policy is the eviction policy; "" means PolicyNone.
	Policy Policy
	// Size is the maximum number of entries; 0 means DefaultSize.
	Size int
	// MaxBytes bounds the bytes the entries hold (keys, values and
	// versions); 0 means DefaultMaxBytes. Without it 10,000 entries of 1 MiB
	// values would hold 10 GiB.
	MaxBytes int64
	// TTL is how long a found value is served; 0 means DefaultTTL.
	TTL time.Duration
	// TTLJitter spreads expiries so keys loaded together do not expire together:
	// each entry lives TTL·(1 ± TTLJitter·u), u uniform in [0, 1). In [0, 1).
	TTLJitter float64
	// NegativeTTL is how long a not-found answer is served from the cache; 0
	// turns negative caching off (not-found loads are not stored). Only
	// Penetration negative caches not-found answers.
	NegativeTTL time.Duration
	// Penetration is the defence against reads of missing keys; "" means
	// negative when NegativeTTL is set, else none. Bloom is the gateway's
	// (a KeyFilter); negative and none are the cache's.
	Penetration Penetration
	// BloomFalsePositive is the false positive rate the Bloom filter is
	// sized for, in (0, 1); 0 means DefaultBloomFalsePositive.
	BloomFalsePositive float64
	// BloomCapacity is the number of keys the Bloom filter is sized for; 0
	// means DefaultBloomCapacity.
	BloomCapacity int
	// DisableSingleflight lets every concurrent miss of a key load it on its own
	// (a cache stampede). Singleflight is on by default: N concurrent misses of one
	// key make one load.
	DisableSingleflight bool
	// EarlyRefreshBeta is XFetch's β: larger refreshes earlier. 0 means
	// DefaultEarlyRefreshBeta; must not be negative.
	EarlyRefreshBeta float64
	// DisableEarlyRefresh turns probabilistic early refresh off: entries are
	// reloaded only after they expire.
	DisableEarlyRefresh bool
	// StaleIfError serves an expired entry up to this long past its expiry when
	// reloading it fails (outcome stale). 0 turns it off.
	StaleIfError time.Duration
}

// Validate checks c, fills defaults and returns the completed config. Every error
// names the field and its bound and wraps ErrInvalidConfig.
func (c Config) Validate() (Config, error) {
	c.Policy = cmp.Or(c.Policy, PolicyNone)
	c.Policy = Policy(strings.ToLower(string(c.Policy)))
	known := false
	for _, p := range Policies {
		known = known || p == c.Policy
	}
	if !known {
		names := make([]string, len(Policies))
		for i, p := range Policies {
			names[i] = string(p)
		}
		return c, fmt.Errorf("cache policy %q is unknown (valid: %s): %w", c.Policy, strings.Join(names, ", "), ErrInvalidConfig)
	}
	switch {
	case c.Size < 0:
		return c, fmt.Errorf("cache size %d is negative; use 0 for the default %d: %w", c.Size, DefaultSize, ErrInvalidConfig)
	case c.MaxBytes < 0:
		return c, fmt.Errorf("cache maxBytes %d is negative; use 0 for the default %d: %w", c.MaxBytes, DefaultMaxBytes, ErrInvalidConfig)
	case c.TTL < 0:
		return c, fmt.Errorf("cache ttl %s is negative: %w", c.TTL, ErrInvalidConfig)
	case c.TTLJitter < 0 || c.TTLJitter >= 1 || c.TTLJitter != c.TTLJitter:
		return c, fmt.Errorf("cache ttlJitter %v is outside [0, 1): %w", c.TTLJitter, ErrInvalidConfig)
	case c.NegativeTTL < 0:
		return c, fmt.Errorf("cache negativeTTL %s is negative; use 0 to turn negative caching off: %w", c.NegativeTTL, ErrInvalidConfig)
	case c.EarlyRefreshBeta < 0 || c.EarlyRefreshBeta != c.EarlyRefreshBeta:
		return c, fmt.Errorf("cache earlyRefreshBeta %v is negative; use disableEarlyRefresh to turn it off: %w", c.EarlyRefreshBeta, ErrInvalidConfig)
	case c.StaleIfError < 0:
		return c, fmt.Errorf("cache staleIfError %s is negative: %w", c.StaleIfError, ErrInvalidConfig)
	}
	if c.Penetration == "" {
		c.Penetration = PenetrationNone
		if c.NegativeTTL > 0 {
			c.Penetration = PenetrationNegative
		}
	}
	c.Penetration = Penetration(strings.ToLower(string(c.Penetration)))
	switch {
	case !slices.Contains(Penetrations, c.Penetration):
		names := make([]string, len(Penetrations))
		for i, p := range Penetrations {
			names[i] = string(p)
		}
		return c, fmt.Errorf("cache penetration %q is unknown (valid: %s): %w", c.Penetration, strings.Join(names, ", "), ErrInvalidConfig)
	case c.Penetration == PenetrationNegative && c.NegativeTTL == 0:
		return c, fmt.Errorf("cache penetration negative needs negativeTTL above 0: %w", ErrInvalidConfig)
	case c.Penetration != PenetrationNegative && c.NegativeTTL > 0:
		return c, fmt.Errorf("cache negativeTTL %s is set but penetration is %s; not-found answers are cached only with penetration negative: %w", c.NegativeTTL, c.Penetration, ErrInvalidConfig)
	case c.BloomFalsePositive < 0 || c.BloomFalsePositive >= 1 || c.BloomFalsePositive != c.BloomFalsePositive:
		return c, fmt.Errorf("cache bloomFalsePositive %v is outside (0, 1); use 0 for the default %v: %w", c.BloomFalsePositive, DefaultBloomFalsePositive, ErrInvalidConfig)
	case c.BloomCapacity < 0:
		return c, fmt.Errorf("cache bloomCapacity %d is negative; use 0 for the default %d: %w", c.BloomCapacity, DefaultBloomCapacity, ErrInvalidConfig)
	}
	if c.Penetration == PenetrationBloom {
		c.BloomFalsePositive = cmp.Or(c.BloomFalsePositive, DefaultBloomFalsePositive)
		c.BloomCapacity = cmp.Or(c.BloomCapacity, DefaultBloomCapacity)
	}
	c.Size = cmp.Or(c.Size, DefaultSize)
	c.MaxBytes = cmp.Or(c.MaxBytes, DefaultMaxBytes)
	c.TTL = cmp.Or(c.TTL, DefaultTTL)
	c.EarlyRefreshBeta = cmp.Or(c.EarlyRefreshBeta, DefaultEarlyRefreshBeta)
	return c, nil
}
