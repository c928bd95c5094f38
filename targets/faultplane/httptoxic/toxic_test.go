package httptoxic

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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

	"github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/chaosctl/chaosctl/internal/testkit"
)

// rig is a real net/http backend behind a real toxiproxy server, both on
// loopback, with a keep-alive client.
type rig struct {
	t       testing.TB
	backend *httptest.Server
	api     *toxiclient.Client
	proxy   *toxiclient.Proxy
	client  *http.Client

	mu    sync.Mutex
	seen  []string // "METHOD path" the backend answered, in order
	conns atomic.Int64
}

func newRig(t testing.TB) *rig {
	Register()
	r := &rig{t: t}
	r.backend = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.backend.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.conns.Add(1)
		}
	}
	r.backend.Start()
	t.Cleanup(r.backend.Close)
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	api := httptest.NewServer(srv.Routes())
	t.Cleanup(func() { _ = srv.Collection.Clear(); api.Close() })
	r.api = toxiclient.NewClient(api.URL)
	px, err := r.api.CreateProxy("web", "127.0.0.1:0", r.backend.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r.proxy = px
	r.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
	t.Cleanup(r.client.CloseIdleConnections)
	return r
}

// serve answers "ok METHOD PATH sha256(body)"; /chunked streams its answer
// in chunks; /slow-body sends a long body.
func (r *rig) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	sum := sha256.Sum256(body)
	r.mu.Lock()
	r.seen = append(r.seen, req.Method+" "+req.URL.Path)
	r.mu.Unlock()
	switch req.URL.Path {
	case "/chunked":
		for i := range 5 {
			fmt.Fprintf(w, "chunk %d of %s;", i, hex.EncodeToString(sum[:]))
			w.(http.Flusher).Flush()
		}
	case "/big":
		w.Header().Set("Content-Length", "200000")
		_, _ = w.Write(bytes.Repeat([]byte("x"), 200000))
	default:
		fmt.Fprintf(w, "ok %s %s %s", req.Method, req.URL.Path, hex.EncodeToString(sum[:]))
	}
}

// expectConns checks the backend saw want connections (why says what
// that shows).
func (r *rig) expectConns(want int64, why ...string) {
	r.t.Helper()
	if c := r.conns.Load(); c != want {
		r.t.Errorf("the backend saw %d connections, want %d %v", c, want, why)
	}
}

func (r *rig) url(path string) string { return "http://" + r.proxy.Listen + path }

func (r *rig) seenCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

func (r *rig) add(name string, rule Rule) {
	r.t.Helper()
	rule.Pair, rule.Fault = name+"-pair", name
	for _, role := range []string{RoleRequest, RoleResponse} {
		rule.Role = role
		stream := "upstream"
		if role == RoleResponse {
			stream = "downstream"
		}
		if _, err := r.proxy.AddToxic(name+"-"+stream, Type, stream, 1, toAttrs(r.t, rule)); err != nil {
			r.t.Fatalf("add toxic: %v", err)
		}
	}
}

func (r *rig) remove(name string) {
	r.t.Helper()
	for _, s := range []string{"downstream", "upstream"} {
		if err := r.proxy.RemoveToxic(name + "-" + s); err != nil {
			r.t.Fatalf("remove toxic: %v", err)
		}
	}
}

func (r *rig) counts(name string) Counts {
	r.t.Helper()
	px, err := r.api.Proxy("web")
	if err != nil {
		r.t.Fatal(err)
	}
	for _, tx := range px.ActiveToxics {
		if tx.Name == name+"-upstream" {
			var c Counts
			b, _ := jsonMarshal(tx.Attributes)
			if err := jsonUnmarshal(b, &c); err != nil {
				r.t.Fatal(err)
			}
			return c
		}
	}
	r.t.Fatalf("no toxic %s", name)
	return Counts{}
}

type result struct {
	status int
	body   string
	err    error
	fault  string
}

func (r *rig) do(method, path string, body io.Reader, hdr ...string) result {
	req, err := http.NewRequest(method, r.url(path), body)
	if err != nil {
		r.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, body: string(b), err: err, fault: resp.Header.Get("X-Chaosctl-Fault")}
}

func TestAbortMatchesRequestsOneByOneOnAKeepAliveConnection(t *testing.T) {
	r := newRig(t)
	rule := Rule{Action: ActionAbort, Status: 503, Method: "GET", PathPrefix: "/a", Percent: 0.3, Seed: 7}
	r.add("abort", rule)
	var n int64
	wantAborted := 0
	for i := range 60 {
		path := "/b"
		if i%2 == 0 {
			path = "/a/x"
		}
		res := r.do("GET", path, nil)
		if res.err != nil {
			t.Fatalf("request %d: %v", i, res.err)
		}
		if path == "/b" {
			if res.status != 200 || !strings.HasPrefix(res.body, "ok GET /b") {
				t.Fatalf("request %d to /b: %d %q", i, res.status, res.body)
			}
			continue
		}
		aborted := rule.Acts(n)
		n++
		if aborted {
			wantAborted++
			if res.status != 503 || res.fault != "abort" || !strings.Contains(res.body, "fault abort answered 503") {
				t.Fatalf("request %d (match %d) should be aborted: %d %q", i, n-1, res.status, res.body)
			}
		} else if res.status != 200 {
			t.Fatalf("request %d (match %d) should pass: %d %q", i, n-1, res.status, res.body)
		}
	}
	if wantAborted == 0 || wantAborted == 30 {
		t.Fatalf("seed 7 aborts %d of 30: pick a seed that tells", wantAborted)
	}
	if got := r.seenCount(); got != 60-wantAborted {
		t.Errorf("the backend answered %d requests, want %d (aborted ones never reach it)", got, 60-wantAborted)
	}
	r.expectConns(1, "every request on one keep-alive connection")
	c := r.counts("abort")
	if c.Matched != 30 || c.Aborted != int64(wantAborted) || c.Requests != 60 {
		t.Errorf("counts %+v, want 60 requests, 30 matched, %d aborted", c, wantAborted)
	}
}

func TestAConnectionOpenBeforeTheFaultIsMigrated(t *testing.T) {
	r := newRig(t)
	if res := r.do("GET", "/a", nil); res.status != 200 {
		t.Fatalf("before the fault: %+v", res)
	}
	r.add("abort", Rule{Action: ActionAbort, Status: 500, FirstN: 2})
	// The open connection's next request goes through with Connection:
	// close; the client then reconnects through the fault.
	if res := r.do("GET", "/a", nil); res.status != 200 {
		t.Fatalf("first request after the fault: %+v", res)
	}
	var got []int
	for range 4 {
		res := r.do("GET", "/a", nil)
		if res.err != nil {
			t.Fatal(res.err)
		}
		got = append(got, res.status)
	}
	if fmt.Sprint(got) != "[500 500 200 200]" {
		t.Errorf("statuses %v, want the first 2 aborted", got)
	}
	r.expectConns(2)
	if c := r.counts("abort"); c.Migrated != 1 || c.Aborted != 2 {
		t.Errorf("counts %+v", c)
	}
}

func TestBodiesPassThroughUntouched(t *testing.T) {
	r := newRig(t)
	r.add("delay", Rule{Action: ActionDelay, Latency: 1, Percent: 1, PathPrefix: "/up"})
	payload := bytes.Repeat([]byte("0123456789abcdef"), 20000)
	sum := sha256.Sum256(payload)
	want := hex.EncodeToString(sum[:])
	echoed := func(res result) bool { return res.err == nil && res.body == "ok POST /up "+want }
	checks := []struct {
		what string
		send func() result
		ok   func(result) bool
	}{
		{"Content-Length request body", func() result { return r.do("POST", "/up", bytes.NewReader(payload)) }, echoed},
		// The client does not know the length: it sends the body chunked.
		{"chunked request body", func() result { return r.do("POST", "/up", io.MultiReader(bytes.NewReader(payload))) }, echoed},
		{"chunked response", func() result { return r.do("POST", "/chunked", bytes.NewReader(payload)) },
			func(res result) bool { return res.err == nil && strings.Count(res.body, want) == 5 }},
		{"big response", func() result { return r.do("GET", "/big", nil) },
			func(res result) bool { return res.err == nil && res.body == strings.Repeat("x", 200000) }},
		{"HEAD", func() result { return r.do("HEAD", "/big", nil) },
			func(res result) bool { return res.err == nil && res.status == 200 && res.body == "" }},
	}
	for i := range 3 {
		for _, c := range checks {
			if res := c.send(); !c.ok(res) {
				t.Fatalf("%d: %s: %d, %d bytes, %v", i, c.what, res.status, len(res.body), res.err)
			}
		}
	}
	r.expectConns(1)
	if c := r.counts("delay"); c.Delayed != 6 || c.Requests != 15 {
		t.Errorf("counts %+v, want 6 delayed of 15", c)
	}
}

func TestDelayHoldsOnlyMatchingRequests(t *testing.T) {
	r := newRig(t)
	const latency = 150 * time.Millisecond
	r.add("slow", Rule{Action: ActionDelay, Latency: latency.Milliseconds(), Percent: 1, Headers: map[string]string{"X-Tenant": "slow"}})
	for range 3 {
		t0 := time.Now()
		if res := r.do("GET", "/", nil, "X-Tenant", "slow"); res.status != 200 {
			t.Fatalf("%+v", res)
		}
		if took := time.Since(t0); took < latency {
			t.Errorf("a matching request took %s, want at least %s", took, latency)
		}
		if res := r.do("GET", "/", nil, "X-Tenant", "fast"); res.status != 200 {
			t.Fatalf("%+v", res)
		}
	}
	if c := r.counts("slow"); c.Delayed != 3 || c.Matched != 3 || c.Requests != 6 {
		t.Errorf("counts %+v", c)
	}
}

func TestDropClosesTheConnectionMidResponse(t *testing.T) {
	r := newRig(t)
	r.add("drop", Rule{Action: ActionDrop, FirstN: 2, PathPrefix: "/big"})
	for i := range 2 {
		res := r.do("GET", "/big", nil)
		if res.err == nil {
			t.Fatalf("drop %d: the client read a whole response: %d, %d bytes", i, res.status, len(res.body))
		}
		if res.status != 200 {
			t.Fatalf("drop %d: want the head (200) then a cut body, got %+v", i, res)
		}
	}
	if res := r.do("GET", "/big", nil); res.err != nil || len(res.body) != 200000 {
		t.Fatalf("after firstN: %v", res.err)
	}
	if c := r.counts("drop"); c.Dropped != 2 {
		t.Errorf("counts %+v", c)
	}
}

func TestRemovingTheToxicLeavesConnectionsWorking(t *testing.T) {
	r := newRig(t)
	r.add("abort", Rule{Action: ActionAbort, Status: 503, Percent: 1, PathPrefix: "/a"})
	if res := r.do("GET", "/a", nil); res.status != 503 {
		t.Fatalf("%+v", res)
	}
	if res := r.do("GET", "/b", nil); res.status != 200 {
		t.Fatalf("%+v", res)
	}
	r.remove("abort")
	for range 3 {
		if res := r.do("GET", "/a", nil); res.status != 200 {
			t.Fatalf("after the removal: %+v", res)
		}
	}
	r.expectConns(1, "the removal keeps the connection")
}

func TestConcurrentConnectionsArePairedRight(t *testing.T) {
	r := newRig(t)
	rule := Rule{Action: ActionAbort, Status: 503, PathPrefix: "/a", Percent: 0.5, Seed: 3}
	r.add("abort", rule)
	var wg sync.WaitGroup
	var bad atomic.Int64
	var aborted atomic.Int64
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1}}
			defer c.CloseIdleConnections()
			for i := range 25 {
				path := fmt.Sprintf("/a/%d/%d", w, i)
				if i%3 == 0 {
					path = fmt.Sprintf("/b/%d/%d", w, i)
				}
				resp, err := c.Get(r.url(path))
				if err != nil {
					bad.Add(1)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == 503 && strings.HasPrefix(path, "/a"):
					aborted.Add(1)
				case resp.StatusCode == 200 && strings.HasPrefix(string(b), "ok GET "+path+" "):
				default:
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d requests got a wrong answer (another connection's, or none)", bad.Load())
	}
	c := r.counts("abort")
	if c.Aborted != aborted.Load() || c.Matched != 8*16 {
		t.Errorf("counts %+v, clients saw %d aborted", c, aborted.Load())
	}
	testkit.Eventually(t, 5*time.Second, "the backend answers the passed requests", func() bool {
		return r.seenCount() == 8*25-int(aborted.Load())
	})
}
