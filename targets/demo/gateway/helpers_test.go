package gateway

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/chaosctl/chaosctl/targets/demo/placement"
	"github.com/chaosctl/chaosctl/targets/demo/resilience"
)

// Node behaviours.
const (
	modeOK          = iota
	modeUnavailable // answers 503, as a node without its quorum does
	modeHang        // never answers; the caller must time out
	// modeReplicasSlow answers 504 marked api.CauseReplicas, as a coordinator
	// in touch with its replicas whose replicas were too slow does.
	modeReplicasSlow
)

// testNode is a tiny single-copy KV server speaking the store node API, standing
// in for a store node: the thing under test is the gateway in front of it.
type testNode struct {
	id   string
	srv  *httptest.Server
	mode atomic.Int32
	stop chan struct{} // closed at cleanup: releases held requests

	mu          sync.Mutex
	data        map[string]string
	version     int
	calls       int
	ops         []string // "GET k", "PUT k v", "DELETE k", in arrival order
	lastTimeout string
	lastReqID   string
	lastSession string
	hold        map[string]chan struct{} // method -> gate requests wait for
}

func startNode(t testing.TB, id string) *testNode {
	t.Helper()
	n := &testNode{id: id, data: map[string]string{}, hold: map[string]chan struct{}{}, stop: make(chan struct{})}
	n.srv = httptest.NewServer(n)
	t.Cleanup(n.srv.Close)
	t.Cleanup(func() { close(n.stop) }) // runs first: unblocks held handlers
	return n
}

func startNodes(t testing.TB, ids ...string) map[string]*testNode {
	nodes := make(map[string]*testNode, len(ids))
	for _, id := range ids {
		nodes[id] = startNode(t, id)
	}
	return nodes
}

func (n *testNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key, _ := api.KeyFromPath(r.URL.Path)
	body, _ := io.ReadAll(r.Body)
	n.mu.Lock()
	n.calls++
	n.lastTimeout = r.Header.Get(api.HeaderTimeout)
	n.lastReqID = r.Header.Get(api.HeaderRequestID)
	n.lastSession = r.Header.Get(api.HeaderSession)
	op := r.Method + " " + key
	if r.Method == http.MethodPut {
		op += " " + string(body)
	}
	n.ops = append(n.ops, op)
	gate := n.hold[r.Method]
	n.mu.Unlock()

	switch n.mode.Load() {
	case modeUnavailable:
		api.Error(w, http.StatusServiceUnavailable, "no quorum")
		return
	case modeReplicasSlow:
		w.Header().Set(api.HeaderCause, api.CauseReplicas)
		api.Error(w, http.StatusGatewayTimeout, "get: quorum not reached: 1 of 2 needed replicas answered")
		return
	case modeHang:
		select {
		case <-r.Context().Done():
		case <-n.stop:
		}
		return
	}
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		case <-n.stop:
			return
		}
	}

	n.mu.Lock()
	defer n.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		v, ok := n.data[key]
		if !ok {
			api.Error(w, http.StatusNotFound, "not found")
			return
		}
		w.Header().Set(api.HeaderVersion, n.id+"-"+strconv.Itoa(n.version))
		_, _ = w.Write([]byte(v))
	case http.MethodPut:
		n.version++
		n.data[key] = string(body)
		w.Header().Set(api.HeaderVersion, n.id+"-"+strconv.Itoa(n.version))
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		delete(n.data, key)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (n *testNode) addr() string { return n.srv.Listener.Addr().String() }

func (n *testNode) put(key, value string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.data[key] = value
}

func (n *testNode) get(key string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.data[key]
	return v, ok
}

func (n *testNode) callCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.calls
}

func (n *testNode) opLog() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.ops...)
}

func (n *testNode) headers() (timeout, reqID string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lastTimeout, n.lastReqID
}

// holdRequests makes requests of method wait until the returned release is
// called (release is idempotent).
func (n *testNode) holdRequests(method string) (release func()) {
	gate := make(chan struct{})
	n.mu.Lock()
	n.hold[method] = gate
	n.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(gate) }) }
}

// testGateway is a gateway served on a real listener.
type testGateway struct {
	*Gateway
	m   *metrics.Member
	url string
}

// newTestGateway fills Nodes (sorted by id) and Peers from nodes when cfg leaves
// them empty, and serves the gateway on 127.0.0.1:0.
func newTestGateway(t testing.TB, cfg Config, nodes map[string]*testNode) *testGateway {
	t.Helper()
	if cfg.ID == "" {
		cfg.ID = "g1"
	}
	if len(cfg.Nodes) == 0 {
		for i := 1; len(cfg.Nodes) < len(nodes); i++ {
			if _, ok := nodes[fmt.Sprintf("n%d", i)]; ok {
				cfg.Nodes = append(cfg.Nodes, fmt.Sprintf("n%d", i))
			}
		}
	}
	if cfg.Peers == nil {
		cfg.Peers = map[string]string{}
		for id, n := range nodes {
			cfg.Peers[id] = n.addr()
		}
	}
	return serveGateway(t, cfg)
}

// serveGateway builds a gateway from cfg and serves it on 127.0.0.1:0; cleanup
// closes it.
func serveGateway(t testing.TB, cfg Config) *testGateway {
	t.Helper()
	m := metrics.New(cfg.ID)
	g, err := New(cfg, m, nil, rand.New(rand.NewPCG(42, 1)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = g.Close(ctx)
	})
	t.Cleanup(srv.Close)
	return &testGateway{Gateway: g, m: m, url: srv.URL}
}

type answer struct {
	code    int
	body    string
	header  http.Header
	elapsed time.Duration
}

func do(t testing.TB, method, url, body string, header map[string]string) answer {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, url, err)
		return answer{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{code: resp.StatusCode, body: string(b), header: resp.Header, elapsed: time.Since(start)}
}

// keysWithPrimary returns count keys whose preference list starts with node.
func keysWithPrimary(t testing.TB, r placement.Placement, node string, count int) []string {
	t.Helper()
	var keys []string
	for i := 0; len(keys) < count; i++ {
		if i > 100000 {
			t.Fatalf("no %d keys with primary %s", count, node)
		}
		k := fmt.Sprintf("key-%d", i)
		if r.Owner(k) == node {
			keys = append(keys, k)
		}
	}
	return keys
}

// fastResilience fails over without waiting long between attempts and keeps
// breakers closed unless a test opens them on purpose.
func fastResilience() Resilience {
	return Resilience{
		Timeout: 2 * time.Second,
		Retries: resilience.RetryConfig{Max: 2, Base: time.Millisecond, Cap: 5 * time.Millisecond},
		Breaker: resilience.BreakerConfig{Failures: 1000, OpenFor: time.Minute},
	}
}
