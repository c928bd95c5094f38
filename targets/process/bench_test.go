package process_test

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/probes/workload"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/process"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

// p99Bound is the latency bound of the throughput figure.
const p99Bound = 20 * time.Millisecond

// sustainable runs the open-model generator at rising rates against the KV API
// at base URLs and returns the highest rate that held: achieved within 2 %,
// p99 ≤ 20 ms from intended send time, < 1 % errors, nothing dropped.
func sustainable(b *testing.B, urls []string) (rate float64, p99 time.Duration) {
	b.Helper()
	return sustainableFrom(b, urls, 500)
}

// sustainableFrom is sustainable with the ramp starting at start requests/s.
func sustainableFrom(b *testing.B, urls []string, start float64) (rate float64, p99 time.Duration) {
	b.Helper()
	retried := false
	for r := start; r <= 40000; r *= 1.25 {
		cfg := workload.Config{
			Rate: r, Warmup: 500 * time.Millisecond, Duration: 2 * time.Second,
			Keys: 1000, ReadRatio: 0.5, ValueSize: 64, Timeout: time.Second,
		}
		if err := cfg.Validate(); err != nil {
			b.Fatal(err)
		}
		drv, err := workload.NewKVDriver(urls, workload.NewHTTPClient(cfg.MaxInFlight))
		if err != nil {
			b.Fatal(err)
		}
		w, err := workload.New(cfg, drv, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			b.Fatal(err)
		}
		sum, err := w.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		m := sum.Measured.All
		got := workload.LatencyAt(m.Latency, 99)
		achieved := float64(m.Sent) / sum.Measured.Length.Seconds()
		ok := got <= p99Bound && m.ErrorRatio() < 0.01 && m.Dropped == 0 && achieved >= 0.98*r
		b.Logf("rate %6.0f/s: achieved %6.0f/s p99 %8s errors %.4f dropped %d %v", r, achieved, got, m.ErrorRatio(), m.Dropped, sum.FirstErrors)
		if !ok && !retried {
			// One noisy second on a shared machine should not end the ramp.
			retried = true
			r /= 1.25
			continue
		}
		if !ok {
			break
		}
		retried = false
		rate, p99 = r, got
	}
	return rate, p99
}

// BenchmarkClusterThroughput reports the highest rate a 3-node cluster (n=3
// w=2 r=2, linearizable, memory) behind one gateway sustains at p99 ≤ 20 ms
// with 50/50 reads and writes of 64-byte values, and the same figure for a
// minimal Go HTTP key-value server in its own process, measured in the same run.
//
//	go test -run '^$' -bench ClusterThroughput -benchtime 1x ./targets/process/
func BenchmarkClusterThroughput(b *testing.B) {
	for i := 0; i < b.N; i++ {
		base, baseP99 := sustainable(b, []string{"http://" + startBaseline(b)})
		// Bulkheads sized for throughput: at the default 32 calls per node the
		// gateway refuses bursts (by design) before the CPU is used up.
		spec := demo.ClusterSpec{Nodes: 3, Gateways: 1, Resilience: demo.Resilience{Bulkhead: 256}}
		c := startBenchCluster(b, spec)
		rate, p99 := sustainable(b, []string{"http://" + c.Addrs(demo.RoleGateway)[0]})
		b.ReportMetric(rate, "cluster-ops/s")
		b.ReportMetric(float64(p99.Microseconds())/1000, "cluster-p99-ms")
		b.ReportMetric(base, "baseline-ops/s")
		b.ReportMetric(float64(baseP99.Microseconds())/1000, "baseline-p99-ms")
		if base > 0 {
			b.ReportMetric(rate/base, "cluster/baseline")
		}
	}
}

// BenchmarkClusterUpReady measures how long a 5-node, 1-gateway cluster takes
// from Start to every member answering /readyz.
func BenchmarkClusterUpReady(b *testing.B) {
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		c := startBenchCluster(b, demo.ClusterSpec{Nodes: 5, Gateways: 1})
		b.ReportMetric(float64(time.Since(t0).Milliseconds()), "ms-to-ready")
		_ = c.Stop(context.Background())
	}
}

func startBenchCluster(b *testing.B, spec demo.ClusterSpec) *process.Cluster {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := process.Start(ctx, spec, process.Options{Binary: processtest.Binary(b), Dir: b.TempDir(), Log: processtest.Log(b), LogLevel: "warn"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

// startBaseline runs the minimal key-value server (processtest's baseline) in
// its own process and returns its address.
func startBaseline(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(processtest.Binary(b), processtest.BaselineArg, addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/kv/x")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return addr
		}
		if time.Now().After(deadline) {
			b.Fatalf("baseline server not up: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
	}
}

// BenchmarkRaftVersusABDThroughput reports, in one run with the same
// generator (sustainable), the highest rate a 3-node cluster behind one
// gateway sustains at p99 ≤ 20 ms in raft mode (ReadIndex reads, leader
// forwarding) and in linearizable (ABD) mode, both with memory persistence.
//
//	go test -run '^$' -bench RaftVersusABDThroughput -benchtime 1x ./targets/process/
func BenchmarkRaftVersusABDThroughput(b *testing.B) {
	for i := 0; i < b.N; i++ {
		res := demo.Resilience{Bulkhead: 256}
		abd := startBenchCluster(b, demo.ClusterSpec{Nodes: 3, Gateways: 1, Consistency: "linearizable", Resilience: res})
		// The ramp starts low: raft mode's figure on a shared 2-core machine
		// was below sustainable's usual start.
		abdRate, abdP99 := sustainableFrom(b, []string{"http://" + abd.Addrs(demo.RoleGateway)[0]}, 100)
		_ = abd.Stop(context.Background())
		rc := startBenchCluster(b, demo.ClusterSpec{Nodes: 3, Gateways: 1, Consistency: "raft", Resilience: res})
		if err := rc.WaitSettled(context.Background(), 15*time.Second); err != nil {
			b.Fatal(err)
		}
		raftRate, raftP99 := sustainableFrom(b, []string{"http://" + rc.Addrs(demo.RoleGateway)[0]}, 100)
		b.ReportMetric(raftRate, "raft-ops/s")
		b.ReportMetric(float64(raftP99.Microseconds())/1000, "raft-p99-ms")
		b.ReportMetric(abdRate, "abd-ops/s")
		b.ReportMetric(float64(abdP99.Microseconds())/1000, "abd-p99-ms")
	}
}
