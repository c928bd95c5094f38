package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/cache"
	"github.com/chaosctl/chaosctl/targets/demo/internal/demotest"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/chaosctl/chaosctl/targets/demo/resilience"
)

func TestConfigValidate(t *testing.T) {
	base := func() Config {
		return Config{ID: "g1", Nodes: []string{"n1", "n2"}, Peers: map[string]string{"n1": "127.0.0.1:1", "n2": "127.0.0.1:2"}}
	}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
		check   func(Config) bool
	}{
		{name: "defaults", edit: func(*Config) {}, check: func(c Config) bool {
			return c.VNodes == DefaultVNodes && c.Replicas == 2 && c.WriteMode == WriteInvalidate &&
				c.WriteBehindQueue == DefaultWriteBehindQueue && c.WriteBehindBytes == DefaultWriteBehindBytes && c.Cache.Policy == cache.PolicyNone &&
				c.Resilience.Timeout == resilience.DefaultTimeout
		}},
		{name: "write mode case folded", edit: func(c *Config) { c.WriteMode = "Behind" }, check: func(c Config) bool { return c.WriteMode == WriteBehind }},
		{name: "no id", edit: func(c *Config) { c.ID = "" }, wantErr: "gateway id is empty"},
		{name: "no nodes", edit: func(c *Config) { c.Nodes = nil }, wantErr: "gateway g1: nodes is empty"},
		{name: "node without address", edit: func(c *Config) { c.Nodes = append(c.Nodes, "n3") }, wantErr: "gateway g1: node n3 has no address in peers"},
		{name: "bad write mode", edit: func(c *Config) { c.WriteMode = "around" }, wantErr: `gateway g1: writeMode "around" is unknown (valid: invalidate, through, behind)`},
		{name: "negative replicas", edit: func(c *Config) { c.Replicas = -1 }, wantErr: "gateway g1: replicas -1 is negative"},
		{name: "too many vnodes", edit: func(c *Config) { c.VNodes = 1 << 20 }, wantErr: "gateway g1: vnodes 1048576 outside [0, 4096]"},
		{name: "negative queue", edit: func(c *Config) { c.WriteBehindQueue = -1 }, wantErr: "gateway g1: writeBehindQueue -1 is negative"},
		{name: "negative queue bytes", edit: func(c *Config) { c.WriteBehindBytes = -1 }, wantErr: "gateway g1: writeBehindBytes -1 is negative"},
		{name: "bad cache", edit: func(c *Config) { c.Cache.Policy = "mru" }, wantErr: `gateway g1: cache policy "mru" is unknown`},
		{name: "bad resilience", edit: func(c *Config) { c.Resilience.Bulkhead = -1 }, wantErr: "gateway g1: resilience bulkhead -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.edit(&cfg)
			got, err := cfg.Validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Validate() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(got) {
				t.Fatalf("Validate() = %+v, %v", got, err)
			}
		})
	}
}

func TestRoutingFollowsPreferenceList(t *testing.T) {
	nodes := startNodes(t, "n1", "n2", "n3", "n4", "n5")
	res := fastResilience()
	// Each read attempt gets a third of this: long enough that a stall of a
	// busy machine cannot fail a read over to a node that lacks the key (the
	// test nodes keep single copies).
	res.Timeout = 30 * time.Second
	g := newTestGateway(t, Config{Replicas: 3, Resilience: res}, nodes)
	const keys = 100
	for i := range keys {
		k := fmt.Sprintf("route-%d", i)
		hdr := map[string]string{api.HeaderRequestID: "rid-" + k}
		if a := do(t, http.MethodPut, g.url+"/kv/"+k, "v", hdr); a.code != http.StatusNoContent {
			t.Fatalf("PUT %s: %d %s", k, a.code, a.body)
		}
		if a := do(t, http.MethodGet, g.url+"/kv/"+k, "", hdr); a.code != http.StatusOK || a.body != "v" {
			t.Fatalf("GET %s: %d %q", k, a.code, a.body)
		}
		primary := nodes[g.Ring().Preference(k, 3)[0]]
		timeout, reqID := primary.headers()
		budget, err := time.ParseDuration(timeout)
		if err != nil || budget <= 0 || budget > res.Timeout {
			t.Fatalf("node saw X-Request-Timeout %q, want a budget within (0, %s]", timeout, res.Timeout)
		}
		if reqID != "rid-"+k {
			t.Fatalf("node saw X-Request-Id %q, want rid-%s", reqID, k)
		}
	}
	total := 0
	for id, n := range nodes {
		for _, op := range n.opLog() {
			k := strings.Fields(op)[1]
			if want := g.Ring().Preference(k, 3)[0]; want != id {
				t.Fatalf("%s reached %s, want %s (the first of its preference list)", op, id, want)
			}
			total++
		}
	}
	if total != 2*keys {
		t.Fatalf("nodes saw %d calls, want %d (one PUT and one GET per key)", total, 2*keys)
	}
}

// A read whose first node fails fails over to the second; one whose first node
// hangs is hedged to the second after hedge.after (or, with hedging off,
// fails over when its share of the deadline runs out). Either way the hung
// attempt runs out its share, so n1's breaker counts the timeout.
func TestFailover(t *testing.T) {
	tests := []struct {
		name      string
		breakNode func(n *testNode)
		class     string // chaosdemo_replica_requests_total code of the failed attempt
		noHedge   bool
		hedged    bool // answered by a hedge rather than a failover
	}{
		{name: "first node answers 503", breakNode: func(n *testNode) { n.mode.Store(modeUnavailable) }, class: "503"},
		{name: "first node hangs", breakNode: func(n *testNode) { n.mode.Store(modeHang) }, class: "timeout", hedged: true},
		{name: "first node hangs, hedging off", breakNode: func(n *testNode) { n.mode.Store(modeHang) }, class: "timeout", noHedge: true},
		{name: "first node refuses connections", breakNode: func(n *testNode) { n.srv.Close() }, class: "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := startNodes(t, "n1", "n2", "n3")
			res := fastResilience()
			res.Timeout = 900 * time.Millisecond
			res.Hedge.Disabled = tt.noHedge
			g := newTestGateway(t, Config{Replicas: 3, Resilience: res}, nodes)
			k := keysWithPrimary(t, g.Ring(), "n1", 1)[0]
			prefs := g.Ring().Preference(k, 3)
			for _, id := range prefs {
				nodes[id].put(k, "from-"+id)
			}
			warmReads(t, g, k)
			tt.breakNode(nodes["n1"])

			a := do(t, http.MethodGet, g.url+"/kv/"+k, "", nil)
			if a.code != http.StatusOK || a.body != "from-"+prefs[1] {
				t.Fatalf("GET = %d %q, want 200 from-%s (the second node)", a.code, a.body, prefs[1])
			}
			if a.elapsed >= res.Timeout {
				t.Fatalf("GET took %s, want less than the %s deadline", a.elapsed, res.Timeout)
			}
			failedOver, won := 1.0, 0.0
			if tt.hedged {
				failedOver, won = 0, 1 // the hedge answered while n1's attempt hung
			}
			// The hung attempt outlives a hedged call: wait for its timeout.
			failed := g.m.ReplicaRequests.WithLabelValues("n1", tt.class)
			testkit.Eventually(t, 5*time.Second, "n1's failed attempt counted", func() bool { return demotest.Value(t, failed) == 1 })
			for name, want := range map[string]struct {
				m    prometheus.Metric
				want float64
			}{
				"failovers_total":                 {g.m.Failovers, failedOver},
				"retries_total{" + prefs[1] + "}": {g.m.Retries.WithLabelValues(prefs[1]), failedOver},
				"hedged_reads_total{won}":         {g.m.Hedges.WithLabelValues("won"), won},
				"hedged_reads_total{sent}":        {g.m.Hedges.WithLabelValues("sent"), won},
			} {
				if v := demotest.Value(t, want.m); v != want.want {
					t.Errorf("%s = %v, want %v", name, v, want.want)
				}
			}
		})
	}
}

// A hung node gets only its share of the budget: with three attempts the first
// is cut at a third of the deadline and the request succeeds on the next node.
func TestHungNodeGetsItsShareOfTheBudget(t *testing.T) {
	nodes := startNodes(t, "n1", "n2", "n3")
	res := fastResilience()
	res.Timeout = 3 * time.Second
	g := newTestGateway(t, Config{Replicas: 3, Resilience: res}, nodes)
	k := keysWithPrimary(t, g.Ring(), "n1", 1)[0]
	for _, id := range g.Ring().Preference(k, 3) {
		nodes[id].put(k, "v")
	}
	nodes["n1"].mode.Store(modeHang)
	a := do(t, http.MethodGet, g.url+"/kv/"+k, "", nil)
	if a.code != http.StatusOK {
		t.Fatalf("GET = %d %s, want 200", a.code, a.body)
	}
	timeout, _ := nodes["n1"].headers()
	budget, err := time.ParseDuration(timeout)
	if err != nil || budget > res.Timeout/3 {
		t.Fatalf("hung node was given %q, want at most a third of %s", timeout, res.Timeout)
	}
	if a.elapsed >= res.Timeout/2 {
		t.Fatalf("GET took %s; the hung node ate more than its share of %s", a.elapsed, res.Timeout)
	}
}

func TestBreakerOpensSkipsNodeAndCloses(t *testing.T) {
	nodes := startNodes(t, "n1", "n2", "n3")
	res := fastResilience()
	res.Breaker = resilience.BreakerConfig{Failures: 3, OpenFor: 200 * time.Millisecond}
	g := newTestGateway(t, Config{Replicas: 3, Resilience: res}, nodes)
	keys := keysWithPrimary(t, g.Ring(), "n1", 20)
	for _, k := range keys {
		for _, n := range nodes {
			n.put(k, "v")
		}
	}
	gauge := g.m.BreakerState.WithLabelValues("n1")
	get := func(i int) {
		t.Helper()
		if a := do(t, http.MethodGet, g.url+"/kv/"+keys[i%len(keys)], "", nil); a.code != http.StatusOK {
			t.Fatalf("GET: %d %s, want 200 (failover)", a.code, a.body)
		}
	}

	nodes["n1"].mode.Store(modeUnavailable)
	for i := range 3 {
		get(i)
	}
	if v := demotest.Value(t, gauge); v != metrics.BreakerOpen {
		t.Fatalf("breaker_state{n1} after 3 failures = %v, want 2 (open)", v)
	}
	before := nodes["n1"].callCount()
	for i := range 10 {
		get(i)
	}
	if after := nodes["n1"].callCount(); after != before {
		t.Fatalf("n1 got %d calls while its breaker was open, want 0", after-before)
	}

	nodes["n1"].mode.Store(modeOK)
	i := 0
	testkit.Eventually(t, 10*time.Second, "n1's breaker to close", func() bool {
		get(i)
		i++
		return demotest.Value(t, gauge) == metrics.BreakerClosed
	})
	if nodes["n1"].callCount() == before {
		t.Fatal("the breaker closed without a probe reaching n1")
	}
	before = nodes["n1"].callCount()
	get(0)
	if nodes["n1"].callCount() != before+1 {
		t.Fatal("traffic did not return to n1 after its breaker closed")
	}
}

// A coordinator that fails because its replicas were slow (it says so with
// api.CauseReplicas) is failed over like any other, but its breaker does not
// count the failure: when one replica dies and another is slow every
// coordinator fails some reads, and opening every breaker would turn that into
// a total outage. A coordinator that fails on its own account still trips it.
func TestBreakerCountsOnlyTheCoordinatorsOwnFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     int32
		stalled  bool // the gateway says it stalled during every attempt
		wantOpen bool
	}{
		{"replicas were slow", modeReplicasSlow, false, false},
		{"coordinator failed", modeUnavailable, false, true},
		{"the gateway itself stalled", modeUnavailable, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := startNodes(t, "n1", "n2", "n3")
			res := fastResilience()
			res.Breaker = resilience.BreakerConfig{Failures: 3, OpenFor: time.Minute}
			g := newTestGateway(t, Config{Replicas: 3, Resilience: res}, nodes)
			if tc.stalled {
				g.stalledFor = func(from, to time.Time) time.Duration { return time.Hour }
			}
			keys := keysWithPrimary(t, g.Ring(), "n1", 10)
			for _, k := range keys {
				for _, n := range nodes {
					n.put(k, "v")
				}
			}
			nodes["n1"].mode.Store(tc.mode)
			for _, k := range keys {
				if a := do(t, http.MethodGet, g.url+"/kv/"+k, "", nil); a.code != http.StatusOK {
					t.Fatalf("GET %s: %d %s, want 200 (failed over)", k, a.code, a.body)
				}
			}
			open := demotest.Value(t, g.m.BreakerState.WithLabelValues("n1")) == metrics.BreakerOpen
			spared := demotest.Value(t, g.m.BreakerSpared.WithLabelValues("n1"))
			if tc.stalled {
				spared = demotest.Value(t, g.m.BreakerStalled.WithLabelValues("n1"))
			}
			if open != tc.wantOpen {
				t.Fatalf("n1's breaker open = %v after %d failed reads, want %v", open, len(keys), tc.wantOpen)
			}
			if !tc.wantOpen {
				if calls := nodes["n1"].callCount(); calls != len(keys) || spared != float64(len(keys)) {
					t.Fatalf("n1 got %d calls, %v spared by its breaker; want every read tried on n1 first (%d) and every failure spared", calls, spared, len(keys))
				}
			} else if spared != 0 {
				t.Fatalf("breaker_failures_spared_total{n1} = %v for failures of n1's own, want 0", spared)
			}
		})
	}
}

func TestStampede(t *testing.T) {
	tests := []struct {
		name         string
		singleflight bool
		wantLoads    int
	}{
		{"singleflight: one load", true, 1},
		{"no singleflight: a load per request", false, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const clients = 200
			nodes := startNodes(t, "n1", "n2", "n3")
			res := fastResilience()
			res.Timeout, res.Retries.Max, res.Bulkhead, res.MaxInflight = 10*time.Second, 0, 1000, 1000
			g := newTestGateway(t, Config{Replicas: 3, Resilience: res, Cache: cache.Config{
				Policy: cache.PolicyLRU, TTL: time.Minute, DisableSingleflight: !tt.singleflight}}, nodes)
			const k = "cold"
			primary := nodes[g.Ring().Owner(k)]
			primary.put(k, "v")
			release := primary.holdRequests(http.MethodGet)
			defer release()

			var wg sync.WaitGroup
			codes := make(chan int, clients)
			for range clients {
				wg.Go(func() { codes <- do(t, http.MethodGet, g.url+"/kv/"+k, "", nil).code })
			}
			if tt.singleflight {
				testkit.Eventually(t, 10*time.Second, "every client in flight", func() bool { return demotest.Value(t, g.m.Inflight) == clients })
			} else {
				testkit.Eventually(t, 10*time.Second, "a load per client", func() bool { return primary.callCount() == clients })
			}
			release()
			wg.Wait()
			close(codes)
			for c := range codes {
				if c != http.StatusOK {
					t.Fatalf("a client got %d, want 200", c)
				}
			}
			if n := primary.callCount(); n != tt.wantLoads {
				t.Fatalf("store saw %d reads, want %d", n, tt.wantLoads)
			}
			if v := demotest.Value(t, g.m.CacheLoads); v != float64(tt.wantLoads) {
				t.Fatalf("cache_loads_total = %v, want %d", v, tt.wantLoads)
			}
		})
	}
}

// An overload burst is shed at once (503) instead of queueing behind the
// requests already admitted.
func TestSheddingUnderBurst(t *testing.T) {
	const limit, burst = 4, 20
	nodes := startNodes(t, "n1")
	res := fastResilience()
	res.MaxInflight = limit
	g := newTestGateway(t, Config{Resilience: res}, nodes)
	nodes["n1"].put("k", "v")
	release := nodes["n1"].holdRequests(http.MethodGet)
	defer release()

	answers := make(chan answer, burst)
	var wg sync.WaitGroup
	for range burst {
		wg.Go(func() { answers <- do(t, http.MethodGet, g.url+"/kv/k", "", nil) })
	}
	for shed := 0; shed < burst-limit; shed++ {
		a := <-answers
		if a.code != http.StatusServiceUnavailable || a.header.Get(api.HeaderError) != "overloaded: load shed" {
			t.Fatalf("answer while the admitted requests are held: %d %q, want 503 load shed", a.code, a.header.Get(api.HeaderError))
		}
	}
	if v := demotest.Value(t, g.m.Inflight); v != limit {
		t.Fatalf("inflight_requests = %v, want %d", v, limit)
	}
	release()
	wg.Wait()
	close(answers)
	for a := range answers {
		if a.code != http.StatusOK {
			t.Fatalf("admitted request answered %d, want 200", a.code)
		}
	}
	if v := demotest.Value(t, g.m.Shed); v != burst-limit {
		t.Fatalf("shed_total = %v, want %d", v, burst-limit)
	}
}

func TestRateLimit(t *testing.T) {
	nodes := startNodes(t, "n1")
	res := fastResilience()
	res.RateLimit, res.RateBurst = 1, 2
	g := newTestGateway(t, Config{Resilience: res}, nodes)
	ok, limited := 0, 0
	for range 6 {
		switch a := do(t, http.MethodGet, g.url+"/kv/k", "", nil); a.code {
		case http.StatusNotFound:
			ok++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("status %d, want 404 or 429", a.code)
		}
	}
	if ok < 2 || ok > 3 {
		t.Fatalf("%d requests passed, want the burst of 2 (3 if a token arrived)", ok)
	}
	if v := demotest.Value(t, g.m.RateLimited); v != float64(limited) {
		t.Fatalf("rate_limited_total = %v, want %d", v, limited)
	}
}

func TestDeadline(t *testing.T) {
	t.Run("spent on arrival", func(t *testing.T) {
		nodes := startNodes(t, "n1")
		g := newTestGateway(t, Config{Resilience: fastResilience()}, nodes)
		a := do(t, http.MethodGet, g.url+"/kv/k", "", map[string]string{api.HeaderTimeout: "0s"})
		if a.code != http.StatusGatewayTimeout || nodes["n1"].callCount() != 0 {
			t.Fatalf("status %d, node calls %d; want 504 and no call", a.code, nodes["n1"].callCount())
		}
	})
	t.Run("every node hangs", func(t *testing.T) {
		nodes := startNodes(t, "n1", "n2", "n3")
		for _, n := range nodes {
			n.mode.Store(modeHang)
		}
		res := fastResilience()
		res.Timeout = 10 * time.Second
		g := newTestGateway(t, Config{Replicas: 3, Resilience: res}, nodes)
		const budget = 150 * time.Millisecond
		a := do(t, http.MethodGet, g.url+"/kv/k", "", map[string]string{api.HeaderTimeout: budget.String()})
		if a.code != http.StatusGatewayTimeout {
			t.Fatalf("status %d %s, want 504", a.code, a.body)
		}
		if a.elapsed < budget || a.elapsed > budget+time.Second {
			t.Fatalf("answered after %s, want just after the client's %s budget", a.elapsed, budget)
		}
		for id, n := range nodes {
			timeout, _ := n.headers()
			if d, err := time.ParseDuration(timeout); err != nil || d > budget {
				t.Fatalf("%s was given %q, want at most %s", id, timeout, budget)
			}
		}
	})
}

func TestBadInput(t *testing.T) {
	long := strings.Repeat("k", api.MaxKeyLen+1)
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"empty key", http.MethodPut, "/kv/", "v", http.StatusBadRequest},
		{"key too long", http.MethodGet, "/kv/" + long, "", http.StatusBadRequest},
		{"key with a space", http.MethodGet, "/kv/a%20b", "", http.StatusBadRequest},
		{"empty value", http.MethodPut, "/kv/k", "", http.StatusBadRequest},
		{"value too large", http.MethodPut, "/kv/k", strings.Repeat("x", api.MaxValueLen+1), http.StatusBadRequest},
		{"unknown method", http.MethodPost, "/kv/k", "v", http.StatusMethodNotAllowed},
	}
	nodes := startNodes(t, "n1")
	g := newTestGateway(t, Config{Resilience: fastResilience()}, nodes)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a := do(t, tt.method, g.url+tt.path, tt.body, nil); a.code != tt.want {
				t.Fatalf("%s %s = %d %q, want %d", tt.method, tt.name, a.code, a.body, tt.want)
			}
		})
	}
	if n := nodes["n1"].callCount(); n != 0 {
		t.Fatalf("bad requests reached the store %d times, want 0", n)
	}
	if _, err := g.Get(context.Background(), ""); err == nil {
		t.Fatal("Get of an empty key succeeded")
	}
}

func TestWriteModes(t *testing.T) {
	tests := []struct {
		mode      WriteMode
		wantLoads int // store reads caused by the GET after each write
	}{
		{WriteInvalidate, 3},
		{WriteThrough, 0},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			nodes := startNodes(t, "n1")
			g := newTestGateway(t, Config{WriteMode: tt.mode, Resilience: fastResilience(),
				Cache: cache.Config{Policy: cache.PolicyLRU, TTL: time.Minute}}, nodes)
			steps := []struct {
				method, body string
				wantCode     int
				wantBody     string
			}{
				{http.MethodPut, "v1", http.StatusOK, "v1"},
				{http.MethodPut, "v2", http.StatusOK, "v2"},
				{http.MethodDelete, "", http.StatusNotFound, "not found\n"},
			}
			for _, st := range steps {
				w := do(t, st.method, g.url+"/kv/k", st.body, nil)
				if w.code != http.StatusNoContent {
					t.Fatalf("%s: %d %s", st.method, w.code, w.body)
				}
				if st.method == http.MethodPut && w.header.Get(api.HeaderVersion) == "" {
					t.Fatalf("PUT answered without %s", api.HeaderVersion)
				}
				r := do(t, http.MethodGet, g.url+"/kv/k", "", nil)
				if r.code != st.wantCode || r.body != st.wantBody {
					t.Fatalf("GET after %s %s = %d %q, want %d %q", st.method, st.body, r.code, r.body, st.wantCode, st.wantBody)
				}
				if st.wantCode == http.StatusOK && r.header.Get(api.HeaderVersion) != w.header.Get(api.HeaderVersion) {
					t.Fatalf("GET version %q, want the written %q", r.header.Get(api.HeaderVersion), w.header.Get(api.HeaderVersion))
				}
			}
			reads := 0
			for _, op := range nodes["n1"].opLog() {
				if strings.HasPrefix(op, http.MethodGet) {
					reads++
				}
			}
			if reads != tt.wantLoads {
				t.Fatalf("store reads = %d, want %d", reads, tt.wantLoads)
			}
		})
	}
}

func newBehindGateway(t *testing.T, queue int) (*testGateway, *testNode) {
	t.Helper()
	nodes := startNodes(t, "n1")
	res := fastResilience()
	res.Timeout = 5 * time.Second
	g := newTestGateway(t, Config{WriteMode: WriteBehind, WriteBehindQueue: queue, Resilience: res,
		Cache: cache.Config{Policy: cache.PolicyLRU, TTL: time.Minute}}, nodes)
	return g, nodes["n1"]
}

func TestWriteBehindAcknowledgesFirstAndFlushesInOrder(t *testing.T) {
	g, n1 := newBehindGateway(t, 0)
	releasePuts := n1.holdRequests(http.MethodPut)
	defer releasePuts()
	releaseDeletes := n1.holdRequests(http.MethodDelete)
	defer releaseDeletes()

	writes := []struct{ method, body string }{
		{http.MethodPut, "v1"}, {http.MethodPut, "v2"}, {http.MethodDelete, ""}, {http.MethodPut, "v3"},
	}
	for _, w := range writes {
		if a := do(t, w.method, g.url+"/kv/k", w.body, nil); a.code != http.StatusNoContent {
			t.Fatalf("%s %s: %d %s, want 204 at once", w.method, w.body, a.code, a.body)
		}
	}
	if _, ok := n1.get("k"); ok {
		t.Fatal("the store has the write before the flush was let through")
	}
	if v := demotest.Value(t, g.m.WriteBehind); v != float64(len(writes)) {
		t.Fatalf("writebehind_queue_depth = %v, want %d", v, len(writes))
	}
	if a := do(t, http.MethodGet, g.url+"/kv/k", "", nil); a.code != http.StatusOK || a.body != "v3" {
		t.Fatalf("GET before the flush = %d %q, want 200 v3 from the cache", a.code, a.body)
	}

	releasePuts()
	releaseDeletes()
	testkit.Eventually(t, 10*time.Second, "the queue to drain", func() bool { return demotest.Value(t, g.m.WriteBehind) == 0 })
	if v, _ := n1.get("k"); v != "v3" {
		t.Fatalf("store holds %q after the flush, want v3", v)
	}
	var got []string
	for _, op := range n1.opLog() {
		if !strings.HasPrefix(op, http.MethodGet) {
			got = append(got, op)
		}
	}
	want := []string{"PUT k v1", "PUT k v2", "DELETE k", "PUT k v3"}
	if !slices.Equal(got, want) {
		t.Fatalf("store saw %q, want %q in order", got, want)
	}
	if v := demotest.Value(t, g.m.WriteFlushes.WithLabelValues("ok")); v != float64(len(writes)) {
		t.Fatalf("writebehind_flushes_total{ok} = %v, want %d", v, len(writes))
	}
}

func TestWriteBehindQueueFull(t *testing.T) {
	g, n1 := newBehindGateway(t, 2)
	release := n1.holdRequests(http.MethodPut)
	defer release()
	for i, want := range []int{http.StatusNoContent, http.StatusNoContent, http.StatusServiceUnavailable} {
		a := do(t, http.MethodPut, g.url+fmt.Sprintf("/kv/k%d", i), "v", nil)
		if a.code != want {
			t.Fatalf("PUT %d = %d %s, want %d", i, a.code, a.header.Get(api.HeaderError), want)
		}
	}
	// The refused write did not reach the cache either.
	if a := do(t, http.MethodGet, g.url+"/kv/k2", "", nil); a.code != http.StatusNotFound {
		t.Fatalf("GET of the refused write = %d, want 404", a.code)
	}
}

// The queue is bounded in bytes as well as in writes: large values fill it
// long before the count does, and a write it cannot hold is refused before it
// is cached; once the queue drains it takes writes again.
func TestWriteBehindQueueBoundedInBytes(t *testing.T) {
	nodes := startNodes(t, "n1")
	n1 := nodes["n1"]
	res := fastResilience()
	res.Timeout = 5 * time.Second
	const value = 1000 // bytes; with the 2-byte key a write holds 1002
	g := newTestGateway(t, Config{WriteMode: WriteBehind, WriteBehindQueue: 100, WriteBehindBytes: 2500, Resilience: res,
		Cache: cache.Config{Policy: cache.PolicyLRU, TTL: time.Minute}}, nodes)
	release := n1.holdRequests(http.MethodPut)
	defer release()
	big := strings.Repeat("x", value)
	for i, want := range []int{http.StatusNoContent, http.StatusNoContent, http.StatusServiceUnavailable} {
		a := do(t, http.MethodPut, g.url+fmt.Sprintf("/kv/k%d", i), big, nil)
		if a.code != want {
			t.Fatalf("PUT %d of %d bytes = %d %s, want %d", i, value, a.code, a.header.Get(api.HeaderError), want)
		}
	}
	if a := do(t, http.MethodGet, g.url+"/kv/k2", "", nil); a.code != http.StatusNotFound {
		t.Fatalf("GET of the refused write = %d, want 404", a.code)
	}
	// A small write still fits in what is left.
	if a := do(t, http.MethodPut, g.url+"/kv/s", "small", nil); a.code != http.StatusNoContent {
		t.Fatalf("PUT of a small value beside a full-by-bytes queue = %d, want 204", a.code)
	}
	release()
	testkit.Eventually(t, 10*time.Second, "the queue to drain", func() bool { return demotest.Value(t, g.m.WriteBehind) == 0 })
	if a := do(t, http.MethodPut, g.url+"/kv/k2", big, nil); a.code != http.StatusNoContent {
		t.Fatalf("PUT after the queue drained = %d %s, want 204 (bytes not given back?)", a.code, a.header.Get(api.HeaderError))
	}
}

func TestWriteBehindCloseFlushes(t *testing.T) {
	g, n1 := newBehindGateway(t, 0)
	release := n1.holdRequests(http.MethodPut)
	defer release()
	const writes = 5
	for i := range writes {
		if a := do(t, http.MethodPut, g.url+fmt.Sprintf("/kv/k%d", i), fmt.Sprint(i), nil); a.code != http.StatusNoContent {
			t.Fatalf("PUT: %d", a.code)
		}
	}
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		closed <- g.Close(ctx)
	}()
	testkit.Eventually(t, 10*time.Second, "writes to be refused once closing", func() bool {
		return do(t, http.MethodPut, g.url+"/kv/late", "x", nil).code == http.StatusServiceUnavailable
	})
	release()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i := range writes {
		if v, ok := n1.get(fmt.Sprintf("k%d", i)); !ok || v != fmt.Sprint(i) {
			t.Fatalf("k%d = %q, %v after Close; want %d flushed", i, v, ok, i)
		}
	}
	if v := demotest.Value(t, g.m.WriteBehind); v != 0 {
		t.Fatalf("writebehind_queue_depth = %v after Close, want 0", v)
	}
}

// A gateway that cannot flush before its deadline loses the queued writes, and
// says so: Close's error, the flush counter and the log.
func TestWriteBehindCloseLosesWhatItCannotFlush(t *testing.T) {
	g, n1 := newBehindGateway(t, 0)
	n1.mode.Store(modeHang)
	const writes = 3
	for i := range writes {
		if a := do(t, http.MethodPut, g.url+fmt.Sprintf("/kv/k%d", i), "v", nil); a.code != http.StatusNoContent {
			t.Fatalf("PUT: %d", a.code)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := g.Close(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "3 acknowledged writes not flushed") {
		t.Fatalf("Close = %v, want a deadline error counting 3 lost writes", err)
	}
	// A flush in flight to the hung node when Close gave up may still land
	// (indeterminate); the queued ones certainly did not (error).
	lost := demotest.Value(t, g.m.WriteFlushes.WithLabelValues("error"))
	unknown := demotest.Value(t, g.m.WriteFlushes.WithLabelValues("indeterminate"))
	if lost+unknown != writes || unknown < 1 {
		t.Fatalf("writebehind_flushes_total{error} = %v, {indeterminate} = %v; want %d in all, at least one indeterminate (in flight)", lost, unknown, writes)
	}
}

func TestDebugRing(t *testing.T) {
	nodes := startNodes(t, "n1", "n2", "n3", "n4", "n5")
	g := newTestGateway(t, Config{Replicas: 3, VNodes: 16, Resilience: fastResilience()}, nodes)
	a := do(t, http.MethodGet, g.url+"/debug/ring?key=k42", "", nil)
	if a.code != http.StatusOK {
		t.Fatalf("GET /debug/ring: %d", a.code)
	}
	var view RingView
	if err := json.Unmarshal([]byte(a.body), &view); err != nil {
		t.Fatalf("decode /debug/ring: %v", err)
	}
	if !slices.Equal(view.Nodes, []string{"n1", "n2", "n3", "n4", "n5"}) || len(view.Tokens) != 5*16 ||
		view.Replicas != 3 || !slices.Equal(view.Preference, g.Ring().Preference("k42", 3)) ||
		len(view.Breakers) != 5 || view.Breakers["n1"] != "closed" || view.Member != "g1" {
		t.Fatalf("unexpected /debug/ring view: nodes %v, %d tokens, replicas %d, preference %v, breakers %v",
			view.Nodes, len(view.Tokens), view.Replicas, view.Preference, view.Breakers)
	}
}

// BenchmarkGatewayGetHit measures the read path on a cache hit from many
// goroutines:
//
//	go test -run '^$' -bench GatewayGetHit -benchmem ./targets/demo/gateway/
func BenchmarkGatewayGetHit(b *testing.B) {
	for _, policy := range []cache.Policy{cache.PolicyLRU, cache.Policy2Q, cache.PolicyARC} {
		b.Run(string(policy), func(b *testing.B) {
			nodes := startNodes(b, "n1")
			n := nodes["n1"]
			g := newTestGateway(b, Config{Resilience: fastResilience(), Cache: cache.Config{Policy: policy, TTL: time.Hour}}, nodes)
			keys := make([]string, 1000)
			ctx := context.Background()
			for i := range keys {
				keys[i] = fmt.Sprintf("k%d", i)
				n.put(keys[i], "value")
				if _, err := g.Get(ctx, keys[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if e, err := g.Get(ctx, keys[i%len(keys)]); err != nil || !e.Found {
						b.Errorf("Get: %v, found %v", err, e.Found)
						return
					}
					i++
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			if calls := n.callCount(); calls != len(keys) {
				b.Fatalf("the store saw %d reads, want %d (every benchmark Get a hit)", calls, len(keys))
			}
		})
	}
}

// A node that goes silent: hedges answer its reads (the hung attempts never
// answer), the hung attempts still time out and trip its breaker, and once
// the breaker is open reads go to the next node directly, with no hedge.
func TestHedgedReadsStillTripTheBreaker(t *testing.T) {
	nodes := startNodes(t, "n1", "n2", "n3")
	res := fastResilience()
	res.Timeout = 600 * time.Millisecond
	res.Breaker = resilience.BreakerConfig{Failures: 3, OpenFor: time.Minute}
	// Hedges no sooner than 150 ms: a hung n1 is hedged all the same, and a
	// read of a healthy node slowed by a busy machine is not, so the count
	// below is the hung node's.
	res.Hedge = resilience.HedgeConfig{After: 150 * time.Millisecond}
	g := newTestGateway(t, Config{Replicas: 3, Resilience: res}, nodes)
	keys := keysWithPrimary(t, g.Ring(), "n1", 12)
	for _, k := range keys {
		for _, id := range g.Ring().Preference(k, 3) {
			nodes[id].put(k, "v")
		}
	}
	warmReads(t, g, keys[0])
	nodes["n1"].mode.Store(modeHang)
	for i, k := range keys {
		a := do(t, http.MethodGet, g.url+"/kv/"+k, "", nil)
		if a.code != http.StatusOK {
			t.Fatalf("GET %d: %d %s, want 200", i, a.code, a.body)
		}
		if i == 3 {
			testkit.Eventually(t, 5*time.Second, "n1's breaker open", func() bool { return g.breakers.Open("n1") })
		}
	}
	sent := demotest.Value(t, g.m.Hedges.WithLabelValues("sent"))
	won := demotest.Value(t, g.m.Hedges.WithLabelValues("won"))
	if sent < 3 || sent > 4 || won != sent {
		t.Fatalf("hedged_reads_total: sent %v, won %v; want 3 or 4 sent (the reads before n1's breaker opened), all won", sent, won)
	}
}

// The budget caps hedges: a node that hangs on every read gets its first burst
// hedged, then only the budget's share of the reads that follow.
func TestHedgeBudgetCapsHedges(t *testing.T) {
	nodes := startNodes(t, "n1", "n2", "n3")
	res := fastResilience()
	res.Timeout = 300 * time.Millisecond
	res.Hedge = resilience.HedgeConfig{After: 5 * time.Millisecond, Budget: 0.1}
	g := newTestGateway(t, Config{Replicas: 3, Resilience: res}, nodes)
	keys := keysWithPrimary(t, g.Ring(), "n1", 1)
	warmReads(t, g, keys[0])
	nodes["n1"].mode.Store(modeHang)
	const reads = 120
	for range reads {
		do(t, http.MethodGet, g.url+"/kv/"+keys[0], "", nil)
	}
	sent := demotest.Value(t, g.m.Hedges.WithLabelValues("sent"))
	over := demotest.Value(t, g.m.Hedges.WithLabelValues("over_budget"))
	// 50 from the full bucket, plus 0.1 per read earned on the way.
	if max := 50 + 0.1*(reads+warmupReads); sent > max || sent < 50 || over == 0 {
		t.Fatalf("hedges sent %v, over budget %v; want 50..%v sent and some refused", sent, over, max)
	}
}

// warmupReads is how many reads warmReads makes: enough for the gateway to know
// its reads' usual latency, which it hedges by.
const warmupReads = 25

// warmReads reads key warmupReads times; each must succeed.
func warmReads(t *testing.T, g *testGateway, key string) {
	t.Helper()
	for range warmupReads {
		if a := do(t, http.MethodGet, g.url+"/kv/"+key, "", nil); a.code != http.StatusOK && a.code != http.StatusNotFound {
			t.Fatalf("warm-up GET %s: %d %s", key, a.code, a.body)
		}
	}
}

// No hedge goes out before the gateway has seen enough reads to know their
// usual latency, nor when every read is as slow as this one: hedging then
// would only add load (a cold start, a busy machine).
func TestNoHedgeWithoutALatencyBaseline(t *testing.T) {
	nodes := startNodes(t, "n1", "n2", "n3")
	res := fastResilience()
	res.Timeout = 600 * time.Millisecond
	g := newTestGateway(t, Config{Replicas: 3, Resilience: res}, nodes)
	k := keysWithPrimary(t, g.Ring(), "n1", 1)[0]
	nodes["n1"].mode.Store(modeHang)
	a := do(t, http.MethodGet, g.url+"/kv/"+k, "", nil)
	if a.code != http.StatusNotFound || a.elapsed < res.Timeout/3 {
		t.Fatalf("GET = %d in %s, want 404 after the hung attempt's share %s (failover, no hedge)", a.code, a.elapsed, res.Timeout/3)
	}
	if sent := demotest.Value(t, g.m.Hedges.WithLabelValues("sent")); sent != 0 {
		t.Fatalf("hedged_reads_total{sent} = %v with no latency baseline, want 0", sent)
	}
}

// A real stall of the gateway's own process (the test process is stopped
// for 300 ms while a read's attempt waits on n1) times that attempt out;
// the stall detector keeps it from n1's breaker. Without the detector
// running, the same timeout opens the breaker.
func TestGatewayStallIsNotHeldAgainstTheNode(t *testing.T) {
	for _, detect := range []bool{true, false} {
		t.Run(fmt.Sprintf("detector running %v", detect), func(t *testing.T) {
			nodes := startNodes(t, "n1", "n2", "n3")
			res := fastResilience()
			res.Timeout = 600 * time.Millisecond
			res.Breaker = resilience.BreakerConfig{Failures: 1, OpenFor: time.Minute}
			g := newTestGateway(t, Config{Replicas: 3, Resilience: res}, nodes)
			if detect {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go g.Run(ctx)
			}
			k := keysWithPrimary(t, g.Ring(), "n1", 1)[0]
			for _, n := range nodes {
				n.put(k, "v")
			}
			release := nodes["n1"].holdRequests(http.MethodGet)
			defer release()
			answer := make(chan int, 1)
			go func() { answer <- do(t, http.MethodGet, g.url+"/kv/"+k, "", nil).code }()
			testkit.Eventually(t, 5*time.Second, "the read waits on n1", func() bool { return nodes["n1"].callCount() == 1 })
			if out, err := exec.Command("sh", "-c", "kill -STOP $PPID; sleep 0.3; kill -CONT $PPID").CombinedOutput(); err != nil {
				t.Fatalf("stop and continue this process: %v %s", err, out)
			}
			if code := <-answer; code != http.StatusOK {
				t.Fatalf("read after the stall: %d, want 200 from another replica", code)
			}
			open := demotest.Value(t, g.m.BreakerState.WithLabelValues("n1")) == metrics.BreakerOpen
			stalled := demotest.Value(t, g.m.BreakerStalled.WithLabelValues("n1"))
			if open == detect || (stalled == 1) != detect {
				t.Fatalf("n1's breaker open = %v, stalled failures %v; want open only without the detector, which spares the one failure", open, stalled)
			}
		})
	}
}
