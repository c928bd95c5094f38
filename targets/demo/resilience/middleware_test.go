package resilience

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/internal/demotest"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// serve runs handler behind Middleware on a real listener.
func serve(t *testing.T, cfg MiddlewareConfig, m *metrics.Member, log *logrus.Entry, handler http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(Middleware(cfg, m, log, handler))
	t.Cleanup(srv.Close)
	return srv
}

func doRequest(t *testing.T, method, url string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

func TestMiddlewareLogsAndCountsEveryRequest(t *testing.T) {
	m := metrics.New("g1")
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	var sawID string
	srv := serve(t, MiddlewareConfig{Timeout: time.Second}, m, logrus.NewEntry(logger),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sawID = RequestIDFrom(r.Context())
			if _, ok := r.Context().Deadline(); !ok {
				t.Error("handler context has no deadline")
			}
			w.WriteHeader(http.StatusNoContent)
		}))
	resp := doRequest(t, http.MethodPut, srv.URL+"/kv/k1", map[string]string{api.HeaderRequestID: "req-7"})
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get(api.HeaderRequestID) != "req-7" || sawID != "req-7" {
		t.Fatalf("status %d, answer id %q, handler id %q; want 204, req-7, req-7", resp.StatusCode, resp.Header.Get(api.HeaderRequestID), sawID)
	}
	resp = doRequest(t, http.MethodGet, srv.URL+"/kv/k2", nil)
	if id := resp.Header.Get(api.HeaderRequestID); id == "" || id != sawID {
		t.Fatalf("made-up request id: answer %q, handler %q; want equal, non-empty", id, sawID)
	}

	entries := hook.AllEntries()
	if len(entries) != 2 {
		t.Fatalf("%d log lines, want one per request (2)", len(entries))
	}
	want := logrus.Fields{"member": "g1", "request_id": "req-7", "op": "put", "key": "k1", "code": 204}
	for k, v := range want {
		if got := entries[0].Data[k]; got != v {
			t.Errorf("log field %s = %v, want %v", k, got, v)
		}
	}
	if _, ok := entries[0].Data["duration"].(time.Duration); !ok {
		t.Errorf("log field duration = %v, want a time.Duration", entries[0].Data["duration"])
	}
	for i, e := range entries {
		if e.Level != logrus.DebugLevel {
			t.Errorf("line %d of a fast, healthy request at level %s, want debug", i, e.Level)
		}
	}
	if v := demotest.Value(t, m.Requests.WithLabelValues("g1", "put", "204")); v != 1 {
		t.Fatalf("requests_total{put,204} = %v, want 1", v)
	}
}

// Failed, refused and slow requests are logged at info level; the rest only
// at debug level, so an info log holds what went wrong and nothing else.
func TestMiddlewareLogsTroubleAtInfo(t *testing.T) {
	m := metrics.New("n1")
	logger, hook := logtest.NewNullLogger() // info level
	srv := serve(t, MiddlewareConfig{SlowRequest: 30 * time.Millisecond}, m, logrus.NewEntry(logger),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/kv/ok":
				w.WriteHeader(http.StatusOK)
			case "/kv/missing":
				api.Error(w, http.StatusNotFound, "not found")
			case "/kv/broken":
				api.Error(w, http.StatusServiceUnavailable, "store unavailable")
			case "/kv/limited":
				api.Error(w, http.StatusTooManyRequests, "rate limited")
			case "/kv/slow":
				time.Sleep(40 * time.Millisecond) // the duration under test, not a synchronisation
				w.WriteHeader(http.StatusOK)
			}
		}))
	for _, k := range []string{"ok", "missing", "broken", "limited", "slow"} {
		doRequest(t, http.MethodGet, srv.URL+"/kv/"+k, nil)
	}
	var got []string
	for _, e := range hook.AllEntries() {
		if e.Level != logrus.InfoLevel {
			t.Errorf("line for %v at level %s with the logger at info", e.Data["key"], e.Level)
		}
		got = append(got, fmt.Sprint(e.Data["key"]))
	}
	if want := "broken limited slow"; strings.Join(got, " ") != want {
		t.Fatalf("info lines for keys %q, want %q", strings.Join(got, " "), want)
	}
	if v := demotest.Value(t, m.Requests.WithLabelValues("n1", "get", "200")); v != 2 {
		t.Fatalf("requests_total{get,200} = %v, want 2: every request is counted, logged or not", v)
	}
}

// A burst beyond MaxInflight is shed at once while the admitted requests run.
func TestMiddlewareShedsBurst(t *testing.T) {
	m := metrics.New("n1")
	const limit, burst = 5, 20
	gate := make(chan struct{})
	shedder := NewShedder(limit, m)
	logger, hook := logtest.NewNullLogger() // info level
	srv := serve(t, MiddlewareConfig{Shedder: shedder}, m, logrus.NewEntry(logger), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		<-gate
		w.WriteHeader(http.StatusOK)
	}))
	codes := make(chan int, burst)
	var wg sync.WaitGroup
	for range burst {
		wg.Go(func() { codes <- doRequest(t, http.MethodGet, srv.URL+"/kv/k", nil).StatusCode })
	}
	// The shed requests answer while the admitted ones are still held.
	shed := 0
	for shed < burst-limit {
		select {
		case c := <-codes:
			if c != http.StatusServiceUnavailable {
				t.Fatalf("answer %d before the gate opened, want only 503s", c)
			}
			shed++
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d requests shed, want %d", shed, burst-limit)
		}
	}
	if n := shedder.Inflight(); n != limit {
		t.Fatalf("in flight %d, want %d", n, limit)
	}
	if v := demotest.Value(t, m.Inflight); v != limit {
		t.Fatalf("inflight_requests = %v, want %d", v, limit)
	}
	close(gate)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Fatalf("admitted request answered %d, want 200", c)
		}
	}
	if v := demotest.Value(t, m.Shed); v != burst-limit {
		t.Fatalf("shed_total = %v, want %d", v, burst-limit)
	}
	testkit.Eventually(t, 5*time.Second, "inflight back to 0", func() bool { return demotest.Value(t, m.Inflight) == 0 })
	if v := demotest.Value(t, m.Requests.WithLabelValues("n1", "get", "503")); v != burst-limit {
		t.Fatalf("requests_total{get,503} = %v, want %d", v, burst-limit)
	}
	// A flood of refusals is one info line, not one each (the burst is
	// refused well within refusalEvery).
	entries := hook.AllEntries()
	if len(entries) != 1 || entries[0].Data["refused"] != 1 || entries[0].Data["error"] != "overloaded: load shed" {
		var lines []string
		for _, e := range entries {
			lines = append(lines, fmt.Sprintf("%s %v", e.Message, e.Data))
		}
		t.Fatalf("info lines for %d shed requests:\n%s\nwant one, refused=1, error=overloaded: load shed", burst-limit, strings.Join(lines, "\n"))
	}
}

// The refusal log's lines come at most once a refusalEvery, each with the
// refusals since the last.
func TestRefusalLogSpacesItsLines(t *testing.T) {
	l := newRefusalLog()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		at    time.Duration
		count int
		due   bool
	}{
		{0, 1, true},
		{100 * time.Millisecond, 0, false},
		{500 * time.Millisecond, 0, false},
		{refusalEvery - time.Nanosecond, 0, false},
		{refusalEvery, 4, true},
		{3 * refusalEvery, 1, true},
	}
	for _, s := range steps {
		if n, due := l.note(t0.Add(s.at)); n != s.count || due != s.due {
			t.Fatalf("note at +%s = %d, %v; want %d, %v", s.at, n, due, s.count, s.due)
		}
	}
}

func TestMiddlewareRateLimit(t *testing.T) {
	m := metrics.New("g1")
	// One token a second, three saved: a quick series of 10 gets 3 (rarely 4).
	srv := serve(t, MiddlewareConfig{Limiter: NewRateLimiter(1, 3, m)}, m, nil, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	ok, limited := 0, 0
	for range 10 {
		resp := doRequest(t, http.MethodGet, srv.URL+"/kv/k", nil)
		switch resp.StatusCode {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
			if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
				t.Fatalf("Retry-After %q, want a positive number of seconds", resp.Header.Get("Retry-After"))
			}
		default:
			t.Fatalf("status %d, want 200 or 429", resp.StatusCode)
		}
	}
	if ok < 3 || ok > 4 {
		t.Fatalf("%d requests allowed, want 3 (burst) or 4", ok)
	}
	if v := demotest.Value(t, m.RateLimited); v != float64(limited) {
		t.Fatalf("rate_limited_total = %v, want %d", v, limited)
	}
}

func TestMiddlewareRefusesSpentBudget(t *testing.T) {
	tests := []struct {
		name       string
		budget     string
		wantCode   int
		wantCalled bool
	}{
		{"zero budget", "0s", http.StatusGatewayTimeout, false},
		{"negative budget", "-5ms", http.StatusGatewayTimeout, false},
		{"budget left", "1s", http.StatusOK, true},
		{"unparsable budget uses the default", "soon", http.StatusOK, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := metrics.New("n1")
			var called atomic.Bool
			srv := serve(t, MiddlewareConfig{Timeout: time.Second}, m, nil, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				called.Store(true)
				w.WriteHeader(http.StatusOK)
			}))
			resp := doRequest(t, http.MethodGet, srv.URL+"/kv/k", map[string]string{api.HeaderTimeout: tt.budget})
			if resp.StatusCode != tt.wantCode || called.Load() != tt.wantCalled {
				t.Fatalf("status %d, handler called %v; want %d, %v", resp.StatusCode, called.Load(), tt.wantCode, tt.wantCalled)
			}
			wantDropped := 0.0
			if !tt.wantCalled {
				wantDropped = 1
			}
			if v := demotest.Value(t, m.DeadlineDropped.WithLabelValues("admit")); v != wantDropped {
				t.Fatalf("deadline_dropped_total{admit} = %v, want %v", v, wantDropped)
			}
		})
	}
}

// The budget a client states shrinks on every hop by the time spent upstream,
// and the request id follows the request.
func TestDeadlinePropagatesHopByHop(t *testing.T) {
	type seen struct {
		header string
		left   time.Duration
		id     string
	}
	got := make(chan seen, 1)
	back := serve(t, MiddlewareConfig{}, metrics.New("n2"), nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dl, ok := r.Context().Deadline()
		if !ok {
			t.Error("second hop has no deadline")
		}
		got <- seen{header: r.Header.Get(api.HeaderTimeout), left: time.Until(dl), id: RequestIDFrom(r.Context())}
		w.WriteHeader(http.StatusOK)
	}))
	const work = 20 * time.Millisecond
	front := serve(t, MiddlewareConfig{Timeout: 5 * time.Second}, metrics.New("g1"), nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		time.Sleep(work) // the work this hop does before calling the next
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, back.URL+"/kv/k", nil)
		if err != nil {
			t.Error(err)
			return
		}
		api.SetOutgoing(ctx, req, RequestIDFrom(ctx))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		_ = resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	}))

	const budget = 300 * time.Millisecond
	resp := doRequest(t, http.MethodGet, front.URL+"/kv/k", map[string]string{api.HeaderTimeout: budget.String(), api.HeaderRequestID: "trail-1"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	s := <-got
	hdr, err := time.ParseDuration(s.header)
	if err != nil {
		t.Fatalf("second hop's X-Request-Timeout %q: %v", s.header, err)
	}
	if hdr <= 0 || hdr > budget-work {
		t.Fatalf("second hop's budget %s, want within (0, %s]: the client's %s less the first hop's work", hdr, budget-work, budget)
	}
	if s.left > hdr {
		t.Fatalf("second hop's deadline is %s away, beyond its stated budget %s", s.left, hdr)
	}
	if s.id != "trail-1" {
		t.Fatalf("second hop's request id %q, want trail-1", s.id)
	}
}

func TestRequestIDContext(t *testing.T) {
	if id := RequestIDFrom(context.Background()); id != "" {
		t.Fatalf("RequestIDFrom(empty) = %q, want empty", id)
	}
	if id := RequestIDFrom(WithRequestID(context.Background(), "x")); id != "x" {
		t.Fatalf("RequestIDFrom = %q, want x", id)
	}
}
