package gateway

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/cache"
	"github.com/chaosctl/chaosctl/targets/demo/internal/demotest"
)

// firstWriteOnly applies action to the first write the fronts see and lets the
// rest pass.
func firstWriteOnly(action frontAction) func(*http.Request) frontAction {
	var (
		mu   sync.Mutex // each front calls rules under its own lock
		seen bool
	)
	return func(*http.Request) frontAction {
		mu.Lock()
		defer mu.Unlock()
		if seen {
			return pass
		}
		seen = true
		return action
	}
}

// A write whose attempt was sent and may have applied is answered "unknown"
// (500 or 504, never 503 or 204) and neither retried nor failed over; one
// that certainly did not apply (503, no connection) is failed over.
func TestWriteIsRetriedOnlyWhenItCertainlyDidNotApply(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		action    frontAction
		closeNode bool // the primary's front listens no more: connection refused
		wantCode  int
		wantWrite int  // writes that reached a front (or were refused at one)
		applied   bool // the store holds the write afterwards
	}{
		{name: "put landed, answer lost (500)", method: http.MethodPut, action: loseAnswer, wantCode: http.StatusInternalServerError, wantWrite: 1, applied: true},
		{name: "put landed, answer hung past the budget", method: http.MethodPut, action: hangAfter, wantCode: http.StatusGatewayTimeout, wantWrite: 1, applied: true},
		{name: "put failed 500 without landing", method: http.MethodPut, action: fail500Alone, wantCode: http.StatusInternalServerError, wantWrite: 1, applied: false},
		{name: "delete landed, answer lost (500)", method: http.MethodDelete, action: loseAnswer, wantCode: http.StatusInternalServerError, wantWrite: 1, applied: true},
		{name: "put shed with 503: failed over", method: http.MethodPut, action: refuse503, wantCode: http.StatusNoContent, wantWrite: 2, applied: true},
		{name: "put to a node that refuses connections: failed over", method: http.MethodPut, closeNode: true, wantCode: http.StatusNoContent, wantWrite: 1, applied: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startStoreCluster(t, 3)
			res := fastResilience()
			res.Timeout = time.Second
			g := serveGateway(t, c.gatewayConfig(Config{ID: "g1", Replicas: 3, Resilience: res}))
			const k = "key"
			if a := do(t, http.MethodPut, g.url+"/kv/"+k, "old", nil); a.code != http.StatusNoContent {
				t.Fatalf("setup PUT: %d %s", a.code, a.header.Get(api.HeaderError))
			}
			before := len(c.writesSeen())
			if tt.closeNode {
				c.fronts[g.Ring().Preference(k, 3)[0]].srv.Close()
				// A connection the gateway kept from the setup PUT may not be
				// seen closed yet; a write on it would be indeterminate
				// (sent, then the connection failed), which is not this case.
				g.transport.CloseIdleConnections()
			} else {
				c.setRule(firstWriteOnly(tt.action))
			}

			a := do(t, tt.method, g.url+"/kv/"+k, "new", map[string]string{api.HeaderRequestID: "the-write"})
			if a.code != tt.wantCode {
				t.Fatalf("%s = %d %q, want %d", tt.method, a.code, a.header.Get(api.HeaderError), tt.wantCode)
			}
			if reason := a.header.Get(api.HeaderError); tt.wantCode >= 500 && !strings.HasPrefix(reason, "indeterminate: ") {
				t.Fatalf("X-Error = %q, want an indeterminate: reason", reason)
			}
			if got := len(c.writesSeen()) - before; got != tt.wantWrite {
				t.Fatalf("the write reached the fronts %d times (%q), want %d", got, c.writesSeen()[before:], tt.wantWrite)
			}
			wantIndeterminate := 0.0
			if tt.wantCode >= 500 {
				wantIndeterminate = 1
			}
			if v := demotest.Value(t, g.m.Indeterminate.WithLabelValues(api.OpName(tt.method))); v != wantIndeterminate {
				t.Fatalf("gateway_writes_indeterminate_total = %v, want %v", v, wantIndeterminate)
			}

			c.setRule(nil)
			want := "old"
			if tt.applied {
				want = map[string]string{http.MethodPut: "new", http.MethodDelete: ""}[tt.method]
			}
			r := do(t, http.MethodGet, g.url+"/kv/"+k, "", nil)
			if got := map[bool]string{true: r.body, false: ""}[r.code == http.StatusOK]; got != want || (r.code != http.StatusOK && r.code != http.StatusNotFound) {
				t.Fatalf("GET after the write = %d %q, want %q (404 for empty)", r.code, r.body, want)
			}
		})
	}
}

// After an indeterminate write the gateway caches neither the old value nor
// the new one: the next read asks the store, which holds whichever landed.
func TestIndeterminateWriteDropsTheCachedValue(t *testing.T) {
	for _, mode := range []WriteMode{WriteThrough, WriteInvalidate} {
		for _, tt := range []struct {
			action frontAction
			want   string
		}{{loseAnswer, "new"}, {fail500Alone, "old"}} {
			t.Run(string(mode)+"/"+tt.want+" in the store", func(t *testing.T) {
				c := startStoreCluster(t, 3)
				g := serveGateway(t, c.gatewayConfig(Config{ID: "g1", Replicas: 3, WriteMode: mode, Resilience: fastResilience(),
					Cache: cache.Config{Policy: cache.PolicyLRU, TTL: time.Hour}}))
				const k = "key"
				if a := do(t, http.MethodPut, g.url+"/kv/"+k, "old", nil); a.code != http.StatusNoContent {
					t.Fatalf("setup PUT: %d", a.code)
				}
				if a := do(t, http.MethodGet, g.url+"/kv/"+k, "", nil); a.code != http.StatusOK || a.body != "old" {
					t.Fatalf("setup GET = %d %q, want 200 old", a.code, a.body)
				}
				c.setRule(firstWriteOnly(tt.action))
				if a := do(t, http.MethodPut, g.url+"/kv/"+k, "new", nil); a.code != http.StatusInternalServerError {
					t.Fatalf("PUT = %d, want 500 indeterminate", a.code)
				}
				loads := demotest.Value(t, g.m.CacheLoads)
				if a := do(t, http.MethodGet, g.url+"/kv/"+k, "", nil); a.code != http.StatusOK || a.body != tt.want {
					t.Fatalf("GET = %d %q, want 200 %q (the store's)", a.code, a.body, tt.want)
				}
				if demotest.Value(t, g.m.CacheLoads) != loads+1 {
					t.Fatal("the GET after the indeterminate write was served from the cache")
				}
			})
		}
	}
}

// Cache-Control: no-cache reads the store, past a cached value the store no
// longer holds and past a write-behind write not yet flushed, and caches
// nothing.
func TestNoCacheReadsTheStore(t *testing.T) {
	t.Run("cached value changed in the store", func(t *testing.T) {
		c := startStoreCluster(t, 3)
		cfg := c.gatewayConfig(Config{Replicas: 3, Resilience: fastResilience(), Cache: cache.Config{Policy: cache.PolicyLRU, TTL: time.Hour}})
		cfg.ID = "g1"
		g1 := serveGateway(t, cfg)
		cfg.ID = "g2"
		g2 := serveGateway(t, cfg)
		if a := do(t, http.MethodPut, g1.url+"/kv/k", "v1", nil); a.code != http.StatusNoContent {
			t.Fatalf("PUT v1: %d", a.code)
		}
		if a := do(t, http.MethodGet, g1.url+"/kv/k", "", nil); a.body != "v1" {
			t.Fatalf("GET = %q, want v1", a.body)
		}
		if a := do(t, http.MethodPut, g2.url+"/kv/k", "v2", nil); a.code != http.StatusNoContent {
			t.Fatalf("PUT v2 through g2: %d", a.code)
		}
		if a := do(t, http.MethodGet, g1.url+"/kv/k", "", nil); a.body != "v1" {
			t.Fatalf("GET through g1 = %q, want its cached v1 (the test needs a stale cache)", a.body)
		}
		for _, cc := range []string{"no-cache", "max-age=0, No-Cache"} {
			if a := do(t, http.MethodGet, g1.url+"/kv/k", "", map[string]string{"Cache-Control": cc}); a.code != http.StatusOK || a.body != "v2" {
				t.Fatalf("GET with Cache-Control %q = %d %q, want 200 v2 from the store", cc, a.code, a.body)
			}
		}
		if a := do(t, http.MethodGet, g1.url+"/kv/k", "", nil); a.body != "v1" {
			t.Fatalf("GET without the header = %q, want the cached v1: a no-cache read must not change the cache", a.body)
		}
	})
	t.Run("write-behind write not flushed", func(t *testing.T) {
		g, n1 := newBehindGateway(t, 0)
		n1.put("k", "stored")
		release := n1.holdRequests(http.MethodPut)
		defer release()
		if a := do(t, http.MethodPut, g.url+"/kv/k", "queued", nil); a.code != http.StatusNoContent {
			t.Fatalf("PUT: %d", a.code)
		}
		if a := do(t, http.MethodGet, g.url+"/kv/k", "", nil); a.body != "queued" {
			t.Fatalf("GET = %q, want the queued write from the cache", a.body)
		}
		if a := do(t, http.MethodGet, g.url+"/kv/k", "", map[string]string{"Cache-Control": "no-cache"}); a.code != http.StatusOK || a.body != "stored" {
			t.Fatalf("GET with no-cache = %d %q, want 200 stored (the store's)", a.code, a.body)
		}
	})
}

// A write-behind flush that may have applied is not retried as a new write: it
// is counted as indeterminate, and the key's cached value is dropped so that
// reads show whichever value the store holds.
func TestWriteBehindIndeterminateFlushIsNotRetried(t *testing.T) {
	for _, tt := range []struct {
		action frontAction
		want   string
	}{{loseAnswer, "new"}, {fail500Alone, "old"}} {
		t.Run(tt.want+" in the store", func(t *testing.T) {
			c := startStoreCluster(t, 3)
			g := serveGateway(t, c.gatewayConfig(Config{ID: "g1", Replicas: 3, WriteMode: WriteBehind, Resilience: fastResilience(),
				Cache: cache.Config{Policy: cache.PolicyLRU, TTL: time.Hour}}))
			const k = "key"
			if a := do(t, http.MethodPut, g.url+"/kv/"+k, "old", nil); a.code != http.StatusNoContent {
				t.Fatalf("setup PUT: %d", a.code)
			}
			testkit.Eventually(t, 10*time.Second, "the first flush", func() bool { return demotest.Value(t, g.m.WriteBehind) == 0 })
			c.setRule(firstWriteOnly(tt.action))
			if a := do(t, http.MethodPut, g.url+"/kv/"+k, "new", nil); a.code != http.StatusNoContent {
				t.Fatalf("PUT = %d, want 204 (queued)", a.code)
			}
			testkit.Eventually(t, 10*time.Second, "the second flush", func() bool { return demotest.Value(t, g.m.WriteBehind) == 0 })
			if v := demotest.Value(t, g.m.WriteFlushes.WithLabelValues("indeterminate")); v != 1 {
				t.Fatalf("writebehind_flushes_total{indeterminate} = %v, want 1", v)
			}
			if got := c.writesSeen(); len(got) != 2 {
				t.Fatalf("the store was sent %q, want two writes (no retry of the indeterminate flush)", got)
			}
			loads := demotest.Value(t, g.m.CacheLoads)
			if a := do(t, http.MethodGet, g.url+"/kv/"+k, "", nil); a.code != http.StatusOK || a.body != tt.want {
				t.Fatalf("GET = %d %q, want 200 %q (the store's)", a.code, a.body, tt.want)
			}
			if demotest.Value(t, g.m.CacheLoads) != loads+1 {
				t.Fatal("the GET after the indeterminate flush was served from the cache")
			}
		})
	}
}
