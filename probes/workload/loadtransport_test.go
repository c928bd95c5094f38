package workload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
)

// countingServer is an httptest server that counts the connections it accepts.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// answers covers the framings an answer can have.
func answers(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	switch r.URL.Path {
	case "/empty":
		w.WriteHeader(http.StatusNoContent)
	case "/length":
		w.Header().Set("Content-Length", "5")
		_, _ = io.WriteString(w, "hello")
	case "/chunked":
		for i := range 3 {
			fmt.Fprintf(w, "part%d;", i)
			http.NewResponseController(w).Flush()
		}
	case "/large":
		_, _ = io.WriteString(w, strings.Repeat("x", 100<<10))
	case "/early-hints":
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		_, _ = io.WriteString(w, "after hints")
	case "/close":
		w.Header().Set("Connection", "close")
		_, _ = io.WriteString(w, "bye")
	case "/missing":
		http.NotFound(w, r)
	default:
		_, _ = io.WriteString(w, r.Method+" "+r.Header.Get("X-Test"))
	}
}

// TestLoadTransportAnswersAsHTTPTransport: every framing, method and status
// reads the same through loadTransport as through http.Transport, and
// connections are kept alive exactly when the answer allows.
func TestLoadTransportAnswersAsHTTPTransport(t *testing.T) {
	t.Parallel()
	srv, conns := countingServer(t, answers)
	load := NewHTTPClient(4)
	if _, ok := load.Transport.(*loadTransport); !ok {
		t.Fatalf("NewHTTPClient's transport is %T, want *loadTransport", load.Transport)
	}
	std := &http.Client{Transport: &http.Transport{DisableCompression: true}, CheckRedirect: refuseRedirects}
	type answer struct {
		code int
		body string
		hdr  string
	}
	do := func(c *http.Client, method, path string) answer {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader("body"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Test", "t")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: read: %v", method, path, err)
		}
		return answer{resp.StatusCode, string(b), resp.Header.Get("Link")}
	}
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodHead, http.MethodDelete} {
		for _, path := range []string{"/empty", "/length", "/chunked", "/large", "/early-hints", "/missing", "/echo"} {
			want := do(std, method, path)
			before := conns.Load()
			got := do(load, method, path)
			if got != want {
				t.Errorf("%s %s: got %+v, want %+v", method, path, got, want)
			}
			// Kept alive: the warm connection served it, no new one.
			if n := conns.Load() - before; n != 0 && before > 1 {
				t.Errorf("%s %s: %d new connections, want the kept-alive one", method, path, n)
			}
		}
	}
	// "Connection: close" is honoured: the next request dials.
	do(load, http.MethodGet, "/close")
	before := conns.Load()
	do(load, http.MethodGet, "/echo")
	if n := conns.Load() - before; n != 1 {
		t.Errorf("after Connection: close, %d new connections, want 1", n)
	}
	// A body closed unread closes its connection rather than reuse it dirty.
	resp, err := load.Get(srv.URL + "/large")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := do(load, http.MethodGet, "/echo"); got.body != "GET t" {
		t.Errorf("after an unread body: %+v", got)
	}
}

// TestLoadTransportNoticesClosedIdleConnections: a server that closed its
// idle connections (a restart, an idle timeout) costs no request, also not a
// PUT, which may not be retried.
func TestLoadTransportNoticesClosedIdleConnections(t *testing.T) {
	t.Parallel()
	var closed atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(answers))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := NewHTTPClient(4)
	for i := range 5 {
		req, err := http.NewRequest(http.MethodPut, srv.URL+"/empty", strings.NewReader("v"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("put %d after the server closed its connections: %v", i, err)
		}
		resp.Body.Close()
		want := closed.Load() + 1
		srv.CloseClientConnections()
		testkit.Eventually(t, 5*time.Second, "the server closes its connections", func() bool { return closed.Load() >= want })
	}
}

// TestLoadTransportRetriesOnlyWhatNetHTTPRetries: a kept-alive connection
// that the server drops after reading a request: a GET is sent again on a new
// connection, a PUT fails (it may have been applied), as with http.Transport.
func TestLoadTransportRetriesOnlyWhatNetHTTPRetries(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	dropped := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Id")
		mu.Lock()
		drop := id != "" && !dropped[id]
		dropped[id] = true
		mu.Unlock()
		if drop {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		client *http.Client
		name   string
	}{
		{NewHTTPClient(4), "loadTransport"},
		{&http.Client{Transport: &http.Transport{}}, "http.Transport"},
	} {
		send := func(method, id string) error {
			req, err := http.NewRequest(method, srv.URL+"/", strings.NewReader("v"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Id", id)
			resp, err := tc.client.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			return err
		}
		if err := send(http.MethodGet, ""); err != nil { // warm a connection
			t.Fatalf("%s: warm-up: %v", tc.name, err)
		}
		if err := send(http.MethodGet, tc.name+"get"); err != nil {
			t.Errorf("%s: GET on a dropped kept-alive connection: %v, want it retried", tc.name, err)
		}
		if err := send(http.MethodPut, tc.name+"put"); err == nil {
			t.Errorf("%s: PUT on a dropped kept-alive connection succeeded, want an error", tc.name)
		}
	}
}

// TestLoadTransportEndsWithTheContext: a done context ends a request that
// waits for its answer at once, with the context's error.
func TestLoadTransportEndsWithTheContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	c := NewHTTPClient(4)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/", nil)
		if err != nil {
			errc <- err
			return
		}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled request: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled request did not return within 5 s")
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer dcancel()
	req, err := http.NewRequestWithContext(dctx, http.MethodGet, srv.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Errorf("request past its deadline: %v after %s, want context.DeadlineExceeded soon after 50ms", err, time.Since(start))
	}
}

// TestLoadTransportHandsHTTPSToHTTPTransport: other schemes use the fallback.
func TestLoadTransportHandsHTTPSToHTTPTransport(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(answers))
	t.Cleanup(srv.Close)
	c := NewHTTPClient(4)
	lt := c.Transport.(*loadTransport)
	lt.fallback.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
	resp, err := c.Get(srv.URL + "/length")
	if err != nil {
		t.Fatalf("https: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "hello" || resp.TLS == nil {
		t.Errorf("https answer %q (TLS %v), want hello over TLS", b, resp.TLS != nil)
	}
}
