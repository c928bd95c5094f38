package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/hlc"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/chaosctl/chaosctl/targets/demo/node"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// What a front does with one request.
type frontAction int

const (
	pass         frontAction = iota // forward, answer the node's answer
	loseAnswer                      // forward, then answer 500 indeterminate: the write landed, its answer is lost
	hangAfter                       // forward, then hold the answer until the gateway gives up
	refuse503                       // answer 503 without forwarding, as a node shedding load does
	fail500Alone                    // answer 500 indeterminate without forwarding: nothing landed
)

// storeCluster is real store nodes (package node, linearizable, in-memory
// storage) served in-process on 127.0.0.1, each behind a front: the address a
// gateway is given for the node, which forwards to the node unless the test's
// rule says otherwise. The fronts are the network between gateway and nodes;
// the nodes reach each other directly.
type storeCluster struct {
	ids    []string
	fronts map[string]*front
}

// front forwards requests to one node and applies the test's rule to PUTs and
// DELETEs and its rangeRule to range listings (reads always pass).
type front struct {
	node   string
	target string // the node's own address
	srv    *httptest.Server
	client *http.Client

	mu     sync.Mutex
	rule   func(r *http.Request) frontAction
	writes []string // "PUT key rid", in arrival order
	// rangeRule, when set, decides the range listings (api.RangePath).
	rangeRule func(r *http.Request) frontAction
}

// startStoreCluster starts n linearizable nodes (N=3, W=R=2) and their fronts.
// The nodes are new, so they serve at once (no resync).
func startStoreCluster(t testing.TB, n int) *storeCluster {
	t.Helper()
	c := &storeCluster{fronts: map[string]*front{}}
	srvs := map[string]*httptest.Server{}
	peers := map[string]string{}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("n%d", i)
		c.ids = append(c.ids, id)
		srvs[id] = httptest.NewUnstartedServer(nil)
		peers[id] = srvs[id].Listener.Addr().String()
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	for _, id := range c.ids {
		eng := storage.OpenMemory()
		nd, err := node.New(node.Config{
			ID: id, Nodes: c.ids, VNodes: 16, N: min(3, n), W: min(3, n)/2 + 1, R: min(3, n)/2 + 1,
			Consistency: node.Linearizable, Peers: peers, Timeout: 2 * time.Second,
			Recovery:  node.RecoveryNone, // a new cluster: nothing to catch up on
			PeerToken: "peer-token",
		}, eng, hlc.New(nil), metrics.New(id), logrus.NewEntry(log).WithField("member", id))
		if err != nil {
			t.Fatalf("start node %s: %v", id, err)
		}
		srv := srvs[id]
		srv.Config.Handler = nd.Handler()
		srv.Start()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- nd.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			<-done
			srv.Close()
			_ = eng.Close()
		})
		f := &front{node: id, target: peers[id], client: &http.Client{Transport: &http.Transport{}}}
		f.srv = httptest.NewServer(f)
		t.Cleanup(f.srv.Close)
		t.Cleanup(f.client.CloseIdleConnections)
		c.fronts[id] = f
	}
	return c
}

// gatewayConfig fills cfg's nodes and peers: the gateway reaches every node
// through its front.
func (c *storeCluster) gatewayConfig(cfg Config) Config {
	cfg.Nodes = c.ids
	cfg.Peers = map[string]string{}
	for id, f := range c.fronts {
		cfg.Peers[id] = f.srv.Listener.Addr().String()
	}
	return cfg
}

// setRule makes every front apply rule to the writes it sees (nil: pass all).
func (c *storeCluster) setRule(rule func(r *http.Request) frontAction) {
	for _, f := range c.fronts {
		f.mu.Lock()
		f.rule = rule
		f.mu.Unlock()
	}
}

// writesSeen lists the writes that reached any front.
func (c *storeCluster) writesSeen() []string {
	var all []string
	for _, id := range c.ids {
		f := c.fronts[id]
		f.mu.Lock()
		all = append(all, f.writes...)
		f.mu.Unlock()
	}
	return all
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	action := pass
	if r.Method == http.MethodPut || r.Method == http.MethodDelete {
		key, _ := api.KeyFromPath(r.URL.Path)
		f.mu.Lock()
		f.writes = append(f.writes, r.Method+" "+key+" "+r.Header.Get(api.HeaderRequestID))
		if f.rule != nil {
			action = f.rule(r)
		}
		f.mu.Unlock()
	}
	if r.URL.Path == api.RangePath {
		f.mu.Lock()
		if f.rangeRule != nil {
			action = f.rangeRule(r)
		}
		f.mu.Unlock()
	}
	switch action {
	case refuse503:
		api.Error(w, http.StatusServiceUnavailable, "no effect: shed by the test's front")
		return
	case fail500Alone:
		api.Error(w, http.StatusInternalServerError, "indeterminate: failed by the test's front")
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+f.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		api.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	req.Header = r.Header.Clone()
	resp, err := f.client.Do(req)
	if err != nil {
		api.Error(w, http.StatusBadGateway, err.Error())
		return
	}
	answer, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	switch action {
	case loseAnswer:
		api.Error(w, http.StatusInternalServerError, "indeterminate: the node's answer was lost by the test's front")
		return
	case hangAfter:
		<-r.Context().Done() // the gateway gives up on the attempt
		return
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}
