package runner

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/demo/cache"
	"github.com/chaosctl/chaosctl/targets/demo/gateway"
	"github.com/chaosctl/chaosctl/targets/demo/hlc"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/chaosctl/chaosctl/targets/demo/node"
	"github.com/chaosctl/chaosctl/targets/demo/resilience"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// The read-back reads the store, not a gateway's cache: a gateway whose cache
// holds a value the store no longer has answers readKey with the store's.
func TestReadKeyBypassesTheGatewayCache(t *testing.T) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	eng := storage.OpenMemory()
	nd, err := node.New(node.Config{ID: "n1", Nodes: []string{"n1"}, VNodes: 16, N: 1, W: 1, R: 1, Consistency: node.Linearizable, Recovery: node.RecoveryNone},
		eng, hlc.New(nil), metrics.New("n1"), logrus.NewEntry(log))
	if err != nil {
		t.Fatal(err)
	}
	nodeSrv := httptest.NewServer(nd.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- nd.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; nodeSrv.Close(); _ = eng.Close() })

	g, err := gateway.New(gateway.Config{
		ID: "g1", Nodes: []string{"n1"}, VNodes: 16, Peers: map[string]string{"n1": nodeSrv.Listener.Addr().String()},
		Cache:      cache.Config{Policy: cache.PolicyLRU, TTL: time.Hour},
		Resilience: resilience.DefaultConfig(),
	}, metrics.New("g1"), nil, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	gwSrv := httptest.NewServer(g.Handler())
	t.Cleanup(func() { gwSrv.Close(); _ = g.Close(context.Background()) })
	gw := gwSrv.Listener.Addr().String()

	put := func(base, value string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, base+"/kv/k", strings.NewReader(value))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("PUT %s to %s: %d", value, base, resp.StatusCode)
		}
	}
	get := func() string {
		t.Helper()
		resp, err := http.Get(gwSrv.URL + "/kv/k")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	put(gwSrv.URL, "cached")
	if v := get(); v != "cached" {
		t.Fatalf("GET through the gateway = %q, want cached", v)
	}
	put(nodeSrv.URL, "stored") // behind the gateway's back
	if v := get(); v != "cached" {
		t.Fatalf("GET through the gateway = %q, want its cached value (the test needs a stale cache)", v)
	}
	v, ok := readKey(context.Background(), http.DefaultClient, gw, "k")
	if !ok || v == nil || *v != "stored" {
		t.Fatalf("readKey = %v, %v; want the store's value %q", v, ok, "stored")
	}
}
