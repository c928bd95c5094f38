package workload

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// sendClock wraps a driver and keeps the wall-clock time of every send, to
// measure the rate the system actually saw.
type sendClock struct {
	Driver
	n     atomic.Int64
	times []time.Time
}

func newSendClock(d Driver, capacity int) *sendClock {
	return &sendClock{Driver: d, times: make([]time.Time, capacity)}
}

func (c *sendClock) Do(ctx context.Context, op Op) Result {
	if i := c.n.Add(1) - 1; i < int64(len(c.times)) {
		c.times[i] = time.Now()
	}
	return c.Driver.Do(ctx, op)
}

// perSecond counts sends in each whole second after start.
func (c *sendClock) perSecond(start time.Time, seconds int) []float64 {
	counts := make([]float64, seconds)
	for _, t := range c.times[:min(c.n.Load(), int64(len(c.times)))] {
		if s := int(t.Sub(start) / time.Second); s >= 0 && s < seconds {
			counts[s]++
		}
	}
	return counts
}

func newNoopServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.WriteHeader(http.StatusNotFound) // a missing key: a good answer
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// runAtRate runs writes at rate for duration against url and returns the
// summary and the sends per wall-clock second.
func runAtRate(b *testing.B, url string, rate float64, duration time.Duration) (*Summary, []float64) {
	cfg := Config{Rate: rate, Duration: duration, ReadRatio: 0.5}
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	drv := newSendClock(newTestDriver(b, cfg.MaxInFlight, url), int(rate*duration.Seconds())+16)
	sum, err := runWorkload(b, cfg, drv, 1)
	if err != nil {
		b.Fatal(err)
	}
	return sum, drv.perSecond(sum.Start, int(duration/time.Second))
}

// BenchmarkGeneratorFidelity: 2,000 requests/s for 3 s against a no-op
// loopback server; reports the worst per-second error of the achieved send
// rate and the p99 of actual − intended send time.
func BenchmarkGeneratorFidelity(b *testing.B) {
	const rate = 2000
	srv := newNoopServer(b)
	var sum *Summary
	var perSecond []float64
	for b.Loop() {
		sum, perSecond = runAtRate(b, srv.URL, rate, 3*time.Second)
	}
	worst := 0.0
	for _, n := range perSecond {
		worst = max(worst, math.Abs(n-rate)/rate)
	}
	b.ReportMetric(100*worst, "max-rate-err-%")
	b.ReportMetric(float64(sum.Measured.All.Sent)/3, "achieved-req/s")
	b.ReportMetric(float64(LatencyAt(sum.SendLateness, 99).Microseconds()), "p99-send-late-µs")
	b.ReportMetric(float64(LatencyAt(sum.SendLateness, 99.9).Microseconds()), "p999-send-late-µs")
	b.ReportMetric(float64(sum.Measured.All.Dropped), "dropped")
}

// BenchmarkHeadroom: the highest rate the generator holds within 1 % (every
// request sent and answered, the sends in the first wall-clock second within
// 1 % of the rate). Quadruples the rate from 1,000/s until it fails, then bisects
// twice; 1 s per step. "http" runs against a no-op loopback HTTP server in the
// same process (client and server share the CPUs); "no-op-driver" measures the
// scheduler and workers alone.
func BenchmarkHeadroom(b *testing.B) {
	for _, bc := range []struct {
		name   string
		driver func(b *testing.B, maxInFlight int) Driver
	}{
		{"http", func(b *testing.B, maxInFlight int) Driver {
			return newTestDriver(b, maxInFlight, newNoopServer(b).URL)
		}},
		{"no-op-driver", func(*testing.B, int) Driver {
			return DriverFunc(func(context.Context, Op) Result { return Result{Outcome: OutcomeOK} })
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			holds := func(rate float64) (bool, *Summary) {
				cfg := Config{Rate: rate, Duration: time.Second, ReadRatio: 0.5}
				if err := cfg.Validate(); err != nil {
					b.Fatal(err)
				}
				drv := newSendClock(bc.driver(b, cfg.MaxInFlight), int(rate)+16)
				sum, err := runWorkload(b, cfg, drv, 1)
				if err != nil {
					b.Fatal(err)
				}
				sent := drv.perSecond(sum.Start, 1)[0]
				all := sum.Measured.All
				ok := all.Dropped == 0 && all.Bad() == 0 && math.Abs(sent-rate)/rate <= 0.01
				b.Logf("rate %7.0f/s: held %-5v sent in the first second %7.0f, dropped %d, bad %d, p99 send lateness %s",
					rate, ok, sent, all.Dropped, all.Bad(), LatencyAt(sum.SendLateness, 99))
				return ok, sum
			}
			var best float64
			var bestSum *Summary
			for b.Loop() {
				best, bestSum = 0, nil
				lo, hi := 0.0, 0.0
				for rate := 1000.0; rate <= 1024000; rate *= 4 {
					ok, sum := holds(rate)
					if !ok {
						hi = rate
						break
					}
					lo, best, bestSum = rate, rate, sum
				}
				for range 2 {
					if hi == 0 || lo == 0 {
						break
					}
					mid := math.Round((lo + hi) / 2)
					if ok, sum := holds(mid); ok {
						lo, best, bestSum = mid, mid, sum
					} else {
						hi = mid
					}
				}
			}
			b.ReportMetric(best, "max-held-req/s")
			if bestSum != nil {
				b.ReportMetric(float64(LatencyAt(bestSum.SendLateness, 99).Microseconds()), "p99-send-late-µs@max")
			}
		})
	}
}

// BenchmarkStall: a server that stalls 500 ms once, at 1,000 requests/s for
// 3 s. Reports the p99 latency timed from the intended send time (corrected)
// and from the actual send time (uncorrected), and their ratio. With enough
// workers the open model sends during the stall, so both see it (ratio near 1);
// with one worker (a closed-loop tool) requests queue in the generator and only
// the corrected p99 shows the stall.
func BenchmarkStall(b *testing.B) {
	for _, bc := range []struct {
		name        string
		maxInFlight int
	}{
		{"open-model", 0},
		{"one-worker", 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var sum *Summary
			for b.Loop() {
				stall := &stallOnce{from: time.Second, length: 500 * time.Millisecond}
				srv := newKVServer(b, stall.before)
				cfg := Config{Rate: 1000, Duration: 3 * time.Second, ReadRatio: 0.9, MaxInFlight: bc.maxInFlight,
					MaxLateness: 2 * time.Second, Timeout: 2 * time.Second}
				if err := cfg.Validate(); err != nil {
					b.Fatal(err)
				}
				var err error
				sum, err = runWorkload(b, cfg, newTestDriver(b, cfg.MaxInFlight, srv.URL), 1)
				if err != nil {
					b.Fatal(err)
				}
			}
			corrected := LatencyAt(sum.Measured.All.Latency, 99)
			uncorrected := LatencyAt(sum.ServiceTime, 99)
			b.ReportMetric(float64(corrected.Microseconds())/1000, "p99-corrected-ms")
			b.ReportMetric(float64(uncorrected.Microseconds())/1000, "p99-uncorrected-ms")
			b.ReportMetric(float64(corrected)/float64(max(uncorrected, time.Microsecond)), "corrected/uncorrected")
			b.ReportMetric(float64(sum.Measured.All.Dropped), "dropped")
		})
	}
}
