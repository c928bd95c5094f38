package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/cache"
	"github.com/chaosctl/chaosctl/targets/demo/internal/demotest"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
)

// storeCalls is how many calls the gateway sent to the nodes that the nodes
// answered with code: chaosdemo_replica_requests_total{code} summed over peers.
func storeCalls(t *testing.T, m *metrics.Member, nodes []string, code string) float64 {
	t.Helper()
	var sum float64
	for _, n := range nodes {
		sum += demotest.Value(t, m.ReplicaRequests.WithLabelValues(n, code))
	}
	return sum
}

func seeded(t *testing.T, g *testGateway) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.SeedFilter(ctx); err != nil {
		t.Fatalf("SeedFilter: %v", err)
	}
}

// A flood of reads of missing keys reaches the store on every read without a
// defence, once per distinct key with negative caching, and only on the Bloom
// filter's false positives with bloom. Every key written is still found in
// each mode.
func TestMissingKeyFloodReachesStoreOnlyWithoutProtection(t *testing.T) {
	const (
		written  = 40
		distinct = 50  // missing keys
		flood    = 400 // reads of them
	)
	tests := []struct {
		name        string
		cache       cache.Config
		maxStore    int // 404 answers from the store during the flood, at most (a retried read counts twice)
		minStore    int // and at least
		wantAbsent  bool
		onlyWriter  bool
		wantTrusted bool
	}{
		{name: "none", cache: cache.Config{Policy: cache.PolicyLRU, TTL: time.Minute, Penetration: cache.PenetrationNone},
			minStore: flood, maxStore: flood + flood/20}, // a read retried after a slow attempt counts twice
		{name: "negative", cache: cache.Config{Policy: cache.PolicyLRU, TTL: time.Minute, NegativeTTL: time.Minute},
			minStore: distinct, maxStore: distinct + distinct/5},
		{name: "bloom without a cache", cache: cache.Config{Policy: cache.PolicyNone, Penetration: cache.PenetrationBloom, BloomCapacity: 1000},
			onlyWriter: true, wantTrusted: true, minStore: 0, maxStore: flood / 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startStoreCluster(t, 3)
			g := serveGateway(t, c.gatewayConfig(Config{ID: "g1", Replicas: 3, Resilience: fastResilience(), Cache: tt.cache,
				OnlyWriter: tt.onlyWriter, PeerToken: "peer-token"}))
			seeded(t, g)
			if g.filter != nil && g.filter.Trusted() != tt.wantTrusted {
				t.Fatalf("filter trusted = %v, want %v", g.filter.Trusted(), tt.wantTrusted)
			}
			for i := range written {
				if a := do(t, http.MethodPut, fmt.Sprintf("%s/kv/exists-%d", g.url, i), "v", nil); a.code != http.StatusNoContent {
					t.Fatalf("PUT exists-%d: %d %s", i, a.code, a.header.Get(api.HeaderError))
				}
			}
			before := storeCalls(t, g.m, c.ids, "404")
			for i := range flood {
				if a := do(t, http.MethodGet, fmt.Sprintf("%s/kv/missing-%d", g.url, i%distinct), "", nil); a.code != http.StatusNotFound {
					t.Fatalf("GET missing-%d: %d, want 404", i%distinct, a.code)
				}
			}
			reached := int(storeCalls(t, g.m, c.ids, "404") - before)
			if reached < tt.minStore || reached > tt.maxStore {
				t.Fatalf("%d of %d reads of missing keys reached the store, want %d to %d", reached, flood, tt.minStore, tt.maxStore)
			}
			if g.filter != nil {
				fp := demotest.Value(t, g.m.BloomFalsePos)
				absent := demotest.Value(t, g.m.BloomChecks.WithLabelValues("absent"))
				if int(fp) > reached || int(absent)+int(fp) != flood {
					t.Fatalf("bloom metrics: %v false positives and %v absent for %d store reads of %d, want them to add up", fp, absent, reached, flood)
				}
				t.Logf("measured false positive rate %.4f (sized for %.4f)", fp/float64(flood), g.Config().Cache.BloomFalsePositive)
			}
			for i := range written {
				if a := do(t, http.MethodGet, fmt.Sprintf("%s/kv/exists-%d", g.url, i), "", nil); a.code != http.StatusOK {
					t.Fatalf("GET exists-%d after the flood: %d, want 200", i, a.code)
				}
			}
		})
	}
}

// A key written through one gateway is found through another with bloom: with
// two gateways neither filter is trusted (neither sees every write), so a key
// a filter has not seen is read from the store; and a gateway started after
// keys were written seeds its filter from the store and finds them without a
// store read of the filter's making.
func TestBloomNeverHidesKeysWrittenElsewhere(t *testing.T) {
	c := startStoreCluster(t, 3)
	bloomCfg := func(id string, onlyWriter bool) Config {
		return c.gatewayConfig(Config{ID: id, Replicas: 3, Resilience: fastResilience(), OnlyWriter: onlyWriter, PeerToken: "peer-token",
			Cache: cache.Config{Policy: cache.PolicyLRU, TTL: time.Minute, Penetration: cache.PenetrationBloom}})
	}
	g1, g2 := serveGateway(t, bloomCfg("g1", false)), serveGateway(t, bloomCfg("g2", false))
	seeded(t, g1)
	seeded(t, g2)
	if g1.filter.Trusted() {
		t.Fatal("a gateway that is not the only writer trusts its filter")
	}
	if a := do(t, http.MethodPut, g2.url+"/kv/via-g2", "v2", nil); a.code != http.StatusNoContent {
		t.Fatalf("PUT via g2: %d", a.code)
	}
	if a := do(t, http.MethodGet, g1.url+"/kv/via-g2", "", nil); a.code != http.StatusOK || a.body != "v2" {
		t.Fatalf("GET via g1 of a key written through g2: %d %q, want 200 v2 (a false negative loses the key)", a.code, a.body)
	}
	if n := demotest.Value(t, g1.m.BloomChecks.WithLabelValues("unverified")); n != 1 {
		t.Fatalf("g1 unverified checks = %v, want 1", n)
	}
	if a := do(t, http.MethodGet, g1.url+"/kv/never-written", "", nil); a.code != http.StatusNotFound {
		t.Fatalf("GET of a key never written: %d, want 404", a.code)
	}

	// g3 starts after the writes, as the only gateway (g1 and g2 gone): its
	// filter is unseeded, so not trusted, until it has listed the store.
	g3 := serveGateway(t, bloomCfg("g3", true))
	if g3.filter.Trusted() {
		t.Fatal("an unseeded filter is trusted")
	}
	if a := do(t, http.MethodGet, g3.url+"/kv/via-g2", "", nil); a.code != http.StatusOK {
		t.Fatalf("GET via an unseeded g3: %d, want 200", a.code)
	}
	for i := range 20 {
		if a := do(t, http.MethodPut, fmt.Sprintf("%s/kv/before-g4-%d", g2.url, i), "v", nil); a.code != http.StatusNoContent {
			t.Fatalf("PUT before-g4-%d: %d", i, a.code)
		}
	}
	if a := do(t, http.MethodDelete, g2.url+"/kv/before-g4-0", "", nil); a.code != http.StatusNoContent {
		t.Fatalf("DELETE before-g4-0: %d", a.code)
	}
	g4 := serveGateway(t, bloomCfg("g4", true))
	seeded(t, g4)
	if !g4.filter.Trusted() {
		t.Fatal("a seeded filter of the only writer is not trusted")
	}
	for i := 1; i < 20; i++ {
		if a := do(t, http.MethodGet, fmt.Sprintf("%s/kv/before-g4-%d", g4.url, i), "", nil); a.code != http.StatusOK {
			t.Fatalf("GET before-g4-%d via g4, written before g4 started: %d, want 200 (the seed missed it)", i, a.code)
		}
	}
	if n := demotest.Value(t, g4.m.BloomChecks.WithLabelValues("maybe")); n != 19 {
		t.Fatalf("g4 maybe checks = %v, want 19 (every key came from the seed)", n)
	}
	if a := do(t, http.MethodGet, g4.url+"/kv/before-g4-0", "", nil); a.code != http.StatusNotFound {
		t.Fatalf("GET of the deleted key via g4: %d, want 404", a.code)
	}
}

// A seed that cannot list every node leaves the filter untrusted: a short
// listing would make it lie.
func TestBloomSeedNeedsEveryNode(t *testing.T) {
	c := startStoreCluster(t, 3)
	cfg := c.gatewayConfig(Config{ID: "g1", Replicas: 3, Resilience: fastResilience(), OnlyWriter: true, PeerToken: "wrong-token",
		Cache: cache.Config{Penetration: cache.PenetrationBloom}})
	g := serveGateway(t, cfg)
	err := g.SeedFilter(context.Background())
	if err == nil || !strings.Contains(err.Error(), "status 401") {
		t.Fatalf("SeedFilter with a wrong token: %v, want a 401", err)
	}
	if g.filter.Trusted() || g.filter.Seeded() {
		t.Fatal("a failed seed left the filter trusted")
	}
	if _, err := decodeSnapshotKeys(strings.NewReader(`{"k":"a","v":"1.0.1.1","c":1}`+"\n"), "n1"); err == nil {
		t.Fatal("a listing without its end line was taken as complete")
	}
	keys, err := decodeSnapshotKeys(strings.NewReader(`{"k":"a","v":"1.0.1.1","c":1}`+"\n"+`{"k":"b","v":"1.0.1.2","t":true,"c":2}`+"\n"+`{"k":"end","c":0}`+"\n"), "n1")
	if err != nil || len(keys) != 1 || keys[0] != "a" {
		t.Fatalf("decodeSnapshotKeys = %v, %v; want [a] (the tombstone left out)", keys, err)
	}
}
