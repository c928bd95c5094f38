package resilience

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo/internal/demotest"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/sony/gobreaker/v2"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
		check   func(Config) bool
	}{
		{name: "zero takes defaults", cfg: Config{}, check: func(c Config) bool {
			return c.Timeout == DefaultTimeout && c.Retries.Max == 0 && c.Retries.Base == DefaultRetryBase &&
				c.Retries.Cap == DefaultRetryCap && c.Breaker.Failures == DefaultBreakerFailures &&
				c.Breaker.OpenFor == DefaultBreakerOpenFor && c.Bulkhead == DefaultBulkhead &&
				c.MaxInflight == DefaultMaxInflight && c.RateLimit == 0 && c.RateBurst == 0
		}},
		{name: "default config is valid and unchanged", cfg: DefaultConfig(), check: func(c Config) bool { return c == DefaultConfig() }},
		{name: "burst from rate", cfg: Config{RateLimit: 2.5}, check: func(c Config) bool { return c.RateBurst == 3 }},
		{name: "cap raised to a large base", cfg: Config{Retries: RetryConfig{Base: time.Second}}, check: func(c Config) bool { return c.Retries.Cap == time.Second }},
		{name: "negative timeout", cfg: Config{Timeout: -1}, wantErr: "resilience timeout -1ns is negative"},
		{name: "negative bulkhead", cfg: Config{Bulkhead: -2}, wantErr: "resilience bulkhead -2 is negative"},
		{name: "negative maxInflight", cfg: Config{MaxInflight: -1}, wantErr: "resilience maxInflight -1 is negative"},
		{name: "negative rate", cfg: Config{RateLimit: -1}, wantErr: "resilience rateLimit -1 must be a finite number >= 0"},
		{name: "negative retries", cfg: Config{Retries: RetryConfig{Max: -1}}, wantErr: "resilience retries.max -1 is negative"},
		{name: "cap below base", cfg: Config{Retries: RetryConfig{Base: time.Second, Cap: time.Millisecond}}, wantErr: "resilience retries.cap 1ms is below retries.base 1s"},
		{name: "negative failures", cfg: Config{Breaker: BreakerConfig{Failures: -1}}, wantErr: "resilience breaker.failures -1 is negative"},
		{name: "negative openFor", cfg: Config{Breaker: BreakerConfig{OpenFor: -time.Second}}, wantErr: "resilience breaker.openFor -1s is negative"},
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
			if err != nil || !tt.check(got) {
				t.Fatalf("Validate() = %+v, %v", got, err)
			}
		})
	}
}

// flakyServer answers 500 while failing is set, 200 otherwise, and counts calls.
type flakyServer struct {
	*httptest.Server
	failing atomic.Bool
	calls   atomic.Int64
}

func newFlakyServer(t *testing.T) *flakyServer {
	s := &flakyServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.calls.Add(1)
		if s.failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(s.Close)
	return s
}

// callThrough makes one GET through peer's breaker; refused reports a call the
// breaker did not let out.
func callThrough(b *Breakers, peer, url string) (refused bool, err error) {
	done, err := b.Allow(peer)
	if err != nil {
		return true, err
	}
	resp, err := http.Get(url)
	if err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode >= 500 {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
	}
	done(err)
	return false, err
}

func TestBreakerTripsHalfOpensAndCloses(t *testing.T) {
	srv := newFlakyServer(t)
	m := metrics.New("g1")
	const failures = 3
	b, err := NewBreakers(BreakerConfig{Failures: failures, OpenFor: 50 * time.Millisecond}, []string{"n1"}, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	gauge := m.BreakerState.WithLabelValues("n1")
	if v := demotest.Value(t, gauge); v != metrics.BreakerClosed {
		t.Fatalf("initial breaker_state = %v, want 0", v)
	}

	srv.failing.Store(true)
	for i := range failures {
		if refused, _ := callThrough(b, "n1", srv.URL); refused {
			t.Fatalf("call %d refused before %d failures", i+1, failures)
		}
	}
	if !b.Open("n1") || demotest.Value(t, gauge) != metrics.BreakerOpen {
		t.Fatalf("after %d failures: Open = %v, breaker_state = %v; want true, 2", failures, b.Open("n1"), demotest.Value(t, gauge))
	}
	if refused, err := callThrough(b, "n1", srv.URL); !refused || !errors.Is(err, ErrBreakerOpen) {
		t.Fatalf("call while open: refused %v, err %v; want refused with ErrBreakerOpen", refused, err)
	}
	if n := srv.calls.Load(); n != failures {
		t.Fatalf("server saw %d calls, want %d (the open breaker must not call)", n, failures)
	}

	// After OpenFor the breaker half-opens; asking does not use the probe.
	testkit.Eventually(t, 5*time.Second, "half-open", func() bool { return b.State("n1") == gobreaker.StateHalfOpen })
	if v := demotest.Value(t, gauge); v != metrics.BreakerHalfOpen {
		t.Fatalf("breaker_state = %v, want 1 (half-open)", v)
	}
	for range 5 {
		if b.Open("n1") {
			t.Fatal("Open reported true in half-open")
		}
	}
	// One probe at a time: a second caller is refused while the probe runs.
	done, err := b.Allow("n1")
	if err != nil {
		t.Fatalf("half-open probe refused: %v", err)
	}
	if _, err := b.Allow("n1"); !errors.Is(err, ErrBreakerOpen) {
		t.Fatalf("second half-open call err = %v, want ErrBreakerOpen", err)
	}
	done(errors.New("probe failed")) // a failed probe opens it again
	if v := demotest.Value(t, gauge); v != metrics.BreakerOpen {
		t.Fatalf("after failed probe breaker_state = %v, want 2", v)
	}

	srv.failing.Store(false)
	testkit.Eventually(t, 5*time.Second, "half-open again", func() bool { return b.State("n1") == gobreaker.StateHalfOpen })
	if _, err := callThrough(b, "n1", srv.URL); err != nil {
		t.Fatalf("probe to a healthy server: %v", err)
	}
	if b.State("n1") != gobreaker.StateClosed || demotest.Value(t, gauge) != metrics.BreakerClosed {
		t.Fatalf("after a good probe: state %v, breaker_state %v; want closed, 0", b.State("n1"), demotest.Value(t, gauge))
	}
}

func TestBreakerIgnoresCanceledCalls(t *testing.T) {
	m := metrics.New("g1")
	b, err := NewBreakers(BreakerConfig{Failures: 1, OpenFor: time.Hour}, nil, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	done, err := b.Allow("n9") // unknown peers are added on first use
	if err != nil {
		t.Fatal(err)
	}
	done(fmt.Errorf("caller left: %w", context.Canceled))
	if b.Open("n9") {
		t.Fatal("a canceled call opened the breaker")
	}
	if got := b.States(); got["n9"] != "closed" {
		t.Fatalf("States() = %v, want n9 closed", got)
	}
}

func TestBackoffBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 42))
	for range 20000 {
		attempt := rng.IntN(80)
		base := time.Duration(1 + rng.Int64N(int64(time.Second)))
		cap := base + time.Duration(rng.Int64N(int64(time.Minute)))
		// The reference ceiling in floating point, which cannot overflow.
		ceiling := time.Duration(math.Min(float64(cap), float64(base)*math.Pow(2, float64(attempt))))
		d := Backoff(attempt, base, cap, rng)
		if d < 0 || d > ceiling {
			t.Fatalf("Backoff(%d, %s, %s) = %s, want within [0, %s]", attempt, base, cap, d, ceiling)
		}
	}
}

// Full jitter spreads over the whole interval: the mean is about half the
// ceiling and draws reach both ends.
func TestBackoffFullJitterSpread(t *testing.T) {
	tests := []struct {
		attempt   int
		base, cap time.Duration
		ceiling   time.Duration
	}{
		{0, 10 * time.Millisecond, 200 * time.Millisecond, 10 * time.Millisecond},
		{3, 10 * time.Millisecond, 200 * time.Millisecond, 80 * time.Millisecond},
		{5, 10 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond},
		{200, time.Hour, 2 * time.Hour, 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("attempt %d", tt.attempt), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(tt.attempt)))
			const n = 10000
			var sum float64
			lo, hi := tt.ceiling, time.Duration(0)
			for range n {
				d := Backoff(tt.attempt, tt.base, tt.cap, rng)
				sum += float64(d)
				lo, hi = min(lo, d), max(hi, d)
			}
			mean := sum / n / float64(tt.ceiling)
			if mean < 0.48 || mean > 0.52 || lo > tt.ceiling/50 || hi < tt.ceiling-tt.ceiling/50 || hi > tt.ceiling {
				t.Fatalf("mean/ceiling %.3f, range [%s, %s]; want ~0.5 over [0, %s]", mean, lo, hi, tt.ceiling)
			}
		})
	}
	if d := Backoff(3, 0, time.Second, rand.New(rand.NewPCG(1, 1))); d != 0 {
		t.Fatalf("Backoff with base 0 = %s, want 0", d)
	}
}

func TestBulkhead(t *testing.T) {
	m := metrics.New("g1")
	bhs := NewBulkheads(3, []string{"n1", "n2"}, m)
	n1 := bhs.For("n1")
	var got atomic.Int64
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if n1.TryAcquire() {
				got.Add(1)
			}
		})
	}
	wg.Wait()
	if got.Load() != 3 || n1.InUse() != 3 {
		t.Fatalf("acquired %d, in use %d; want 3, 3", got.Load(), n1.InUse())
	}
	if v := demotest.Value(t, m.BulkheadFull.WithLabelValues("n1")); v != 7 {
		t.Fatalf("bulkhead_rejected_total{n1} = %v, want 7", v)
	}
	if !bhs.For("n2").TryAcquire() {
		t.Fatal("n2's bulkhead is full because n1's is: bulkheads must be per peer")
	}
	n1.Release()
	if !n1.TryAcquire() {
		t.Fatal("TryAcquire after Release failed")
	}
}

// Under contention the bulkhead never lets more than its size run at once.
func TestBulkheadBoundsConcurrency(t *testing.T) {
	bh := NewBulkhead(4, nil)
	var running, peak atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 200 {
				if !bh.TryAcquire() {
					continue
				}
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				running.Add(-1)
				bh.Release()
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 4 || p < 1 {
		t.Fatalf("peak concurrency %d, want 1..4", p)
	}
	if bh.InUse() != 0 {
		t.Fatalf("InUse = %d after all released, want 0", bh.InUse())
	}
}

func TestNilShedderAndLimiterAllow(t *testing.T) {
	var s *Shedder
	var r *RateLimiter
	if !s.Admit() || s.Inflight() != 0 {
		t.Fatal("nil Shedder must admit")
	}
	s.Done()
	if ok, _ := r.Allow(); !ok {
		t.Fatal("nil RateLimiter must allow")
	}
	if NewRateLimiter(0, 10, metrics.New("x")) != nil {
		t.Fatal("rate 0 must give no limiter")
	}
}

// failN reports n failed calls to peer's breaker; refused calls are not counted.
func failN(t *testing.T, b *Breakers, peer string, n int) {
	t.Helper()
	for range n {
		done, err := b.Allow(peer)
		if err != nil {
			return
		}
		done(errors.New("timeout"))
	}
}

func openPeers(b *Breakers) []string {
	var open []string
	for p, s := range b.States() {
		if s != "closed" {
			open = append(open, p)
		}
	}
	sort.Strings(open)
	return open
}

// A stalled caller times out on every peer at once. The breakers must not all
// open (that would turn the stall into an outage): at most MaxOpen of them do,
// the rest stay closed and count the held trip, and a place freed by a breaker
// that closes again can be taken by another.
func TestBreakersOpenAtMostTheirShare(t *testing.T) {
	m := metrics.New("g1")
	const failures = 3
	b, err := NewBreakers(BreakerConfig{Failures: failures, OpenFor: 20 * time.Millisecond, MaxOpen: 0.5}, []string{"n1", "n2", "n3"}, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.MaxOpen() != 1 {
		t.Fatalf("MaxOpen() = %d with 3 peers and a share of 50%%, want 1", b.MaxOpen())
	}
	failN(t, b, "n1", failures)
	failN(t, b, "n2", 2*failures)
	failN(t, b, "n3", failures)
	if got := openPeers(b); !slices.Equal(got, []string{"n1"}) {
		t.Fatalf("open breakers %v, want only [n1]: the share allows one of three", got)
	}
	if held := demotest.Value(t, m.BreakerHeld.WithLabelValues("n2")); held != failures+1 {
		t.Fatalf("breaker_trips_held_total{n2} = %v, want %d (every failure from the 3rd on)", held, failures+1)
	}
	if held := demotest.Value(t, m.BreakerHeld.WithLabelValues("n1")); held != 0 {
		t.Fatalf("breaker_trips_held_total{n1} = %v, want 0", held)
	}
	// n1 recovers: its half-open probe succeeds and gives its place back.
	testkit.Eventually(t, 5*time.Second, "n1 half-open", func() bool { return b.State("n1") == gobreaker.StateHalfOpen })
	done, err := b.Allow("n1")
	if err != nil {
		t.Fatal(err)
	}
	done(nil)
	if got := openPeers(b); len(got) != 0 {
		t.Fatalf("open breakers %v after n1's probe succeeded, want none", got)
	}
	failN(t, b, "n3", 1) // its streak continues: the next failure trips it
	if got := openPeers(b); !slices.Equal(got, []string{"n3"}) {
		t.Fatalf("open breakers %v, want [n3] once n1's place is free", got)
	}
}

// Many callers failing on every peer at once, concurrently: the limit holds
// exactly (no two trips take the last place), and 100% restores the classic
// breaker that opens whenever its own peer fails.
func TestBreakersShareHoldsUnderConcurrentTrips(t *testing.T) {
	peers := []string{"n1", "n2", "n3", "n4", "n5"}
	for _, tc := range []struct {
		share float64
		want  int
	}{{0.5, 2}, {0.2, 1}, {0.01, 1}, {1, 5}} {
		m := metrics.New("g1")
		b, err := NewBreakers(BreakerConfig{Failures: 2, OpenFor: time.Hour, MaxOpen: tc.share}, peers, m, nil)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for w := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					failN(t, b, peers[(w+i)%len(peers)], 1)
				}
			}()
		}
		wg.Wait()
		if got := openPeers(b); len(got) != tc.want || b.MaxOpen() != tc.want {
			t.Errorf("share %v: open %v (MaxOpen %d), want exactly %d open", tc.share, got, b.MaxOpen(), tc.want)
		}
	}
}

func TestBreakerMaxOpenValidation(t *testing.T) {
	for _, share := range []float64{-0.1, 1.5, math.NaN()} {
		if _, err := (BreakerConfig{MaxOpen: share}).Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("MaxOpen %v: err %v, want ErrInvalidConfig", share, err)
		}
	}
	c, err := BreakerConfig{}.Validate()
	if err != nil || c.MaxOpen != DefaultBreakerMaxOpen {
		t.Fatalf("zero config: MaxOpen %v, err %v; want the default %v", c.MaxOpen, err, DefaultBreakerMaxOpen)
	}
}

func TestHedgeBudget(t *testing.T) {
	b := NewHedgeBudget(0.1)
	spent := 0
	for range 1000 {
		b.Earn()
		if b.Spend() {
			spent++
		}
	}
	// A full bucket (50) plus a tenth of 1000 reads, less the tenth the
	// first read earned into a full bucket, and the last 0.9 left over.
	if spent != 149 {
		t.Fatalf("spent %d hedges over 1000 reads, want 149", spent)
	}
	if b.Spend() {
		t.Fatal("an empty budget allowed a hedge")
	}
	b.Refund()
	if !b.Spend() {
		t.Fatal("a refunded hedge could not be spent")
	}
	for _, h := range []HedgeConfig{{After: -1}, {Budget: 1.5}, {Budget: -0.1}} {
		if _, err := h.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: err %v, want ErrInvalidConfig", h, err)
		}
	}
}

func TestLatencyWindow(t *testing.T) {
	now := time.Unix(0, 0)
	w := NewLatencyWindow(time.Second, func() time.Time { return now })
	for range latencyMinSamples - 1 {
		w.Observe(time.Millisecond)
	}
	if _, ok := w.Quantile(0.95); ok {
		t.Fatal("an estimate from fewer than 20 samples")
	}
	for range 80 {
		w.Observe(time.Millisecond)
	}
	for range 5 {
		w.Observe(300 * time.Millisecond)
	}
	// 99 of 104 samples at 1ms: the 95th percentile is 1ms, within a bucket.
	if q, ok := w.Quantile(0.95); !ok || q < time.Millisecond || q > 1250*time.Microsecond {
		t.Fatalf("p95 = %s, %v; want 1ms to 1.25ms", q, ok)
	}
	if q, _ := w.Quantile(1); q < 300*time.Millisecond || q > 375*time.Millisecond {
		t.Fatalf("p100 = %s, want 300ms to 375ms", q)
	}
	// A period later the samples still count; two periods later they are gone.
	now = now.Add(1500 * time.Millisecond)
	if _, ok := w.Quantile(0.95); !ok {
		t.Fatal("the last period's samples were forgotten after one period")
	}
	for range 30 {
		w.Observe(80 * time.Millisecond)
	}
	now = now.Add(1100 * time.Millisecond)
	if q, ok := w.Quantile(0.5); !ok || q < 80*time.Millisecond || q > 100*time.Millisecond {
		t.Fatalf("p50 = %s, %v after the 1ms samples aged out; want 80ms to 100ms", q, ok)
	}
	now = now.Add(5 * time.Second)
	if _, ok := w.Quantile(0.5); ok {
		t.Fatal("an estimate from samples older than two periods")
	}
	w.Observe(time.Hour) // beyond the last bound: the last bucket
	if q := latencyBounds[latencyBuckets-1]; q < 10*time.Second {
		t.Fatalf("the last bucket ends at %s, want at least 10s", q)
	}
}
