package workload

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// generatorRun is what one bounded run of a generator measured.
type generatorRun struct {
	requests int64         // answered, good or bad
	bad      int64         // answered with anything but 204/404, or not at all
	dropped  int64         // never sent (ours only: no worker free in time)
	conns    int64         // connections the server accepted
	cpu      time.Duration // the test process's user+system CPU over the run
	p99      time.Duration // ours: from the intended send time; vegeta: from its send
	p99Sent  time.Duration // from the actual send time (vegeta's definition)
}

func (r generatorRun) cpuPerRequest() time.Duration {
	return r.cpu / time.Duration(max(r.requests, 1))
}

// processCPU is the user and system CPU time this process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// compareConfig is the workload both generators send: half gets, half puts of
// 32-byte values over 1,000 keys, uniform, seed 1.
func compareConfig(tb testing.TB, rate float64, d time.Duration) Config {
	cfg := Config{Rate: rate, Duration: d, ReadRatio: 0.5, History: io.Discard, OnSecond: func(*Second) {}}
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// runOurs runs the workload generator (KV driver, history written) against url.
func runOurs(tb testing.TB, srv *noopServerProcess, rate float64, d time.Duration) generatorRun {
	cfg := compareConfig(tb, rate, d)
	drv := newTestDriver(tb, cfg.MaxInFlight, srv.URL)
	conns := srv.connections(tb)
	defer drv.client.CloseIdleConnections()
	runtime.GC()
	cpu0 := processCPU(tb)
	sum, err := runWorkload(tb, cfg, drv, 1)
	cpu := processCPU(tb) - cpu0
	if err != nil {
		tb.Fatalf("ours at %g/s: %v", rate, err)
	}
	all := sum.Measured.All
	return generatorRun{
		requests: all.Total, bad: all.Bad() + all.Unfinished, dropped: all.Dropped, cpu: cpu, conns: srv.connections(tb) - conns - 1,
		p99: LatencyAt(all.Latency, 99), p99Sent: LatencyAt(sum.ServiceTime, 99),
	}
}

// vegetaTargets are the operations of compareConfig's sequence as vegeta
// targets, so both generators send the same requests.
func vegetaTargets(tb testing.TB, url string, rate float64, d time.Duration) []vegeta.Target {
	cfg := compareConfig(tb, rate, d)
	gen := NewOpGenerator(cfg, rand.New(rand.NewPCG(1, 0)))
	tgts := make([]vegeta.Target, int(rate*d.Seconds())+1)
	for i := range tgts {
		op := gen.Next()
		t := vegeta.Target{Method: http.MethodGet, URL: url + "/kv/" + op.Key}
		if op.Kind == OpPut {
			t.Method, t.Body = http.MethodPut, MakeValue(0, op.ID, cfg.ValueSize)
		}
		tgts[i] = t
	}
	return tgts
}

// runVegeta runs vegeta's attacker (its defaults, the same 1 s timeout) at rate
// for d over tgts.
func runVegeta(tb testing.TB, srv *noopServerProcess, tgts []vegeta.Target, rate float64, d time.Duration) generatorRun {
	atk := vegeta.NewAttacker(vegeta.Timeout(DefaultTimeout))
	pacer := vegeta.ConstantPacer{Freq: int(rate), Per: time.Second}
	h := NewLatencyHistogram()
	var run generatorRun
	conns := srv.connections(tb)
	runtime.GC()
	cpu0 := processCPU(tb)
	for res := range atk.Attack(vegeta.NewStaticTargeter(tgts...), pacer, d, "") {
		run.requests++
		if res.Code != http.StatusNoContent && res.Code != http.StatusNotFound {
			run.bad++
			continue
		}
		recordLatency(h, res.Latency)
	}
	run.cpu = processCPU(tb) - cpu0
	run.conns = srv.connections(tb) - conns - 1
	run.p99 = LatencyAt(h, 99)
	run.p99Sent = run.p99
	return run
}

// benchEnvInt reads a positive integer from the environment, or def.
func benchEnvInt(tb testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkGeneratorVsVegeta runs our generator and vegeta's library
// (vegeta.NewAttacker, its defaults) side by side against the same no-op HTTP
// server on 127.0.0.1, in a child process so that this process's CPU is the
// generators' alone, at 2,000 and 8,000 requests/s. Each pair is ours then
// vegeta, 3 s each (CHAOSCTL_BENCH_SECONDS), 3 pairs (CHAOSCTL_BENCH_PAIRS);
// the medians and their ratios (ours/vegeta) are reported, and the requests
// either answered with anything but 204/404 or not at all (bad-*), which on a
// no-op server mean the machine, not the server, was the limit.
// CHAOSCTL_BENCH_ONLY=ours (or vegeta) runs one generator alone, for -cpuprofile.
//
//	cpu-µs/req-*   user+system CPU (getrusage) per answered request
//	p99-ms-ours    latency from the intended send time (the open model's, which
//	               includes any lateness of the generator)
//	p99-sent-ms-ours  latency from the actual send time (vegeta's definition)
//	p99-ms-vegeta  vegeta's latency (from its actual send time)
//	p99-ours/vegeta, p99-sent-ours/vegeta  the ratios of the medians
//
// Both send the same sequence of operations (seed 1: half gets, half puts of
// 32-byte values over 1,000 keys); ours also writes the history (to
// io.Discard) and keeps its per-second stats, as in a run with checks.
func BenchmarkGeneratorVsVegeta(b *testing.B) {
	d := time.Duration(benchEnvInt(b, "CHAOSCTL_BENCH_SECONDS", 3)) * time.Second
	pairs := benchEnvInt(b, "CHAOSCTL_BENCH_PAIRS", 3)
	only := os.Getenv("CHAOSCTL_BENCH_ONLY") // "ours" or "vegeta": one generator alone, to profile it
	if only != "" && only != "ours" && only != "vegeta" {
		b.Fatalf("CHAOSCTL_BENCH_ONLY=%q: want ours or vegeta", only)
	}
	srv := startNoopServerProcess(b)
	for _, rate := range []float64{2000, 8000} {
		b.Run(fmt.Sprintf("rate=%g", rate), func(b *testing.B) {
			tgts := vegetaTargets(b, srv.URL, rate, d)
			var ourCPU, vegCPU, cpuRatio, ourP99, ourP99Sent, vegP99, p99Ratio []float64
			var ourBad, vegBad int64
			for b.Loop() {
				var log strings.Builder
				fmt.Fprintf(&log, "%g req/s, %s per run; cpu µs/req ours vegeta ratio | p99 ms ours (from sent) vegeta ratio | dropped, bad, connections\n", rate, d)
				for i := range pairs {
					if only != "" {
						var r generatorRun
						if only == "ours" {
							r = runOurs(b, srv, rate, d)
						} else {
							r = runVegeta(b, srv, tgts, rate, d)
						}
						fmt.Fprintf(&log, "  %s run %d: cpu %6.1f µs/req, p99 %7.2f ms (from sent %7.2f) | %d dropped, %d bad, %d connections\n", only, i,
							us(r.cpuPerRequest()), ms(r.p99), ms(r.p99Sent), r.dropped, r.bad, r.conns)
						continue
					}
					o := runOurs(b, srv, rate, d)
					v := runVegeta(b, srv, tgts, rate, d)
					ourBad, vegBad = ourBad+o.bad, vegBad+v.bad
					oc, vc := us(o.cpuPerRequest()), us(v.cpuPerRequest())
					ourCPU, vegCPU = append(ourCPU, oc), append(vegCPU, vc)
					cpuRatio = append(cpuRatio, oc/vc)
					ourP99, ourP99Sent = append(ourP99, ms(o.p99)), append(ourP99Sent, ms(o.p99Sent))
					vegP99 = append(vegP99, ms(v.p99))
					p99Ratio = append(p99Ratio, ms(o.p99)/max(ms(v.p99), 0.001))
					fmt.Fprintf(&log, "  pair %d: %6.1f %6.1f %5.2f | %7.2f (%7.2f) %7.2f %5.2f | %d, %d/%d, %d/%d\n", i, oc, vc, oc/vc,
						ms(o.p99), ms(o.p99Sent), ms(v.p99), ms(o.p99)/max(ms(v.p99), 0.001), o.dropped, o.bad, v.bad, o.conns, v.conns)
				}
				if only != "" {
					b.Log(log.String())
					continue
				}
				fmt.Fprintf(&log, "  ratios: cpu %.2f–%.2f, p99 %.2f–%.2f (min–max over pairs)",
					slices.Min(cpuRatio), slices.Max(cpuRatio), slices.Min(p99Ratio), slices.Max(p99Ratio))
				b.Log(log.String())
			}
			if only != "" {
				return
			}
			b.ReportMetric(float64(ourBad), "bad-ours")
			b.ReportMetric(float64(vegBad), "bad-vegeta")
			b.ReportMetric(median(ourCPU), "cpu-µs/req-ours")
			b.ReportMetric(median(vegCPU), "cpu-µs/req-vegeta")
			b.ReportMetric(median(ourCPU)/median(vegCPU), "cpu-ours/vegeta")
			b.ReportMetric(median(ourP99), "p99-ms-ours")
			b.ReportMetric(median(ourP99Sent), "p99-sent-ms-ours")
			b.ReportMetric(median(vegP99), "p99-ms-vegeta")
			b.ReportMetric(median(ourP99)/max(median(vegP99), 0.001), "p99-ours/vegeta")
			b.ReportMetric(median(ourP99Sent)/max(median(vegP99), 0.001), "p99-sent-ours/vegeta")
		})
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
