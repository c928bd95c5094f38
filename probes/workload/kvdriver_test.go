package workload

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestKVDriverOutcomes(t *testing.T) {
	t.Parallel()
	// closeConn answers nothing: it closes the connection after reading the
	// request, as a crashing server would.
	closeConn := func(w http.ResponseWriter, _ *http.Request) bool {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return true
	}
	stored := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte("v-1-2-xx"))
			return true
		}
		return false
	}
	tests := []struct {
		name    string
		kind    OpKind
		before  func(http.ResponseWriter, *http.Request) bool
		refused bool
		want    Result // Err is only checked for nil-ness
	}{
		{"get 200", OpGet, stored, false, Result{Outcome: OutcomeOK, Code: 200, Found: true, Value: []byte("v-1-2-xx")}},
		{"get 404", OpGet, nil, false, Result{Outcome: OutcomeOK, Code: 404}},
		{"get 503", OpGet, statusServer(503), false, Result{Outcome: OutcomeFail, Class: ClassServerError, Code: 503}},
		{"get 504", OpGet, statusServer(504), false, Result{Outcome: OutcomeFail, Class: ClassServerError, Code: 504}},
		{"get 429", OpGet, statusServer(429), false, Result{Outcome: OutcomeFail, Class: ClassRateLimited, Code: 429}},
		{"get timeout", OpGet, hangServer, false, Result{Outcome: OutcomeFail, Class: ClassTimeout}},
		{"get refused", OpGet, nil, true, Result{Outcome: OutcomeFail, Class: ClassTransport}},
		{"get connection closed", OpGet, closeConn, false, Result{Outcome: OutcomeFail, Class: ClassTransport}},
		{"put 204", OpPut, nil, false, Result{Outcome: OutcomeOK, Code: 204}},
		{"put 200", OpPut, statusServer(200), false, Result{Outcome: OutcomeOK, Code: 200}},
		{"put 503 had no effect", OpPut, statusServer(503), false, Result{Outcome: OutcomeFail, Class: ClassServerError, Code: 503}},
		{"put 504 may have been applied", OpPut, statusServer(504), false, Result{Outcome: OutcomeUnknown, Class: ClassServerError, Code: 504}},
		{"put 500", OpPut, statusServer(500), false, Result{Outcome: OutcomeUnknown, Class: ClassServerError, Code: 500}},
		{"put 429 rejected", OpPut, statusServer(429), false, Result{Outcome: OutcomeFail, Class: ClassRateLimited, Code: 429}},
		{"put 400 rejected", OpPut, statusServer(400), false, Result{Outcome: OutcomeFail, Class: ClassUnexpected, Code: 400}},
		{"put timeout", OpPut, hangServer, false, Result{Outcome: OutcomeUnknown, Class: ClassTimeout}},
		{"put refused", OpPut, nil, true, Result{Outcome: OutcomeFail, Class: ClassTransport}},
		{"put connection closed", OpPut, closeConn, false, Result{Outcome: OutcomeUnknown, Class: ClassTransport}},
		{"delete 204", OpDelete, nil, false, Result{Outcome: OutcomeOK, Code: 204}},
		{"delete 404", OpDelete, statusServer(404), false, Result{Outcome: OutcomeOK, Code: 404}},
		{"delete 503", OpDelete, statusServer(503), false, Result{Outcome: OutcomeFail, Class: ClassServerError, Code: 503}},
		{"delete 500", OpDelete, statusServer(500), false, Result{Outcome: OutcomeUnknown, Class: ClassServerError, Code: 500}},
		{"cas unsupported", OpCAS, nil, false, Result{Outcome: OutcomeFail, Class: ClassUnexpected}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := serverURL(t, tc.refused, tc.before)
			d := newTestDriver(t, 4, url)
			timeout := 5 * time.Second
			if strings.HasSuffix(tc.name, "timeout") {
				timeout = 200 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			op := Op{ID: 7, Client: 1, Kind: tc.kind, Key: "k1", Value: MakeValue(1, 7, 16)}
			got := d.Do(ctx, op)
			if got.Outcome != tc.want.Outcome || got.Class != tc.want.Class || got.Code != tc.want.Code ||
				got.Found != tc.want.Found || string(got.Value) != string(tc.want.Value) {
				t.Errorf("Do = {%s %s %d found=%v %q}, want {%s %s %d found=%v %q} (err %v)",
					got.Outcome, got.Class, got.Code, got.Found, got.Value,
					tc.want.Outcome, tc.want.Class, tc.want.Code, tc.want.Found, tc.want.Value, got.Err)
			}
			if (got.Outcome == OutcomeOK) != (got.Err == nil) {
				t.Errorf("outcome %s with error %v: want an error exactly for a bad request", got.Outcome, got.Err)
			}
		})
	}
}

func TestKVDriverRequests(t *testing.T) {
	t.Parallel()
	a, b := newKVServer(t, nil), newKVServer(t, nil)
	d := newTestDriver(t, 4, a.URL, b.URL+"/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	value := MakeValue(3, 17, 32)
	ops := []Op{
		{ID: 17, Client: 3, Kind: OpPut, Key: "k42", Value: value},
		{ID: 18, Client: 3, Kind: OpGet, Key: "k42"},
		{ID: 19, Client: 3, Kind: OpDelete, Key: "k42"},
		{ID: 20, Client: 3, Kind: OpGet, Key: "k42"},
	}
	for _, op := range ops {
		if res := d.Do(ctx, op); res.Outcome != OutcomeOK {
			t.Fatalf("op %d: %s %v", op.ID, res.Outcome, res.Err)
		}
	}
	// Round robin: a got ops 17 and 19, b got 18 and 20.
	ra, rb := a.recorded(), b.recorded()
	if len(ra) != 2 || len(rb) != 2 {
		t.Fatalf("servers saw %d and %d requests, want 2 and 2", len(ra), len(rb))
	}
	checks := []struct {
		r                    recordedRequest
		method, id, key, val string
	}{
		{ra[0], http.MethodPut, "op-17", "k42", string(value)},
		{rb[0], http.MethodGet, "op-18", "k42", ""},
		{ra[1], http.MethodDelete, "op-19", "k42", ""},
		{rb[1], http.MethodGet, "op-20", "k42", ""},
	}
	for _, c := range checks {
		if c.r.method != c.method || c.r.requestID != c.id || c.r.key != c.key || string(c.r.body) != c.val {
			t.Errorf("request %+v, want %s %s id %s body %q", c.r, c.method, c.key, c.id, c.val)
		}
		budget, err := time.ParseDuration(c.r.timeout)
		if err != nil || budget <= 0 || budget > 5*time.Second {
			t.Errorf("request %s: X-Request-Timeout %q, want the remaining budget (<= 5s)", c.id, c.r.timeout)
		}
	}
}

func TestNewKVDriverRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		urls []string
		want string
	}{
		{"no URLs", nil, "no base URLs"},
		{"no scheme", []string{"localhost:8080"}, "want http"},
		{"bad scheme", []string{"ftp://127.0.0.1:8080"}, "want http"},
		{"unparsable", []string{"http://[::1"}, "base URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewKVDriver(tc.urls, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewKVDriver(%q): %v, want an error containing %q", tc.urls, err, tc.want)
			}
		})
	}
}

// TestDriversSendThroughTheTransportWithClientErrors: a client from
// NewHTTPClient is used through its transport, any other through Do, and the
// errors read the same either way.
func TestDriversSendThroughTheTransportWithClientErrors(t *testing.T) {
	t.Parallel()
	own := NewHTTPClient(4)
	if newSender(own).transport == nil {
		t.Error("NewHTTPClient's client is sent through Do, want its transport")
	}
	follows := NewHTTPClient(4)
	follows.CheckRedirect = nil
	if newSender(follows).transport != nil || newSender(http.DefaultClient).transport != nil {
		t.Error("a client that follows redirects is sent through its transport, want Do")
	}
	refused := refusedURL(t)
	for _, c := range []*http.Client{own, {Transport: own.Transport}} {
		d, err := NewKVDriver([]string{strings.Replace(refused, "http://", "http://u:secret@", 1)}, c)
		if err != nil {
			t.Fatal(err)
		}
		res := d.Do(context.Background(), Op{ID: 1, Kind: OpPut, Key: "k1", Value: []byte("v")})
		var ue *url.Error
		if !errors.As(res.Err, &ue) || ue.Op != "Put" || strings.Contains(ue.URL, "secret") || !strings.Contains(ue.URL, "u:***@") {
			t.Errorf("via transport %v: error %v, want a *url.Error Put with the password hidden", newSender(c).transport != nil, res.Err)
		}
		if res.Outcome != OutcomeFail || res.Class != ClassTransport {
			t.Errorf("refused put: %s %s, want fail transport", res.Outcome, res.Class)
		}
	}
}

// A sticky driver sends a client's every operation to one gateway, with
// X-Session naming the client; a plain one spreads them round-robin and names
// no session.
func TestKVDriverStickySessions(t *testing.T) {
	t.Parallel()
	type seen struct {
		server  int
		session string
	}
	got := make(chan seen, 64)
	var urls []string
	for i := range 2 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- seen{i, r.Header.Get("X-Session")}
			w.WriteHeader(http.StatusNotFound)
		}))
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	ctx := context.Background()
	sticky, err := NewKVDriver(urls, nil)
	if err != nil {
		t.Fatal(err)
	}
	sticky.Sticky()
	for i, client := range []int{3, 3, 4, 3, 4, 7} {
		if res := sticky.Do(ctx, Op{ID: uint64(i), Client: client, Kind: OpGet, Key: "k"}); res.Outcome != OutcomeOK {
			t.Fatalf("get: %+v", res)
		}
		if s := <-got; s.server != client%2 || s.session != "c"+strconv.Itoa(client) {
			t.Fatalf("client %d: server %d session %q, want server %d session c%d", client, s.server, s.session, client%2, client)
		}
	}
	plain, err := NewKVDriver(urls, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		plain.Do(ctx, Op{ID: uint64(i), Client: 3, Kind: OpGet, Key: "k"})
		if s := <-got; s.server != i%2 || s.session != "" {
			t.Fatalf("plain op %d: server %d session %q, want server %d and none", i, s.server, s.session, i%2)
		}
	}
}
