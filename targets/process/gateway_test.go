package process_test

import (
	"context"
	"fmt"
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

func TestGatewayKeepsServingWithOneOfThreeNodesKilledAndFailsFastWithTwo(t *testing.T) {
	spec := demo.ClusterSpec{Nodes: 3, Gateways: 1}
	c, _ := startCluster(t, spec, false)
	gw := c.Addrs(demo.RoleGateway)[0]
	client := newKV(3 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	if err := c.Kill(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		key, val := fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)
		if code, err := client.putAgain(gw, key, val); err != nil || code != http.StatusNoContent {
			t.Fatalf("put %s with n2 dead: %d %v (a majority is up: it must succeed)", key, code, err)
		}
		if code, got, err := client.get(gw, key); err != nil || code != http.StatusOK || got != val {
			t.Fatalf("get %s with n2 dead: %d %q %v", key, code, got, err)
		}
	}

	if err := c.Kill(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	var slowest time.Duration
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		code, err := client.put(gw, fmt.Sprintf("k%d", i), "x")
		d := time.Since(t0)
		slowest = max(slowest, d)
		if err != nil || code != http.StatusServiceUnavailable {
			t.Fatalf("put with two of three nodes dead: %d %v, want 503", code, err)
		}
	}
	t.Logf("writes with no quorum: 503 within %s (request timeout 500ms)", slowest)
	if slowest > 250*time.Millisecond {
		t.Fatalf("writes without a quorum took up to %s: they must fail fast, not wait for the deadline", slowest)
	}
}

func TestBreakerOpensOnAFrozenNodeAndClosesAfterItReturns(t *testing.T) {
	spec := demo.ClusterSpec{Nodes: 3, Gateways: 1, Resilience: demo.Resilience{
		Timeout: 300 * time.Millisecond,
		// Open long enough for the writes below: a half-open breaker lets a
		// request through to probe the node, and a write that probes a
		// frozen node may have applied, so it is answered "unknown" (504)
		// instead of being retried elsewhere.
		Breaker: demo.Breaker{Failures: 3, OpenFor: 3 * time.Second},
	}}
	c, _ := startCluster(t, spec, false)
	gw := c.Addrs(demo.RoleGateway)[0]
	client := newKV(2 * time.Second)
	breaker := func() float64 {
		return processtest.Metric(t, gw, "chaosdemo_breaker_state", map[string]string{"peer": "n1"})
	}
	if b := breaker(); b != 0 {
		t.Fatalf("breaker for n1 starts at %v, want 0 (closed)", b)
	}
	if err := c.Pause("n1"); err != nil {
		t.Fatal(err)
	}
	// Traffic over many keys reaches n1 first for about a third of them.
	var i int
	testkit.Eventually(t, 10*time.Second, "breaker for n1 opens (2)", func() bool {
		for j := 0; j < 10; j++ {
			i++
			_, _, _ = client.get(gw, fmt.Sprintf("key-%d", i))
		}
		return breaker() == 2
	})
	// While it is open, requests skip n1 and succeed through the others.
	for j := 0; j < 30; j++ {
		if code, err := client.putAgain(gw, fmt.Sprintf("open-%d", j), "v"); err != nil || code != http.StatusNoContent {
			t.Fatalf("put while n1's breaker is open: %d %v", code, err)
		}
	}
	if err := c.Resume("n1"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "breaker for n1 closes (0)", func() bool {
		for j := 0; j < 10; j++ {
			i++
			_, _, _ = client.get(gw, fmt.Sprintf("key-%d", i))
		}
		return breaker() == 0
	})
}

func TestShedding503sUnderABurstWhileAdmittedRequestsStayFast(t *testing.T) {
	spec := demo.ClusterSpec{Nodes: 3, Gateways: 1, Resilience: demo.Resilience{MaxInflight: 8, Timeout: 2 * time.Second}}
	c, plane := startCluster(t, spec, true)
	gw := c.Addrs(demo.RoleGateway)[0]
	// Every gateway→node call takes 40 ms, so admitted requests hold their slot.
	for _, n := range spec.NodeIDs() {
		if _, err := plane.Proxy(faultplane.Link{From: "g1", To: n}).AddToxic("slow", "latency", "downstream", 1, toxiclient.Attributes{"latency": 40}); err != nil {
			t.Fatal(err)
		}
	}
	client := newKV(5 * time.Second)
	var (
		mu               sync.Mutex
		admitted, shedAt []time.Duration
		wg               sync.WaitGroup
	)
	for i := 0; i < 200; i++ {
		wg.Go(func() {
			t0 := time.Now()
			code, _, err := client.get(gw, fmt.Sprintf("b%d", i))
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Errorf("request error: %v", err)
			case code == http.StatusServiceUnavailable:
				shedAt = append(shedAt, d)
			default:
				admitted = append(admitted, d)
			}
		})
	}
	wg.Wait()
	shed := processtest.Metric(t, gw, "chaosdemo_shed_total", nil)
	sort.Slice(admitted, func(i, j int) bool { return admitted[i] < admitted[j] })
	t.Logf("burst of 200 with maxInflight 8: %d admitted (slowest %s), %d shed (counter %v)", len(admitted), admitted[len(admitted)-1], len(shedAt), shed)
	if len(shedAt) == 0 || shed < float64(len(shedAt)) {
		t.Fatalf("no load shed: %d answered 503, chaosdemo_shed_total %v", len(shedAt), shed)
	}
	// Admitted requests cost one 40 ms hop (plus a write-back at most): they
	// never queue behind the shed ones. Queued, the last of 200 requests
	// served 8 at a time would wait 25 × 40 ms = 1 s; the bound sits well
	// below that and well above the 40-80 ms an idle machine gives. It is
	// judged on the gateway's own clock (chaosdemo_request_duration_seconds,
	// from admission to answer): the client's, which also counts 200
	// goroutines and their connections waiting for a busy machine's CPU,
	// read 992 ms once in make test beside the Kubernetes and Docker tests.
	slower, total := processtest.SlowerThan(t, gw, "chaosdemo_request_duration_seconds", map[string]string{"op": "get"}, 0.75)
	t.Logf("gateway's clock: %d of %d GETs over 750ms", slower, total)
	if total < 200 || slower > 0 {
		t.Fatalf("%d of %d GETs took the gateway over 750ms; shedding must keep admitted requests fast", slower, total)
	}
}

func TestSingleflightSendsOneLoadForAStampedeOnAColdKey(t *testing.T) {
	for _, tc := range []struct {
		name           string
		noSingleflight bool
	}{{"singleflight", false}, {"no singleflight", true}} {
		t.Run(tc.name, func(t *testing.T) {
			spec := demo.ClusterSpec{Nodes: 3, Gateways: 1, Cache: demo.CacheSpec{Policy: "lru", NoSingleflight: tc.noSingleflight},
				Resilience: demo.Resilience{MaxInflight: 1000, Bulkhead: 500, Timeout: 10 * time.Second}}
			c, plane := startCluster(t, spec, true)
			gw := c.Addrs(demo.RoleGateway)[0]
			client := newKV(15 * time.Second)
			if code, err := client.put(gw, "hot", "value"); err != nil || code != http.StatusNoContent {
				t.Fatalf("put: %d %v", code, err)
			}
			// A slow store holds each load for 400 ms: the window in which a
			// miss finds the key still uncached. It must be wide enough for
			// 200 clients to dial and send on a busy machine (-race, other
			// packages' tests beside it); 100 ms let only 45 in.
			for _, n := range spec.NodeIDs() {
				if _, err := plane.Proxy(faultplane.Link{From: "g1", To: n}).AddToxic("slow", "latency", "downstream", 1, toxiclient.Attributes{"latency": 400}); err != nil {
					t.Fatal(err)
				}
			}
			before := processtest.Metric(t, gw, "chaosdemo_cache_loads_total", nil)
			var wg sync.WaitGroup
			var timedOut atomic.Int64
			for i := 0; i < 200; i++ {
				wg.Go(func() {
					code, v, err := client.get(gw, "hot")
					if tc.noSingleflight && err == nil && code == http.StatusGatewayTimeout {
						// The stampede's damage on a busy machine: 200 loads
						// through a slow store can outlast the deadline.
						timedOut.Add(1)
						return
					}
					if err != nil || code != http.StatusOK || v != "value" {
						t.Errorf("get hot: %d %q %v", code, v, err)
					}
				})
			}
			wg.Wait()
			if n := timedOut.Load(); n > 0 {
				t.Logf("%s: %d of 200 requests outlasted the 10s deadline", tc.name, n)
			}
			loads := processtest.Metric(t, gw, "chaosdemo_cache_loads_total", nil) - before
			t.Logf("%s: 200 concurrent misses of one cold key sent %v loads to the store", tc.name, loads)
			if !tc.noSingleflight && loads != 1 {
				t.Fatalf("with singleflight: %v store loads, want 1", loads)
			}
			if tc.noSingleflight && loads < 50 {
				t.Fatalf("without singleflight: only %v store loads; the stampede should reach the store", loads)
			}
		})
	}
}

// Write-behind acknowledges before the store has the write: a gateway killed
// with writes queued loses them, and the queue depth showed the exposure.
func TestWriteBehindLosesQueuedWritesWhenTheGatewayIsKilled(t *testing.T) {
	spec := demo.ClusterSpec{Nodes: 3, Gateways: 1, Cache: demo.CacheSpec{Policy: "lru", WriteMode: demo.WriteBehind}}
	c, plane := startCluster(t, spec, true)
	gw := c.Addrs(demo.RoleGateway)[0]
	for _, n := range spec.NodeIDs() {
		if _, err := plane.Proxy(faultplane.Link{From: "g1", To: n}).AddToxic("slow", "latency", "downstream", 1, toxiclient.Attributes{"latency": 300}); err != nil {
			t.Fatal(err)
		}
	}
	client := newKV(2 * time.Second)
	for i := 0; i < 40; i++ {
		t0 := time.Now()
		if code, err := client.put(gw, fmt.Sprintf("wb%d", i), "v"); err != nil || code != http.StatusNoContent {
			t.Fatalf("write-behind put: %d %v", code, err)
		}
		if d := time.Since(t0); d > 100*time.Millisecond {
			t.Fatalf("write-behind put took %s: it must be acknowledged before the store is written", d)
		}
	}
	depth := processtest.Metric(t, gw, "chaosdemo_writebehind_queue_depth", nil)
	if depth < 1 {
		t.Fatalf("queue depth %v right after 40 acknowledged writes to a slow store, want > 0", depth)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Kill(ctx, "g1"); err != nil {
		t.Fatal(err)
	}
	for _, l := range plane.Links() {
		_ = plane.Proxy(l).RemoveToxic("slow")
	}
	if err := c.StartMember(ctx, "g1"); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for i := 0; i < 40; i++ {
		if code, _, err := client.get(gw, fmt.Sprintf("wb%d", i)); err == nil && code == http.StatusNotFound {
			lost++
		}
	}
	t.Logf("queue depth %v at the kill; %d of 40 acknowledged writes lost", depth, lost)
	if lost == 0 {
		t.Fatal("no acknowledged write was lost; the write-behind lesson is not observable")
	}
}
