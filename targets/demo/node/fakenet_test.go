package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/slo"
	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/hlc"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// This file is a fake network for store nodes in one process, in the style of
// etcd-io/raft's rafttest: every replica call between nodes is a message that
// the test's policy delivers, drops or holds (to deliver later, after its
// sender gave up, or in another order). The caller's deadline travels as it
// does over HTTP: stamped by api.SetOutgoing when sent and read back by
// api.IncomingContext when delivered, so a held message arrives with what is
// left of its budget, exactly as on the wire.

type fate int

const (
	deliver fate = iota
	drop
	hold
)

// message is one replica call in flight.
type message struct {
	kind     string // read, write, snapshot
	from, to string
	key      string
	header   http.Header // the wire's deadline headers
	run      func(ctx context.Context)
	done     chan struct{}
	err      error // set before done is closed
	released atomic.Bool
}

func (m *message) String() string { return fmt.Sprintf("%s %s->%s %s", m.kind, m.from, m.to, m.key) }

// policy decides each message's fate; nil delivers everything.
type policy func(m *message) fate

type fakeNet struct {
	t      *testing.T
	mu     sync.Mutex
	nodes  map[string]*Node
	stops  map[string]context.CancelFunc
	policy policy
	held   []*message
	cfg    Config
}

func newFakeNet(t *testing.T, cfg Config) *fakeNet {
	f := &fakeNet{t: t, nodes: map[string]*Node{}, stops: map[string]context.CancelFunc{}, cfg: cfg}
	for _, id := range cfg.Nodes {
		f.start(id, cfg.Recovery, storage.OpenMemory())
	}
	t.Cleanup(func() {
		f.releaseAll() // unblock senders still waiting
		f.mu.Lock()
		stops := f.stops
		f.mu.Unlock()
		for _, stop := range stops {
			stop()
		}
	})
	return f
}

// start (re)starts node id on engine: a restart after a crash is a new Node
// on a new, empty engine.
func (f *fakeNet) start(id, recovery string, engine storage.Engine) *Node {
	f.t.Helper()
	cfg := f.cfg
	cfg.ID, cfg.Recovery = id, recovery
	cfg.Peers = map[string]string{}
	for _, p := range cfg.Nodes {
		cfg.Peers[p] = "fake:" + p
	}
	cfg.Transport = &fakeTransport{net: f, from: id}
	log := logrus.New()
	log.SetOutput(io.Discard)
	n, err := New(cfg, engine, hlc.New(nil), metrics.New(id), logrus.NewEntry(log))
	if err != nil {
		f.t.Fatalf("start %s: %v", id, err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = n.Run(ctx); close(done) }()
	// The old incarnation is stopped without f.mu held: its background
	// work (a resync's askers) may be sending through the net, which takes
	// f.mu, and stopping waits for that work to end.
	f.mu.Lock()
	old := f.stops[id]
	f.mu.Unlock()
	if old != nil {
		old()
	}
	f.mu.Lock()
	f.nodes[id] = n
	f.stops[id] = func() { stop(); <-done }
	f.mu.Unlock()
	return n
}

// crash replaces id with a fresh node that has lost its in-memory data.
func (f *fakeNet) crash(id, recovery string) *Node {
	return f.start(id, recovery, storage.OpenMemory())
}

func (f *fakeNet) node(id string) *Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodes[id]
}

func (f *fakeNet) setPolicy(p policy) {
	f.mu.Lock()
	f.policy = p
	f.mu.Unlock()
}

// releaseAll delivers every held message, in the order they were sent.
func (f *fakeNet) releaseAll() int {
	f.mu.Lock()
	held := f.held
	f.held = nil
	f.mu.Unlock()
	for _, m := range held {
		f.deliverHeld(m)
	}
	return len(held)
}

// heldCount is how many messages wait to be delivered.
func (f *fakeNet) heldCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.held)
}

func (f *fakeNet) deliverHeld(m *message) {
	if m.released.CompareAndSwap(false, true) {
		m.err = f.deliverNow(m)
		close(m.done)
	}
}

var errNotStarted = errors.New("fake network: node not started (connection refused)")

func (f *fakeNet) deliverNow(m *message) error {
	to := f.node(m.to)
	if to == nil {
		return fmt.Errorf("%s: %w", m, errNotStarted)
	}
	req := &http.Request{Header: m.header}
	ctx, cancel, expired := api.IncomingContext(req.WithContext(context.Background()), to.cfg.Timeout)
	defer cancel()
	if expired {
		cctx, ccancel := context.WithCancel(context.Background())
		ccancel()
		m.run(cctx) // the replica sees a spent budget, as its HTTP handler would
		return nil
	}
	m.run(ctx)
	return nil
}

var errDropped = errors.New("fake network dropped the message")

// send routes m by the policy and waits for it (or for the sender's ctx).
func (f *fakeNet) send(ctx context.Context, m *message) error {
	req, _ := http.NewRequest(http.MethodGet, "http://fake/", nil)
	api.SetOutgoing(ctx, req, "")
	m.header, m.done = req.Header, make(chan struct{})
	f.mu.Lock()
	fa := deliver
	if f.policy != nil {
		fa = f.policy(m)
	}
	if fa == hold {
		f.held = append(f.held, m)
	}
	f.mu.Unlock()
	switch fa {
	case drop:
		return fmt.Errorf("%s: %w", m, errDropped)
	case hold:
		select {
		case <-m.done:
			return m.err
		case <-ctx.Done():
			// The sender gives up; the message stays in flight and may still
			// be delivered.
			return fmt.Errorf("%s: %w", m, ctx.Err())
		}
	}
	return f.deliverNow(m)
}

// fakeTransport is one node's end of the fake network.
type fakeTransport struct {
	net  *fakeNet
	from string
}

func (t *fakeTransport) Read(ctx context.Context, peer, key string, meta bool, rid string) Reply {
	var rep Reply
	var mu sync.Mutex
	m := &message{kind: "read", from: t.from, to: peer, key: key, run: func(ctx context.Context) {
		r := t.net.node(peer).ReplicaRead(ctx, key)
		mu.Lock()
		rep = r
		mu.Unlock()
	}}
	if err := t.net.send(ctx, m); err != nil {
		return Reply{Peer: peer, Err: err}
	}
	mu.Lock()
	defer mu.Unlock()
	return rep
}

func (t *fakeTransport) Write(ctx context.Context, peer, key string, rec storage.Record, hintFor, rid string) error {
	var werr error
	var mu sync.Mutex
	atMost, conditional := conditionFrom(ctx)
	m := &message{kind: "write", from: t.from, to: peer, key: key, run: func(ctx context.Context) {
		if conditional {
			ctx = withCondition(ctx, atMost) // as the HTTP transport's header does
		}
		_, err := t.net.node(peer).ReplicaWrite(ctx, key, rec, hintFor)
		mu.Lock()
		werr = err
		mu.Unlock()
	}}
	if err := t.net.send(ctx, m); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	return werr
}

func (t *fakeTransport) Snapshot(ctx context.Context, peer, forNode string) ([]KeyRecord, error) {
	var (
		recs []KeyRecord
		serr error
		mu   sync.Mutex
	)
	m := &message{kind: "snapshot", from: t.from, to: peer, run: func(ctx context.Context) {
		r, err := t.net.node(peer).ReplicaSnapshot(ctx, forNode)
		mu.Lock()
		recs, serr = r, err
		mu.Unlock()
	}}
	if err := t.net.send(ctx, m); err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	return recs, serr
}

// Policies.

// cut drops every message between a and b, both ways.
func cut(a, b string) policy {
	return func(m *message) fate {
		if (m.from == a && m.to == b) || (m.from == b && m.to == a) {
			return drop
		}
		return deliver
	}
}

// isolate drops every message to and from id.
func isolate(id string) policy {
	return func(m *message) fate {
		if m.from == id || m.to == id {
			return drop
		}
		return deliver
	}
}

// both applies a, then b when a delivers.
func both(a, b policy) policy {
	return func(m *message) fate {
		if f := a(m); f != deliver {
			return f
		}
		return b(m)
	}
}

// match holds (or drops) the messages of one kind to one node.
func match(kind, to string, f fate) policy {
	return func(m *message) fate {
		if m.kind == kind && m.to == to {
			return f
		}
		return deliver
	}
}

// historian records a client's operations through the nodes' client API
// (their real HTTP handlers) as a history for the project's checkers. Time is
// a logical counter: every invocation and completion takes the next tick, so
// the order of the test's steps is the order of the history.
type historian struct {
	mu    sync.Mutex
	clock int64
	ops   []slo.Op
}

func (h *historian) tick() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clock++
	return h.clock
}

func (h *historian) add(op slo.Op) {
	h.mu.Lock()
	defer h.mu.Unlock()
	op.ID = uint64(len(h.ops) + 1)
	h.ops = append(h.ops, op)
}

// do sends one client request to n's handler with the caller's budget and
// records it, classifying the answer as the workload does: 2xx and 404 are
// definite; 503, 429 and other 4xx mean the request had no effect; 500 and
// 504 on a write mean its outcome is unknown.
func (h *historian) do(ctx context.Context, n *Node, method, key, value string) (int, string) {
	return h.deliver(n, h.prepare(ctx, method, key, value))
}

type clientRequest struct {
	method, key, value string
	header             http.Header
	invoke             int64
}

func (h *historian) prepare(ctx context.Context, method, key, value string) clientRequest {
	req, _ := http.NewRequest(method, "http://fake/", nil)
	api.SetOutgoing(ctx, req, "")
	return clientRequest{method: method, key: key, value: value, header: req.Header, invoke: h.tick()}
}

func (h *historian) deliver(n *Node, cr clientRequest) (int, string) {
	var body io.Reader
	if cr.method == http.MethodPut {
		body = strings.NewReader(cr.value)
	}
	r := httptest.NewRequest(cr.method, api.KVPrefix+cr.key, body)
	for k, v := range cr.header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	n.Handler().ServeHTTP(w, r)
	code, got := w.Code, w.Body.String()
	op := slo.Op{Key: cr.key, Invoke: cr.invoke, Complete: h.tick(), Client: 0}
	switch cr.method {
	case http.MethodPut:
		v := cr.value
		op.Kind, op.Value = slo.OpPut, &v
		op.Outcome = writeOutcome(code)
	case http.MethodGet:
		op.Kind = slo.OpGet
		switch code {
		case http.StatusOK:
			v := got
			op.Value, op.Outcome = &v, slo.OutcomeOK
		case http.StatusNotFound:
			op.Outcome = slo.OutcomeOK
		default:
			op.Outcome = slo.OutcomeUnknown
		}
	}
	h.add(op)
	return code, got
}

func writeOutcome(code int) slo.Outcome {
	switch {
	case code == http.StatusNoContent:
		return slo.OutcomeOK
	case api.NoEffect(code) || code < 500:
		return slo.OutcomeFail
	default:
		return slo.OutcomeUnknown
	}
}

// linearizable checks the history with the project's checker.
func (h *historian) linearizable(t *testing.T) slo.LinearizabilityResult {
	t.Helper()
	h.mu.Lock()
	ops := append([]slo.Op(nil), h.ops...)
	h.mu.Unlock()
	return slo.CheckLinearizable(ops, 10*time.Second)
}

func (h *historian) dump() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	for _, op := range h.ops {
		v := "nil"
		if op.Value != nil {
			v = *op.Value
		}
		fmt.Fprintf(&b, "  [%d,%d] %s %s %s -> %s\n", op.Invoke, op.Complete, op.Kind, op.Key, v, op.Outcome)
	}
	return b.String()
}

// threeNodes is the quickstart's cluster: 3 nodes, n=3 w=2 r=2, linearizable.
func threeNodes(recovery string) Config {
	return Config{
		Nodes: []string{"n1", "n2", "n3"}, VNodes: 8, N: 3, W: 2, R: 2,
		Consistency: Linearizable, Timeout: time.Second, Recovery: recovery,
		ResyncRetry: 5 * time.Millisecond,
	}
}
