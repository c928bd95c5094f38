package process_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/probes/workload"
	"github.com/chaosctl/chaosctl/targets/demo"
)

// overloadProtections is the demo's resilience section with every overload
// protection on (docs/demo-cluster.md#overload), as examples/overload.yaml
// sets it.
func overloadProtections() demo.Resilience {
	return demo.Resilience{
		RetryBudget: 0.1,
		Breaker:     demo.Breaker{Trip: "errorRate"},
		Admission: demo.Admission{Limit: "aimd", Target: 50 * time.Millisecond, Queue: "codel",
			QueueTarget: 25 * time.Millisecond, QueueInterval: 250 * time.Millisecond, Priority: true},
	}
}

// overloadStep is one offered load's outcome.
type overloadStep struct {
	offered, goodput float64       // requests/s offered, and answered OK
	admittedP99      time.Duration // of the OK answers, from intended send time
	errorRatio       float64
	dropped          int64
	recovery         time.Duration // from the load falling to 0.5× until a fully successful second; -1: not within the bound
}

// row formats st for the benchmark's table.
func (st overloadStep) row(capacity float64) string {
	rec := "> 8s"
	if st.recovery >= 0 {
		rec = st.recovery.Round(10 * time.Millisecond).String()
	}
	return fmt.Sprintf("goodput %4.0f%% p99 %6s errors %5.1f%% recovery %6s dropped %d",
		100*st.goodput/capacity, st.admittedP99.Round(time.Millisecond), 100*st.errorRatio, rec, st.dropped)
}

// offer runs the open-model generator at rate for d against url.
func offer(b *testing.B, url string, rate float64, d time.Duration, seed uint64) workload.OpStats {
	b.Helper()
	cfg := workload.Config{Rate: rate, Duration: d, Keys: 1000, ReadRatio: 0.9, ValueSize: 64, Timeout: time.Second}
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	drv, err := workload.NewKVDriver([]string{url}, workload.NewHTTPClient(cfg.MaxInFlight))
	if err != nil {
		b.Fatal(err)
	}
	w, err := workload.New(cfg, drv, rand.New(rand.NewPCG(seed, 22)))
	if err != nil {
		b.Fatal(err)
	}
	sum, err := w.Run(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return *sum.Measured.All
}

// overloadRun offers rate for 3 s, then 0.5×capacity in 1 s windows until
// one is answered in full (at most 8), on a fresh cluster.
func overloadRun(b *testing.B, spec demo.ClusterSpec, capacity, rate float64, seed uint64) overloadStep {
	b.Helper()
	c := startBenchCluster(b, spec)
	defer func() { _ = c.Stop(context.Background()) }()
	url := "http://" + c.Addrs(demo.RoleGateway)[0]
	offer(b, url, capacity/2, time.Second, seed) // warm connections and the AIMD limit
	m := offer(b, url, rate, 3*time.Second, seed)
	st := overloadStep{offered: rate, goodput: float64(m.OK) / 3, admittedP99: workload.LatencyAt(m.Latency, 99),
		errorRatio: m.ErrorRatio(), dropped: m.Dropped, recovery: -1}
	fell := time.Now()
	for range 8 {
		w := offer(b, url, capacity/2, time.Second, seed)
		if w.Total > 0 && w.Bad() == 0 && w.Dropped == 0 {
			st.recovery = time.Since(fell) - time.Second // the clean second's start
			break
		}
	}
	return st
}

// BenchmarkOverload offers 0.5×, 1×, 1.5×, 2× and 3× the measured capacity
// of a 3-node cluster (n=3 w=2 r=2, linearizable, memory) behind one gateway,
// 90 % reads, with the overload protections off (the defaults) and on, each
// step on a fresh cluster for 3 s, and reports goodput as a share of
// capacity, the p99 of the admitted (successful) requests, and the recovery
// time: from the load falling to 0.5× until the first second answered in
// full. Capacity is the highest rate the unprotected cluster sustains at p99
// ≤ 20 ms (sustainable), or $CHAOSCTL_OVERLOAD_CAPACITY requests/s. About
// 3 minutes; 127.0.0.1 only.
//
//	go test -run '^$' -bench '^BenchmarkOverload$' -benchtime 1x -v ./targets/process/
func BenchmarkOverload(b *testing.B) {
	for i := 0; i < b.N; i++ {
		capacity, _ := strconv.ParseFloat(os.Getenv("CHAOSCTL_OVERLOAD_CAPACITY"), 64)
		if capacity <= 0 {
			c := startBenchCluster(b, demo.ClusterSpec{Nodes: 3, Gateways: 1})
			capacity, _ = sustainable(b, []string{"http://" + c.Addrs(demo.RoleGateway)[0]})
			_ = c.Stop(context.Background())
		}
		if capacity <= 0 {
			capacity = 250 // a busy machine where even 500/s missed p99 ≤ 20 ms
		}
		b.Logf("capacity %.0f requests/s; per load: goodput as a share of capacity, p99 of the successful requests, errors, recovery to a clean second at 0.5x", capacity)
		off := demo.ClusterSpec{Nodes: 3, Gateways: 1}
		on := demo.ClusterSpec{Nodes: 3, Gateways: 1, Resilience: overloadProtections()}
		for _, x := range []float64{0.5, 1, 1.5, 2, 3} {
			// Off and on side by side in time: the machine's noise hits
			// both alike.
			a := overloadRun(b, off, capacity, x*capacity, uint64(i+1))
			p := overloadRun(b, on, capacity, x*capacity, uint64(i+1))
			b.Logf("%.1fx (%5.0f/s) | off: %s | on: %s", x, x*capacity, a.row(capacity), p.row(capacity))
			for _, r := range []struct {
				mode string
				st   overloadStep
			}{{"off", a}, {"on", p}} {
				// Metrics as well as the log: go test truncates a
				// benchmark's log after 10 lines unless -v.
				b.ReportMetric(r.st.goodput/capacity, fmt.Sprintf("%s-%.1fx-goodput/capacity", r.mode, x))
				b.ReportMetric(float64(r.st.admittedP99.Microseconds())/1000, fmt.Sprintf("%s-%.1fx-p99-ms", r.mode, x))
				b.ReportMetric(r.st.recovery.Seconds(), fmt.Sprintf("%s-%.1fx-recovery-s", r.mode, x))
			}
		}
	}
}
