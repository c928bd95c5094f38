package cache

import (
	"sync"
	"sync/atomic"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chaosctl/chaosctl/targets/demo/metrics"
)

// Penetration names a defence against cache penetration: a flood of reads of
// keys that do not exist, which a cache of found values never absorbs, so
// every one of them reaches the store.
type Penetration string

// The penetration defences.
const (
	// PenetrationNone: a read of a missing key goes to the store every time
	// (Config.NegativeTTL must be 0).
	PenetrationNone Penetration = "none"
	// PenetrationNegative caches not-found answers for Config.NegativeTTL:
	// the same missing key reaches the store once per NegativeTTL, but every
	// distinct missing key still reaches it once, and the negative entries
	// take room in the cache.
	PenetrationNegative Penetration = "negative"
	// PenetrationBloom keeps a Bloom filter of the keys that exist (a
	// KeyFilter, held by the gateway): a key the filter has never seen is
	// answered not-found without the store. It needs no cache (it works with
	// policy none too) and stops distinct missing keys as well as repeated
	// ones, except its false positives (Config.BloomFalsePositive of them).
	PenetrationBloom Penetration = "bloom"
)

// Penetrations lists the valid defences, for error messages and flag help.
var Penetrations = []Penetration{PenetrationBloom, PenetrationNegative, PenetrationNone}

// Defaults of the Bloom filter.
const (
	// DefaultBloomFalsePositive is the false positive rate the filter is
	// sized for at DefaultBloomCapacity keys.
	DefaultBloomFalsePositive = 0.01
	// DefaultBloomCapacity is the number of keys the filter is sized for;
	// beyond it the false positive rate grows (it is measured, see
	// KeyFilter).
	DefaultBloomCapacity = 100_000
)

// FilterAnswer is what a KeyFilter says of a key. The strings are the result
// label of chaosdemo_bloom_checks_total.
type FilterAnswer string

// Answers of KeyFilter.Check.
const (
	// FilterAbsent: the key was never added and the filter is trusted, so
	// the key does not exist; answer not-found without the store.
	FilterAbsent FilterAnswer = "absent"
	// FilterMaybe: the key was added, or collides with keys that were (a
	// false positive); ask the store.
	FilterMaybe FilterAnswer = "maybe"
	// FilterUnverified: the key was never added, but the filter is not
	// trusted to know every key (not seeded yet, or other writers exist);
	// ask the store.
	FilterUnverified FilterAnswer = "unverified"
)

// KeyFilter is a Bloom filter of the keys that exist in the store, with the
// rule that keeps it from ever saying absent for a key that exists: it only
// answers FilterAbsent while it is trusted, and it is trusted only when it
// holds every key the store can hold:
//
//   - every write that can create a key adds it before the write is sent to
//     the store (Add), so no store holds a key the filter lacks because of a
//     write through this filter's owner;
//   - the keys the store held before the owner started are added by Seed
//     from a complete listing of the store; until Seed, the filter is not
//     trusted;
//   - writes that do not pass through the owner (another gateway, a client
//     writing to a node directly) are invisible to it, so with other writers
//     (soleWriter false) the filter is never trusted: a key it has not seen
//     is asked of the store (FilterUnverified), and keys found there are
//     added (Learn), so later reads of them pass without a store check of the
//     filter. There, bloom protects nothing; it never answers wrongly either.
//
// A Bloom filter cannot delete: a deleted key stays "maybe" (a read goes to
// the store and counts as a false positive), and the false positive rate grows
// with the keys ever added past the capacity it was sized for. Both are
// measured: chaosdemo_bloom_checks_total{result} and
// chaosdemo_bloom_false_positives_total (a maybe whose read found nothing);
// the measured false positive rate is
// false_positives / (false_positives + checks{result="absent"}).
//
// A KeyFilter is safe for concurrent use.
type KeyFilter struct {
	mu         sync.RWMutex
	f          *bloom.BloomFilter
	soleWriter bool
	seeded     atomic.Bool

	absent, maybe, unverified, falsePositives prometheus.Counter
	trusted                                   prometheus.Gauge
}

// NewKeyFilter returns an empty filter sized for capacity keys at false
// positive rate fp (0 < fp < 1, capacity ≥ 1; zero means the defaults).
// soleWriter says that every write to the store passes through the filter's
// owner (a cluster of one gateway). m, when not nil, receives its metrics.
func NewKeyFilter(capacity int, fp float64, soleWriter bool, m *metrics.Member) *KeyFilter {
	if capacity <= 0 {
		capacity = DefaultBloomCapacity
	}
	if fp <= 0 || fp >= 1 {
		fp = DefaultBloomFalsePositive
	}
	k := &KeyFilter{f: bloom.NewWithEstimates(uint(capacity), fp), soleWriter: soleWriter}
	if m != nil {
		k.absent = m.BloomChecks.WithLabelValues(string(FilterAbsent))
		k.maybe = m.BloomChecks.WithLabelValues(string(FilterMaybe))
		k.unverified = m.BloomChecks.WithLabelValues(string(FilterUnverified))
		k.falsePositives = m.BloomFalsePos
		k.trusted = m.BloomTrusted
	} else {
		for _, p := range []*prometheus.Counter{&k.absent, &k.maybe, &k.unverified, &k.falsePositives} {
			*p = prometheus.NewCounter(prometheus.CounterOpts{Name: "unused"})
		}
		k.trusted = prometheus.NewGauge(prometheus.GaugeOpts{Name: "unused"})
	}
	return k
}

// Add records that key may exist. A write calls it before the store sees the
// write.
func (k *KeyFilter) Add(key string) {
	k.mu.Lock()
	k.f.AddString(key)
	k.mu.Unlock()
}

// Learn records a key a store read found: it exists, whoever wrote it.
func (k *KeyFilter) Learn(key string) {
	k.mu.RLock()
	known := k.f.TestString(key)
	k.mu.RUnlock()
	if !known {
		k.Add(key)
	}
}

// Seed adds the keys of a complete listing of the store, taken after the
// filter was created, and trusts the filter from then on if the owner is the
// sole writer. A listing that may have missed keys must not be passed.
func (k *KeyFilter) Seed(keys []string) {
	k.mu.Lock()
	for _, key := range keys {
		k.f.AddString(key)
	}
	k.mu.Unlock()
	k.seeded.Store(true)
	if k.soleWriter {
		k.trusted.Set(1)
	}
}

// Seeded reports whether Seed ran.
func (k *KeyFilter) Seeded() bool { return k.seeded.Load() }

// Trusted reports whether an absent answer is final: seeded and sole writer.
func (k *KeyFilter) Trusted() bool { return k.soleWriter && k.seeded.Load() }

// Check says whether key may exist and counts the answer.
func (k *KeyFilter) Check(key string) FilterAnswer {
	k.mu.RLock()
	maybe := k.f.TestString(key)
	k.mu.RUnlock()
	switch {
	case maybe:
		k.maybe.Inc()
		return FilterMaybe
	case k.Trusted():
		k.absent.Inc()
		return FilterAbsent
	default:
		k.unverified.Inc()
		return FilterUnverified
	}
}

// FalsePositive counts a FilterMaybe whose store read found nothing.
func (k *KeyFilter) FalsePositive() { k.falsePositives.Inc() }

// EstimatedFalsePositiveRate is the false positive rate the filter's size
// predicts for n keys added.
func (k *KeyFilter) EstimatedFalsePositiveRate(n int) float64 {
	return bloom.EstimateFalsePositiveRate(k.f.Cap(), k.f.K(), uint(n))
}
