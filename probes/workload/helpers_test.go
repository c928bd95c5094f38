package workload

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// kvServer is an in-memory implementation of the demo cluster's KV API on
// 127.0.0.1:0 that records what it receives.
type kvServer struct {
	*httptest.Server

	mu       sync.Mutex
	data     map[string][]byte
	requests []recordedRequest

	// before, when set, runs first and may answer the request itself (returns
	// true) or delay it.
	before func(w http.ResponseWriter, r *http.Request) bool
}

type recordedRequest struct {
	method, key, requestID, timeout string
	body                            []byte
}

func newKVServer(t testing.TB, before func(w http.ResponseWriter, r *http.Request) bool) *kvServer {
	t.Helper()
	s := &kvServer{data: make(map[string][]byte), before: before}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *kvServer) serve(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutPrefix(r.URL.Path, "/kv/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, recordedRequest{method: r.Method, key: key, body: body,
		requestID: r.Header.Get("X-Request-Id"), timeout: r.Header.Get("X-Request-Timeout")})
	s.mu.Unlock()
	if s.before != nil && s.before(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		v, ok := s.data[key]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_, _ = w.Write(v)
	case http.MethodPut:
		s.data[key] = body
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		delete(s.data, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (s *kvServer) recorded() []recordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recordedRequest(nil), s.requests...)
}

// statusServer answers every request with code.
func statusServer(code int) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, _ *http.Request) bool {
		w.WriteHeader(code)
		return true
	}
}

// hangServer holds every request until its client goes away.
func hangServer(w http.ResponseWriter, r *http.Request) bool {
	<-r.Context().Done()
	return true
}

// refusedURL returns the URL of a port on 127.0.0.1 that nothing listens on.
func refusedURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("close listener: %v", err)
	}
	return "http://" + addr
}

// serverURL is refusedURL when refused, else the URL of a new kvServer
// that calls before first.
func serverURL(t testing.TB, refused bool, before func(w http.ResponseWriter, r *http.Request) bool) string {
	t.Helper()
	if refused {
		return refusedURL(t)
	}
	return newKVServer(t, before).URL
}

func newTestDriver(t testing.TB, maxInFlight int, urls ...string) *KVDriver {
	t.Helper()
	d, err := NewKVDriver(urls, NewHTTPClient(maxInFlight))
	if err != nil {
		t.Fatalf("NewKVDriver: %v", err)
	}
	return d
}

// runWorkload runs cfg with a seeded source under a test deadline.
func runWorkload(t testing.TB, cfg Config, d Driver, seed uint64) (*Summary, error) {
	t.Helper()
	w, err := New(cfg, d, rand.New(rand.NewPCG(seed, 0)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return w.Run(ctx)
}

// readHistoryOps parses a history buffer.
func readHistoryOps(t testing.TB, b []byte) []HistoryOp {
	t.Helper()
	var ops []HistoryOp
	if err := ReadHistory(bytes.NewReader(b), func(op HistoryOp) error {
		ops = append(ops, op)
		return nil
	}); err != nil {
		t.Fatalf("ReadHistory: %v", err)
	}
	return ops
}
