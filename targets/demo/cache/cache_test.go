package cache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo/internal/demotest"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
)

// gatedStore is a countingStore holding key = "v" whose loads wait until
// gate is closed (or their context ends).
func gatedStore(key string) (s *countingStore, gate chan struct{}) {
	s = newCountingStore()
	s.set(key, "v")
	gate = make(chan struct{})
	s.onLoad = func(ctx context.Context, _ string) error {
		select {
		case <-gate:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s, gate
}

// countingStore is a loader over a map that counts its loads.
type countingStore struct {
	mu    sync.Mutex
	data  map[string]string
	loads map[string]int
	total atomic.Int64
	err   error
	// onLoad, when set, runs inside every load (e.g. to advance the clock or
	// block on a gate).
	onLoad func(ctx context.Context, key string) error
}

func newCountingStore() *countingStore {
	return &countingStore{data: map[string]string{}, loads: map[string]int{}}
}

func (s *countingStore) set(key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[key] = value
}

func (s *countingStore) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *countingStore) loadsOf(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads[key]
}

func (s *countingStore) Load(ctx context.Context, key string) (Entry, error) {
	s.total.Add(1)
	s.mu.Lock()
	s.loads[key]++
	onLoad := s.onLoad
	s.mu.Unlock()
	if onLoad != nil {
		if err := onLoad(ctx, key); err != nil {
			return Entry{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return Entry{}, s.err
	}
	v, ok := s.data[key]
	if !ok {
		return Entry{Found: false}, nil
	}
	return Entry{Value: []byte(v), Version: "1", Found: true}, nil
}

func newTestCache(t testing.TB, cfg Config, clock *demotest.Clock) *Cache {
	t.Helper()
	now := time.Now
	if clock != nil {
		now = clock.Now
	}
	c, err := New(cfg, rand.New(rand.NewPCG(1, 2)), now, nil)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return c
}

func mustGet(t testing.TB, c *Cache, key string, load Loader) (Entry, Outcome) {
	t.Helper()
	e, o, err := c.Get(context.Background(), key, load)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return e, o
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
		want    Config
	}{
		{name: "zero is none with defaults", cfg: Config{},
			want: Config{Penetration: PenetrationNone, Policy: PolicyNone, Size: DefaultSize, MaxBytes: DefaultMaxBytes, TTL: DefaultTTL, EarlyRefreshBeta: 1}},
		{name: "policy case folded", cfg: Config{Policy: "ARC", Size: 5, TTL: time.Second, EarlyRefreshBeta: 2},
			want: Config{Penetration: PenetrationNone, Policy: PolicyARC, Size: 5, MaxBytes: DefaultMaxBytes, TTL: time.Second, EarlyRefreshBeta: 2}},
		{name: "unknown policy lists valid ones", cfg: Config{Policy: "mru"}, wantErr: `cache policy "mru" is unknown (valid: none, lru, 2q, arc, lfu)`},
		{name: "lfu", cfg: Config{Policy: "LFU"},
			want: Config{Penetration: PenetrationNone, Policy: PolicyLFU, Size: DefaultSize, MaxBytes: DefaultMaxBytes, TTL: DefaultTTL, EarlyRefreshBeta: 1}},
		{name: "negative size", cfg: Config{Policy: PolicyLRU, Size: -1}, wantErr: "cache size -1 is negative"},
		{name: "negative maxBytes", cfg: Config{Policy: PolicyLRU, MaxBytes: -1}, wantErr: "cache maxBytes -1 is negative"},
		{name: "negative ttl", cfg: Config{Policy: PolicyLRU, TTL: -time.Second}, wantErr: "cache ttl -1s is negative"},
		{name: "jitter 1", cfg: Config{Policy: PolicyLRU, TTLJitter: 1}, wantErr: "cache ttlJitter 1 is outside [0, 1)"},
		{name: "jitter negative", cfg: Config{Policy: PolicyLRU, TTLJitter: -0.1}, wantErr: "cache ttlJitter -0.1 is outside [0, 1)"},
		{name: "jitter NaN", cfg: Config{Policy: PolicyLRU, TTLJitter: math.NaN()}, wantErr: "cache ttlJitter NaN"},
		{name: "negative negativeTTL", cfg: Config{Policy: PolicyLRU, NegativeTTL: -1}, wantErr: "cache negativeTTL -1ns is negative"},
		{name: "negative beta", cfg: Config{Policy: PolicyLRU, EarlyRefreshBeta: -1}, wantErr: "cache earlyRefreshBeta -1 is negative"},
		{name: "negative staleIfError", cfg: Config{Policy: PolicyLRU, StaleIfError: -time.Second}, wantErr: "cache staleIfError -1s is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.Validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("Validate() error = %v, want one containing %q wrapping ErrInvalidConfig", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate(): %v", err)
			}
			if got != tt.want {
				t.Fatalf("Validate() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNewRequiresRng(t *testing.T) {
	if _, err := New(Config{Policy: PolicyLRU}, nil, nil, nil); err == nil {
		t.Fatal("New with a nil rng succeeded, want an error")
	}
}

func TestLRUEvictsLeastRecentlyUsed(t *testing.T) {
	s := newCountingStore()
	for _, k := range []string{"a", "b", "c", "d"} {
		s.set(k, "v-"+k)
	}
	c := newTestCache(t, Config{Policy: PolicyLRU, Size: 3, TTL: time.Hour}, demotest.NewClock())
	for _, k := range []string{"a", "b", "c"} {
		mustGet(t, c, k, s.Load)
	}
	if _, o := mustGet(t, c, "a", s.Load); o != OutcomeHit { // a becomes most recent
		t.Fatalf("Get(a) outcome = %s, want hit", o)
	}
	mustGet(t, c, "d", s.Load) // evicts b, the least recently used
	for _, tc := range []struct {
		key  string
		want Outcome
	}{{"a", OutcomeHit}, {"c", OutcomeHit}, {"d", OutcomeHit}, {"b", OutcomeMiss}} {
		if _, o := mustGet(t, c, tc.key, s.Load); o != tc.want {
			t.Errorf("after eviction Get(%s) outcome = %s, want %s", tc.key, o, tc.want)
		}
	}
}

// The cache is bounded in bytes as well as in entries: large values evict
// others (the policy's coldest first) long before the entry count is reached,
// a value larger than the whole bound is not cached, and the count of bytes
// stays exact through the policy's own evictions.
func TestCacheBoundedInBytes(t *testing.T) {
	for _, policy := range []Policy{PolicyLRU, Policy2Q, PolicyARC, PolicyLFU} {
		t.Run(string(policy), func(t *testing.T) {
			const maxBytes = 3500
			c := newTestCache(t, Config{Policy: policy, Size: 100, MaxBytes: maxBytes, TTL: time.Hour}, demotest.NewClock())
			big := Entry{Value: []byte(strings.Repeat("x", 1000)), Version: "1.0.1.1", Found: true}
			for i := range 20 {
				c.Set(fmt.Sprintf("k%02d", i), big)
				if b := c.Bytes(); b > maxBytes {
					t.Fatalf("after %d values of 1000 bytes the cache holds %d bytes, want at most %d", i+1, b, maxBytes)
				}
			}
			if n := c.Len(); n != 3 {
				t.Fatalf("cache holds %d entries of ~1010 bytes under a %d-byte bound, want 3", n, maxBytes)
			}
			if e, o := mustGet(t, c, "k19", nil); o != OutcomeHit || len(e.Value) != 1000 {
				t.Fatalf("the last value set: outcome %s, want hit", o)
			}
			if want := 3 * entrySize("k00", big); c.Bytes() != want {
				t.Fatalf("Bytes() = %d, want %d", c.Bytes(), want)
			}
			huge := Entry{Value: []byte(strings.Repeat("y", maxBytes)), Version: "1.0.1.2", Found: true}
			c.Set("k19", huge)
			if _, ok := c.store.Peek("k19"); ok {
				t.Fatal("a value larger than the byte bound was cached")
			}
			if want := 2 * entrySize("k00", big); c.Bytes() != want {
				t.Fatalf("Bytes() = %d after the oversized value replaced an entry, want %d", c.Bytes(), want)
			}

			// Small values: the entry count bounds the cache; its evictions
			// are not reported, and the count of bytes still follows.
			small := newTestCache(t, Config{Policy: policy, Size: 4, MaxBytes: maxBytes, TTL: time.Hour}, demotest.NewClock())
			e := Entry{Value: []byte("v"), Version: "1.0.1.1", Found: true}
			for i := range 50 {
				small.Set(fmt.Sprintf("s%02d", i), e)
			}
			if got, want := small.Bytes(), int64(small.Len())*entrySize("s00", e); got != want {
				t.Fatalf("Bytes() = %d with %d small entries held, want %d", got, small.Len(), want)
			}
			if len(small.held) > 2*4+1 {
				t.Fatalf("%d sizes remembered for a cache of 4 entries; stale sizes are not dropped", len(small.held))
			}
		})
	}
}

// A one-off scan of many keys flushes a hot set out of an LRU; 2Q and ARC keep
// keys seen twice apart from keys seen once, so the hot set survives.
func TestScanResistance(t *testing.T) {
	tests := []struct {
		policy      Policy
		wantHotHits int
	}{
		{PolicyLRU, 0},
		{Policy2Q, 5},
		{PolicyARC, 5},
		{PolicyLFU, 5}, // the hot keys were used twice, the scan's once
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			s := newCountingStore()
			c := newTestCache(t, Config{Policy: tt.policy, Size: 10, TTL: time.Hour}, demotest.NewClock())
			hot := []string{"h0", "h1", "h2", "h3", "h4"}
			for range 2 { // twice: a hot key is one seen more than once
				for _, k := range hot {
					s.set(k, "hot")
					mustGet(t, c, k, s.Load)
				}
			}
			for i := range 100 {
				k := fmt.Sprintf("scan%d", i)
				s.set(k, "cold")
				mustGet(t, c, k, s.Load)
			}
			hits := 0
			for _, k := range hot {
				if _, o := mustGet(t, c, k, s.Load); o == OutcomeHit {
					hits++
				}
			}
			if hits != tt.wantHotHits {
				t.Fatalf("%s: %d of %d hot keys survived the scan, want %d", tt.policy, hits, len(hot), tt.wantHotHits)
			}
			if c.Len() > 10 {
				t.Fatalf("Len() = %d, exceeds size 10", c.Len())
			}
		})
	}
}

func TestTTLExpiry(t *testing.T) {
	for _, policy := range []Policy{PolicyLRU, Policy2Q, PolicyARC, PolicyLFU} {
		t.Run(string(policy), func(t *testing.T) {
			clock := demotest.NewClock()
			s := newCountingStore()
			s.set("k", "v1")
			c := newTestCache(t, Config{Policy: policy, Size: 10, TTL: 10 * time.Second}, clock)
			steps := []struct {
				advance time.Duration
				want    Outcome
				value   string
			}{
				{0, OutcomeMiss, "v1"},
				{9*time.Second + 999*time.Millisecond, OutcomeHit, "v1"},
				{time.Millisecond, OutcomeMiss, "v2"}, // exactly at expiry: expired
			}
			for i, st := range steps {
				clock.Advance(st.advance)
				if i == 2 {
					s.set("k", "v2")
				}
				e, o := mustGet(t, c, "k", s.Load)
				if o != st.want || string(e.Value) != st.value {
					t.Fatalf("step %d: Get = (%q, %s), want (%q, %s)", i, e.Value, o, st.value, st.want)
				}
			}
			if n := s.loadsOf("k"); n != 2 {
				t.Fatalf("loads = %d, want 2", n)
			}
		})
	}
}

func TestTTLJitterBounds(t *testing.T) {
	tests := []struct {
		jitter float64
	}{{0}, {0.1}, {0.5}, {0.99}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.jitter), func(t *testing.T) {
			clock := demotest.NewClock()
			s := newCountingStore()
			const ttl = 10 * time.Second
			c := newTestCache(t, Config{Policy: PolicyLRU, Size: 2000, TTL: ttl, TTLJitter: tt.jitter}, clock)
			lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
			for i := range 2000 {
				k := fmt.Sprint(i)
				s.set(k, "v")
				mustGet(t, c, k, s.Load)
				it, ok := c.store.Peek(k)
				if !ok {
					t.Fatalf("key %s not cached", k)
				}
				life := it.expiry.Sub(clock.Now())
				lo, hi = min(lo, life), max(hi, life)
			}
			minLife := time.Duration(float64(ttl) * (1 - tt.jitter))
			maxLife := time.Duration(float64(ttl) * (1 + tt.jitter))
			if lo < minLife || hi > maxLife {
				t.Fatalf("lifetimes in [%s, %s], want within [%s, %s]", lo, hi, minLife, maxLife)
			}
			// 2000 uniform draws cover the range: the extremes are within 1% of
			// the span of its ends.
			if span := maxLife - minLife; span > 0 && (lo-minLife > span/100 || maxLife-hi > span/100) {
				t.Fatalf("lifetimes in [%s, %s] do not spread over [%s, %s]", lo, hi, minLife, maxLife)
			}
		})
	}
}

func TestNegativeCaching(t *testing.T) {
	tests := []struct {
		name        string
		negativeTTL time.Duration
		second      Outcome
		loads       int
	}{
		{"on", time.Second, OutcomeNegative, 1},
		{"off", 0, OutcomeMiss, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := demotest.NewClock()
			s := newCountingStore()
			c := newTestCache(t, Config{Policy: PolicyLRU, Size: 10, TTL: time.Hour, NegativeTTL: tt.negativeTTL}, clock)
			if e, o := mustGet(t, c, "absent", s.Load); e.Found || o != OutcomeMiss {
				t.Fatalf("first Get = (found %v, %s), want (false, miss)", e.Found, o)
			}
			if e, o := mustGet(t, c, "absent", s.Load); e.Found || o != tt.second {
				t.Fatalf("second Get = (found %v, %s), want (false, %s)", e.Found, o, tt.second)
			}
			if n := s.loadsOf("absent"); n != tt.loads {
				t.Fatalf("loads = %d, want %d", n, tt.loads)
			}
			if tt.negativeTTL > 0 {
				// The key appears; the negative entry hides it until it expires.
				s.set("absent", "now-present")
				clock.Advance(tt.negativeTTL)
				if e, o := mustGet(t, c, "absent", s.Load); !e.Found || o != OutcomeMiss {
					t.Fatalf("Get after negativeTTL = (found %v, %s), want (true, miss)", e.Found, o)
				}
			}
		})
	}
}

func TestSingleflight(t *testing.T) {
	tests := []struct {
		name         string
		disable      bool
		wantLoads    int64
		waitForLoads int64 // loads to see in flight before opening the gate
	}{
		{"on: 100 misses make one load", false, 1, 1},
		{"off: 100 misses make 100 loads", true, 100, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, gate := gatedStore("hot")
			c := newTestCache(t, Config{Policy: PolicyLRU, Size: 10, TTL: time.Hour, DisableSingleflight: tt.disable}, nil)
			var wg sync.WaitGroup
			errs := make(chan error, 100)
			for range 100 {
				wg.Go(func() {
					e, _, err := c.Get(context.Background(), "hot", s.Load)
					if err == nil && string(e.Value) != "v" {
						err = fmt.Errorf("value %q, want v", e.Value)
					}
					errs <- err
				})
			}
			testkit.Eventually(t, 5*time.Second, fmt.Sprintf("%d loads in flight", tt.waitForLoads), func() bool { return s.total.Load() >= tt.waitForLoads })
			close(gate)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
			}
			if got := s.total.Load(); got != tt.wantLoads {
				t.Fatalf("loads = %d, want %d", got, tt.wantLoads)
			}
		})
	}
}

// A caller that gives up does not cancel the load it shares with others.
func TestSingleflightCallerCancelDoesNotCancelSharedLoad(t *testing.T) {
	s, gate := gatedStore("k")
	c := newTestCache(t, Config{Policy: PolicyLRU, Size: 10, TTL: time.Hour}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() {
		_, _, err := c.Get(ctx, "k", s.Load)
		firstErr <- err
	}()
	testkit.Eventually(t, 5*time.Second, "the first load", func() bool { return s.total.Load() == 1 })
	second := make(chan Entry, 1)
	go func() {
		e, _, _ := c.Get(context.Background(), "k", s.Load)
		second <- e
	}()
	cancel()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller's error = %v, want context.Canceled", err)
	}
	close(gate)
	if e := <-second; string(e.Value) != "v" {
		t.Fatalf("second caller got %q, want v", e.Value)
	}
	if n := s.total.Load(); n != 1 {
		t.Fatalf("loads = %d, want 1", n)
	}
}

func TestRefreshEarly(t *testing.T) {
	tests := []struct {
		name  string
		left  time.Duration
		delta time.Duration
		beta  float64
		u     float64
		want  bool
	}{
		{"u=1 never", time.Nanosecond, time.Second, 1, 1, false},
		{"u=0 always", time.Hour, time.Millisecond, 1, 0, true},
		{"at threshold", 100 * time.Millisecond, 100 * time.Millisecond, 1, math.Exp(-1), true},
		{"just above threshold", 101 * time.Millisecond, 100 * time.Millisecond, 1, math.Exp(-1), false},
		{"beta doubles reach", 190 * time.Millisecond, 100 * time.Millisecond, 2, math.Exp(-1), true},
		{"cheap load refreshes late", 100 * time.Millisecond, time.Millisecond, 1, 0.5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := refreshEarly(tt.left, tt.delta, tt.beta, tt.u); got != tt.want {
				t.Fatalf("refreshEarly(%s, %s, %v, %v) = %v, want %v", tt.left, tt.delta, tt.beta, tt.u, got, tt.want)
			}
		})
	}
}

// Under a steady stream of hits, XFetch reloads a key before it expires, so no
// caller ever misses it; far from expiry it never does.
func TestEarlyRefreshBeforeExpiry(t *testing.T) {
	clock := demotest.NewClock()
	s := newCountingStore()
	s.set("k", "v1")
	const delta = 100 * time.Millisecond
	var first atomic.Bool
	first.Store(true)
	s.onLoad = func(context.Context, string) error {
		if first.CompareAndSwap(true, false) {
			clock.Advance(delta) // the first load takes δ = 100ms
		}
		return nil
	}
	m := metrics.New("g1")
	c, err := New(Config{Policy: PolicyLRU, Size: 10, TTL: 10 * time.Second}, rand.New(rand.NewPCG(1, 2)), clock.Now, m)
	if err != nil {
		t.Fatal(err)
	}
	mustGet(t, c, "k", s.Load)
	it, _ := c.store.Peek("k")
	expiry := it.expiry

	// 5s from expiry is beyond δ·β·37 = 3.7s: no refresh, whatever the draw.
	clock.Advance(expiry.Sub(clock.Now()) - 5*time.Second)
	for range 10000 {
		if _, o := mustGet(t, c, "k", s.Load); o != OutcomeHit {
			t.Fatalf("outcome %s, want hit", o)
		}
	}
	if n := s.total.Load(); n != 1 {
		t.Fatalf("loads 5s before expiry = %d, want 1", n)
	}

	// 50ms from expiry each hit refreshes with probability e^-0.5 ≈ 0.61.
	s.set("k", "v2")
	clock.Advance(expiry.Sub(clock.Now()) - 50*time.Millisecond)
	for i := 0; demotest.Value(t, m.CacheRefreshes) == 0; i++ {
		if i == 1000 {
			t.Fatal("1000 hits 50ms before expiry started no refresh")
		}
		if _, o := mustGet(t, c, "k", s.Load); o != OutcomeHit {
			t.Fatalf("outcome %s, want hit while the refresh runs", o)
		}
	}
	testkit.Eventually(t, 5*time.Second, "the refreshed value", func() bool {
		it, ok := c.store.Peek("k")
		return ok && string(it.entry.Value) == "v2"
	})
	if n := demotest.Value(t, m.CacheRefreshes); n != 1 {
		t.Fatalf("cache_early_refreshes_total = %v, want 1", n)
	}
	if !clock.Now().Before(expiry) {
		t.Fatal("the clock passed the old expiry; the refresh was not early")
	}
	if e, o := mustGet(t, c, "k", s.Load); string(e.Value) != "v2" || o != OutcomeHit {
		t.Fatalf("after refresh Get = (%q, %s), want (v2, hit)", e.Value, o)
	}
	if n := s.total.Load(); n != 2 {
		t.Fatalf("loads = %d, want 2 (one refresh)", n)
	}
}

func TestEarlyRefreshDisabled(t *testing.T) {
	clock := demotest.NewClock()
	s := newCountingStore()
	s.set("k", "v")
	s.onLoad = func(context.Context, string) error { clock.Advance(time.Second); return nil }
	c := newTestCache(t, Config{Policy: PolicyLRU, Size: 10, TTL: 10 * time.Second, DisableEarlyRefresh: true}, clock)
	mustGet(t, c, "k", s.Load)
	clock.Advance(10*time.Second - time.Millisecond)
	for range 1000 {
		mustGet(t, c, "k", s.Load)
	}
	if n := s.total.Load(); n != 1 {
		t.Fatalf("loads = %d, want 1", n)
	}
}

func TestStaleIfError(t *testing.T) {
	storeDown := errors.New("store unreachable")
	tests := []struct {
		name         string
		staleIfError time.Duration
		pastExpiry   time.Duration
		wantOutcome  Outcome
		wantErr      bool
	}{
		{"within window", 5 * time.Second, 2 * time.Second, OutcomeStale, false},
		{"at window edge", 5 * time.Second, 5 * time.Second, OutcomeStale, false},
		{"past window", 5 * time.Second, 6 * time.Second, OutcomeMiss, true},
		{"off", 0, time.Second, OutcomeMiss, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := demotest.NewClock()
			s := newCountingStore()
			s.set("k", "v1")
			c := newTestCache(t, Config{Policy: PolicyLRU, Size: 10, TTL: time.Second, StaleIfError: tt.staleIfError}, clock)
			mustGet(t, c, "k", s.Load)
			s.setErr(storeDown)
			clock.Advance(time.Second + tt.pastExpiry)
			e, o, err := c.Get(context.Background(), "k", s.Load)
			if o != tt.wantOutcome || (err != nil) != tt.wantErr {
				t.Fatalf("Get = (%q, %s, %v), want outcome %s, error %v", e.Value, o, err, tt.wantOutcome, tt.wantErr)
			}
			if tt.wantErr && !errors.Is(err, storeDown) {
				t.Fatalf("error = %v, want it to wrap the load error", err)
			}
			if !tt.wantErr && string(e.Value) != "v1" {
				t.Fatalf("stale value = %q, want v1", e.Value)
			}
		})
	}
}

// A write during a load wins: the load's older value is not stored.
func TestWriteWinsOverLoadInFlight(t *testing.T) {
	tests := []struct {
		name  string
		write func(c *Cache)
		want  Outcome
		value string
	}{
		{"set", func(c *Cache) { c.Set("k", Entry{Value: []byte("new"), Version: "2", Found: true}) }, OutcomeHit, "new"},
		{"invalidate", func(c *Cache) { c.Invalidate("k") }, OutcomeMiss, "old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newCountingStore()
			s.set("k", "old")
			gate := make(chan struct{})
			s.onLoad = func(context.Context, string) error { <-gate; return nil }
			c := newTestCache(t, Config{Policy: PolicyLRU, Size: 10, TTL: time.Hour}, nil)
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _, _ = c.Get(context.Background(), "k", s.Load)
			}()
			testkit.Eventually(t, 5*time.Second, "the load", func() bool { return s.total.Load() == 1 })
			tt.write(c)
			close(gate)
			<-done
			s.onLoad = nil
			if e, o := mustGet(t, c, "k", s.Load); o != tt.want || string(e.Value) != tt.value {
				t.Fatalf("Get after write = (%q, %s), want (%q, %s)", e.Value, o, tt.value, tt.want)
			}
		})
	}
}

func TestSetNotFoundHidesDeletedKey(t *testing.T) {
	s := newCountingStore()
	s.set("k", "v")
	c := newTestCache(t, Config{Policy: PolicyLRU, Size: 10, TTL: time.Hour}, demotest.NewClock())
	mustGet(t, c, "k", s.Load)
	c.Set("k", Entry{Found: false}) // a write-behind delete, store not yet told
	if e, o := mustGet(t, c, "k", s.Load); e.Found || o != OutcomeNegative {
		t.Fatalf("Get after Set(not found) = (found %v, %s), want (false, negative)", e.Found, o)
	}
}

func TestPolicyNoneBypasses(t *testing.T) {
	s := newCountingStore()
	s.set("k", "v")
	c := newTestCache(t, Config{Policy: PolicyNone}, nil)
	for range 3 {
		if e, o := mustGet(t, c, "k", s.Load); o != OutcomeBypass || string(e.Value) != "v" {
			t.Fatalf("Get = (%q, %s), want (v, bypass)", e.Value, o)
		}
	}
	c.Set("k", Entry{Value: []byte("x"), Found: true})
	c.Invalidate("k")
	if n := s.total.Load(); n != 3 || c.Len() != 0 || c.Enabled() {
		t.Fatalf("loads = %d, Len = %d, Enabled = %v; want 3, 0, false", n, c.Len(), c.Enabled())
	}
}

func TestMetrics(t *testing.T) {
	clock := demotest.NewClock()
	m := metrics.New("g1")
	c, err := New(Config{Policy: PolicyLRU, Size: 10, TTL: time.Second, NegativeTTL: time.Second, StaleIfError: time.Minute},
		rand.New(rand.NewPCG(1, 2)), clock.Now, m)
	if err != nil {
		t.Fatal(err)
	}
	s := newCountingStore()
	s.set("k", "v")
	mustGet(t, c, "k", s.Load)      // miss
	mustGet(t, c, "k", s.Load)      // hit
	mustGet(t, c, "absent", s.Load) // miss
	mustGet(t, c, "absent", s.Load) // negative
	clock.Advance(2 * time.Second)
	s.setErr(errors.New("down"))
	mustGet(t, c, "k", s.Load) // stale
	want := map[string]float64{"hit": 1, "miss": 2, "negative": 1, "stale": 1}
	for result, n := range want {
		if got := demotest.Value(t, m.CacheRequests.WithLabelValues(result)); got != n {
			t.Errorf("cache_requests_total{result=%q} = %v, want %v", result, got, n)
		}
	}
	if got := demotest.Value(t, m.CacheLoads); got != 3 {
		t.Errorf("cache_loads_total = %v, want 3", got)
	}
}

func TestHitDoesNotAllocate(t *testing.T) {
	for _, policy := range []Policy{PolicyLRU, Policy2Q, PolicyARC, PolicyLFU} {
		t.Run(string(policy), func(t *testing.T) {
			c, err := New(Config{Policy: policy, Size: 10, TTL: time.Hour}, rand.New(rand.NewPCG(1, 2)), time.Now, metrics.New("g1"))
			if err != nil {
				t.Fatal(err)
			}
			s := newCountingStore()
			s.set("k", "v")
			mustGet(t, c, "k", s.Load)
			ctx, load := context.Background(), Loader(s.Load)
			allocs := testing.AllocsPerRun(1000, func() {
				if _, o, _ := c.Get(ctx, "k", load); o != OutcomeHit {
					t.Fatalf("outcome %s, want hit", o)
				}
			})
			if allocs != 0 {
				t.Fatalf("a hit allocates %v times, want 0", allocs)
			}
		})
	}
}

// BenchmarkGetHit measures the hit path from many goroutines at once:
//
//	go test -run '^$' -bench GetHit -benchmem ./targets/demo/cache/
func BenchmarkGetHit(b *testing.B) {
	for _, policy := range []Policy{PolicyLRU, Policy2Q, PolicyARC, PolicyLFU} {
		b.Run(string(policy), func(b *testing.B) {
			c, err := New(Config{Policy: policy, Size: 10000, TTL: time.Hour, TTLJitter: 0.1}, rand.New(rand.NewPCG(1, 2)), time.Now, metrics.New("g1"))
			if err != nil {
				b.Fatal(err)
			}
			s := newCountingStore()
			keys := make([]string, 1000)
			for i := range keys {
				keys[i] = fmt.Sprintf("k%d", i)
				s.set(keys[i], "value")
				mustGet(b, c, keys[i], s.Load)
			}
			ctx, load := context.Background(), Loader(s.Load)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, o, _ := c.Get(ctx, keys[i%len(keys)], load); o != OutcomeHit {
						b.Errorf("outcome %s, want hit", o)
						return
					}
					i++
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}
