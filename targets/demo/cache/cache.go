package cache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	arc "github.com/hashicorp/golang-lru/arc/v2"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"
)

// Entry is what the cache holds for a key: the value and version of a found key,
// or a not-found answer (Found false). Value is shared between callers and must
// not be modified.
type Entry struct {
	Value   []byte
	Version string
	Found   bool
}

// Loader reads a key from the store behind the cache. A key the store does not
// hold is Entry{Found: false} with a nil error; an error means the store could not
// answer.
type Loader func(ctx context.Context, key string) (Entry, error)

// Outcome says how Get answered. The strings are the result label of
// chaosdemo_cache_requests_total.
type Outcome string

// Outcomes of Get.
const (
	OutcomeHit      Outcome = "hit"      // a fresh found entry
	OutcomeNegative Outcome = "negative" // a fresh not-found entry
	OutcomeMiss     Outcome = "miss"     // loaded from the store (or the load failed)
	OutcomeStale    Outcome = "stale"    // the load failed; an expired entry was served (StaleIfError)
	OutcomeBypass   Outcome = "bypass"   // policy none: loaded, nothing cached, not counted
)

// maxXFetchGap bounds −ln(u) for u drawn by rand.Float64 (u ≥ 2^-53 unless 0):
// an entry further than δ·β·maxXFetchGap from expiry can never be refreshed early,
// so the hit path skips the random draw.
const maxXFetchGap = 37.0

// Cache is a read-through cache in front of the store. It is safe for concurrent
// use.
type Cache struct {
	cfg   Config
	store store // nil when the policy is none
	rng   *lockedRand
	now   func() time.Time
	group singleflight.Group

	// mu guards pending and orders writes (Set, Invalidate) against the end of
	// loads, so a load that raced a write never stores the older value. It
	// also guards the byte accounting: every Add and Remove happens under it.
	mu      sync.Mutex
	pending map[string]*pendingLoad
	// held is the size of each entry stored, bytes their sum. The policy's
	// own evictions (entry count) are not reported: they leave stale sizes
	// behind, so bytes may only overstate, and stale is set; reconcile
	// drops them.
	held  map[string]int64
	bytes int64
	stale bool

	hits, negatives, misses, stales, loads, refreshes prometheus.Counter
}

// pendingLoad tracks the loads of one key in flight. stamp moves on every write
// of the key; a load whose stamp moved meanwhile does not store its result.
type pendingLoad struct {
	loads int
	stamp uint64
}

// item is one cached entry. Only refreshing changes after creation.
type item struct {
	entry      Entry
	expiry     time.Time
	delta      time.Duration // duration of the load that produced entry (XFetch's δ)
	refreshing atomic.Bool   // an early refresh is in flight
}

// store is the part of an eviction policy the cache uses. Get counts as a use of
// the key; Peek does not.
type store interface {
	Get(key string) (*item, bool)
	Peek(key string) (*item, bool)
	Add(key string, it *item)
	Remove(key string)
	Len() int
	Keys() []string // the policy's coldest first (within each of its lists)
}

// lruStore adapts lru.Cache, whose Add and Remove return a value, to store.
type lruStore struct{ *lru.Cache[string, *item] }

func (s lruStore) Add(key string, it *item) { s.Cache.Add(key, it) }
func (s lruStore) Remove(key string)        { s.Cache.Remove(key) }

// New builds a cache. rng drives TTL jitter and early refresh (it is wrapped in a
// mutex, the caller must not use it afterwards); now is the clock (nil means
// time.Now); m, when not nil, receives chaosdemo_cache_requests_total{result},
// chaosdemo_cache_loads_total and chaosdemo_cache_early_refreshes_total.
func New(cfg Config, rng *rand.Rand, now func() time.Time, m *metrics.Member) (*Cache, error) {
	cfg, err := cfg.Validate()
	if err != nil {
		return nil, fmt.Errorf("create cache: %w", err)
	}
	if rng == nil {
		return nil, errors.New("create cache: rng is nil; pass a seeded *rand.Rand")
	}
	if now == nil {
		now = time.Now
	}
	c := &Cache{
		cfg:     cfg,
		rng:     &lockedRand{r: rng},
		now:     now,
		pending: make(map[string]*pendingLoad),
		held:    make(map[string]int64),
	}
	switch cfg.Policy {
	case PolicyLRU:
		l, err := lru.New[string, *item](cfg.Size)
		if err != nil {
			return nil, fmt.Errorf("create lru cache of %d entries: %w", cfg.Size, err)
		}
		c.store = lruStore{l}
	case Policy2Q:
		q, err := lru.New2Q[string, *item](cfg.Size)
		if err != nil {
			return nil, fmt.Errorf("create 2q cache of %d entries: %w", cfg.Size, err)
		}
		c.store = q
	case PolicyARC:
		a, err := arc.NewARC[string, *item](cfg.Size)
		if err != nil {
			return nil, fmt.Errorf("create arc cache of %d entries: %w", cfg.Size, err)
		}
		c.store = a
	case PolicyLFU:
		c.store = &lockedLFU{s: newLFU(cfg.Size)}
	}
	if m != nil {
		c.hits = m.CacheRequests.WithLabelValues(string(OutcomeHit))
		c.negatives = m.CacheRequests.WithLabelValues(string(OutcomeNegative))
		c.misses = m.CacheRequests.WithLabelValues(string(OutcomeMiss))
		c.stales = m.CacheRequests.WithLabelValues(string(OutcomeStale))
		c.loads = m.CacheLoads
		c.refreshes = m.CacheRefreshes
	} else {
		// Unregistered counters keep the hot path free of nil checks.
		for _, p := range []*prometheus.Counter{&c.hits, &c.negatives, &c.misses, &c.stales, &c.loads, &c.refreshes} {
			*p = prometheus.NewCounter(prometheus.CounterOpts{Name: "unused"})
		}
	}
	return c, nil
}

// Config returns the validated config, defaults filled in.
func (c *Cache) Config() Config { return c.cfg }

// Enabled reports whether the cache holds anything (policy other than none).
func (c *Cache) Enabled() bool { return c.store != nil }

// Len is the number of entries held, expired ones included until evicted.
func (c *Cache) Len() int {
	if c.store == nil {
		return 0
	}
	return c.store.Len()
}

// Get returns key's entry: from the cache while fresh (hit, negative), else from
// load (miss), else, when load fails within StaleIfError past expiry, the expired
// entry (stale). Concurrent misses of one key share one load unless singleflight
// is disabled; a shared load runs detached from the first caller's cancellation
// but keeps its deadline and values, and each caller stops waiting when its own
// ctx is done. A hit close to expiry may start a background refresh (XFetch)
// while the cached entry is served. With policy none every call loads (bypass).
func (c *Cache) Get(ctx context.Context, key string, load Loader) (Entry, Outcome, error) {
	if c.store == nil {
		e, err := load(ctx, key)
		return e, OutcomeBypass, err
	}
	now := c.now()
	it, cached := c.store.Get(key)
	if cached {
		if left := it.expiry.Sub(now); left > 0 {
			c.maybeRefresh(ctx, key, it, left, load)
			if it.entry.Found {
				c.hits.Inc()
				return it.entry, OutcomeHit, nil
			}
			c.negatives.Inc()
			return it.entry, OutcomeNegative, nil
		}
	}
	e, err := c.fetch(ctx, key, load)
	if err != nil {
		if cached && c.cfg.StaleIfError > 0 && now.Sub(it.expiry) <= c.cfg.StaleIfError {
			c.stales.Inc()
			return it.entry, OutcomeStale, nil
		}
		c.misses.Inc()
		return Entry{}, OutcomeMiss, err
	}
	c.misses.Inc()
	return e, OutcomeMiss, nil
}

// Set stores e for key as if just loaded, replacing any entry and winning over any
// load of key in flight. A not-found entry (a delete) lives NegativeTTL, or TTL
// when negative caching is off, so a deleted key does not read back from the
// cache's older copy. No-op with policy none.
func (c *Cache) Set(key string, e Entry) {
	if c.store == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bumpLocked(key)
	var delta time.Duration
	if old, ok := c.store.Peek(key); ok {
		delta = old.delta
	}
	c.putLocked(key, e, delta, true)
}

// Invalidate drops key's entry; a load of key in flight will not store its
// result. No-op with policy none.
func (c *Cache) Invalidate(key string) {
	if c.store == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bumpLocked(key)
	c.removeLocked(key)
}

// Bytes is what the entries held take by the cache's count (keys, values and
// versions), at most Config.MaxBytes.
func (c *Cache) Bytes() int64 {
	if c.store == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reconcileLocked()
	return c.bytes
}

// entrySize is what an entry of key holds in memory, by the cache's count.
func entrySize(key string, e Entry) int64 {
	return int64(len(key) + len(e.Value) + len(e.Version))
}

func (c *Cache) removeLocked(key string) {
	c.store.Remove(key)
	c.bytes -= c.held[key]
	delete(c.held, key)
}

// addLocked stores it for key and keeps the entries within MaxBytes, evicting
// others (the policy's coldest first) when it does not fit. An entry larger
// than MaxBytes on its own is not stored.
func (c *Cache) addLocked(key string, it *item) {
	size := entrySize(key, it.entry)
	if size > c.cfg.MaxBytes {
		c.removeLocked(key)
		return
	}
	_, had := c.store.Peek(key)
	before := c.store.Len()
	c.store.Add(key, it)
	c.bytes += size - c.held[key]
	c.held[key] = size
	if !had && c.store.Len() <= before {
		c.stale = true // the policy evicted another entry to make room
	}
	if len(c.held) > 2*c.cfg.Size {
		c.reconcileLocked() // bound the stale sizes, at O(1) per eviction
	}
	if c.bytes <= c.cfg.MaxBytes {
		return
	}
	c.reconcileLocked()
	if c.bytes <= c.cfg.MaxBytes {
		return
	}
	for _, k := range c.store.Keys() {
		if c.bytes <= c.cfg.MaxBytes {
			break
		}
		if k != key {
			c.removeLocked(k)
		}
	}
}

// reconcileLocked drops the sizes of the entries the policy evicted.
func (c *Cache) reconcileLocked() {
	if !c.stale {
		return
	}
	for k, n := range c.held {
		if _, ok := c.store.Peek(k); !ok {
			c.bytes -= n
			delete(c.held, k)
		}
	}
	c.stale = false
}

func (c *Cache) bumpLocked(key string) {
	if p := c.pending[key]; p != nil {
		p.stamp++
	}
}

// putLocked stores e with a jittered TTL. A not-found result of a load with
// negative caching off removes the key instead: the store says it is gone.
func (c *Cache) putLocked(key string, e Entry, delta time.Duration, explicit bool) {
	ttl := c.cfg.TTL
	if !e.Found {
		switch {
		case c.cfg.NegativeTTL > 0:
			ttl = c.cfg.NegativeTTL
		case !explicit:
			c.removeLocked(key)
			return
		}
	}
	c.addLocked(key, &item{entry: e, expiry: c.now().Add(c.jitter(ttl)), delta: delta})
}

// jitter returns ttl·(1 + TTLJitter·(2u−1)), u uniform in [0, 1).
func (c *Cache) jitter(ttl time.Duration) time.Duration {
	if c.cfg.TTLJitter == 0 {
		return ttl
	}
	f := 1 + c.cfg.TTLJitter*(2*c.rng.Float64()-1)
	return time.Duration(float64(ttl) * f)
}

// fetch loads key, through singleflight unless it is disabled.
func (c *Cache) fetch(ctx context.Context, key string, load Loader) (Entry, error) {
	if c.cfg.DisableSingleflight {
		return c.loadAndStore(ctx, key, load)
	}
	ch := c.group.DoChan(key, func() (any, error) {
		// A caller that missed just before the previous flight of key stored its
		// result starts a new flight after it: serve what that flight stored.
		if it, ok := c.store.Peek(key); ok && c.now().Before(it.expiry) {
			return it.entry, nil
		}
		lctx, cancel := detach(ctx)
		defer cancel()
		return c.loadAndStore(lctx, key, load)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Entry{}, r.Err
		}
		return r.Val.(Entry), nil
	case <-ctx.Done():
		return Entry{}, fmt.Errorf("wait for the load of key %q: %w", key, ctx.Err())
	}
}

// loadAndStore runs load, timing it for XFetch, and stores the result unless a
// write of key happened meanwhile.
func (c *Cache) loadAndStore(ctx context.Context, key string, load Loader) (Entry, error) {
	c.loads.Inc()
	c.mu.Lock()
	p := c.pending[key]
	if p == nil {
		p = &pendingLoad{}
		c.pending[key] = p
	}
	p.loads++
	stamp := p.stamp
	c.mu.Unlock()

	start := c.now()
	e, err := load(ctx, key)
	delta := c.now().Sub(start)

	c.mu.Lock()
	defer c.mu.Unlock()
	if p.loads--; p.loads == 0 {
		delete(c.pending, key)
	}
	if err != nil {
		return Entry{}, err
	}
	if p.stamp == stamp {
		c.putLocked(key, e, delta, false)
	}
	return e, nil
}

// maybeRefresh implements XFetch (Vattani, Chierichetti, Lowenstein 2015): refresh
// when now − δ·β·ln(u) ≥ expiry, i.e. δ·β·(−ln u) ≥ left. The chance grows as the
// entry nears expiry and with the cost δ of its last load, so one caller refreshes
// it before a crowd misses it. The refresh runs in the background through the
// singleflight group, so a miss of the same key joins it.
func (c *Cache) maybeRefresh(ctx context.Context, key string, it *item, left time.Duration, load Loader) {
	if c.cfg.DisableEarlyRefresh || it.delta <= 0 {
		return
	}
	scale := float64(it.delta) * c.cfg.EarlyRefreshBeta
	if float64(left) > scale*maxXFetchGap {
		return // too far from expiry for any draw to refresh: skip the rng
	}
	if !refreshEarly(left, it.delta, c.cfg.EarlyRefreshBeta, c.rng.Float64()) {
		return
	}
	if !it.refreshing.CompareAndSwap(false, true) {
		return
	}
	c.refreshes.Inc()
	lctx, cancel := detach(ctx)
	ch := c.group.DoChan(key, func() (any, error) {
		return c.loadAndStore(lctx, key, load)
	})
	go func() {
		defer cancel()
		if r := <-ch; r.Err != nil {
			it.refreshing.Store(false) // let a later hit try again
		}
	}()
}

// refreshEarly is XFetch's test for a draw u uniform in [0, 1): δ·β·(−ln u) ≥ left,
// where left is the time to expiry and δ the duration of the last load.
func refreshEarly(left, delta time.Duration, beta, u float64) bool {
	return float64(delta)*beta*-math.Log(u) >= float64(left)
}

// detach returns a context with ctx's values and deadline but not its
// cancellation: a load shared by several callers must not fail because the first
// caller went away.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	base := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(base, dl)
	}
	return context.WithCancel(base)
}

// lockedRand makes a *rand.Rand safe for concurrent use.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}
