package clusterctl

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets/process"
)

// newTestServer serves a Server over a test manager on 127.0.0.1 and
// returns a client of it.
func newTestServer(t *testing.T) (*Client, *httptest.Server, *fakeTarget) {
	t.Helper()
	m, target, _, _ := newTestManager(t)
	s := &Server{Name: "test", Token: "secret", Faults: m, Log: quietLog(), Members: func() []MemberStatus {
		return []MemberStatus{
			{MemberInfo: process.MemberInfo{ID: "g1", Role: "gateway", Addr: "127.0.0.1:7100", PID: 11, Running: true}, Listen: "127.0.0.1:40001"},
			{MemberInfo: process.MemberInfo{ID: "n1", Role: "node", Addr: "127.0.0.1:7101", PID: 12, Running: true, Paused: true}, Listen: "127.0.0.1:40002"},
		}
	}}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return NewClient(State{Name: "test", Control: srv.Listener.Addr().String(), Token: "secret"}), srv, target
}

// do sends a request with the token and returns the status and the body.
func do(t *testing.T, srv *httptest.Server, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func errorOf(t *testing.T, body string) string {
	t.Helper()
	var eb errorBody
	if err := json.Unmarshal([]byte(body), &eb); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return eb.Error
}

func TestServerRoutes(t *testing.T) {
	c, _, target := newTestServer(t)
	ctx := context.Background()

	v, err := c.Apply(ctx, pauseReq("nap", "30s", "n1"))
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "nap" || v.Kind != "pause" || v.TTL != "30s" || !slices.Equal(v.Targets, []string{"n1"}) {
		t.Fatalf("applied %+v", v)
	}
	if _, err := c.Apply(ctx, Request{Fault: injectors.Fault{Kind: "crash", Targets: []string{"n2"}}}); err != nil {
		t.Fatal(err)
	}
	fl, err := c.Faults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(fl.Faults); !slices.Equal(got, []string{"nap", "crash-1"}) {
		t.Fatalf("GET /v1/faults: %v", got)
	}
	sv, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sv.Name != "test" || len(sv.Members) != 2 || sv.Members[1].State() != "paused" || sv.Members[0].State() != "running" || len(sv.Faults) != 2 {
		t.Fatalf("GET /v1/status: %+v", sv)
	}
	healed, err := c.Heal(ctx, "nap")
	if err != nil {
		t.Fatal(err)
	}
	if got := names(healed.Faults); !slices.Equal(got, []string{"nap"}) || healed.Faults[0].EndReason != EndHealed {
		t.Fatalf("DELETE /v1/faults/nap: %+v", healed)
	}
	all, err := c.HealAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(all.Faults); !slices.Equal(got, []string{"crash-1"}) {
		t.Fatalf("DELETE /v1/faults: %v", got)
	}
	none, err := c.HealAll(ctx)
	if err != nil || none.Faults == nil || len(none.Faults) != 0 {
		t.Fatalf("DELETE /v1/faults with nothing live: %+v, %v; want an empty list", none, err)
	}
	sv, err = c.Status(ctx)
	if err != nil || len(sv.Faults) != 0 || len(sv.Ended) != 2 {
		t.Fatalf("status after heal: %+v, %v", sv, err)
	}
	want := []string{"pause n1", "kill n2", "resume n1", "start n2"}
	if got := target.Calls(); !slices.Equal(got, want) {
		t.Fatalf("target calls %v, want %v", got, want)
	}
}

func TestServerNeedsTheToken(t *testing.T) {
	_, srv, target := newTestServer(t)
	for _, token := range []string{"", "wrong"} {
		for _, route := range [][2]string{{"GET", "/v1/status"}, {"GET", "/v1/faults"}, {"POST", "/v1/faults"}, {"DELETE", "/v1/faults"}, {"DELETE", "/v1/faults/x"}, {"POST", "/v1/faults/x/lease"}} {
			status, body := do(t, srv, route[0], route[1], token, `{"kind":"pause","targets":["n1"]}`)
			if status != http.StatusUnauthorized || errorOf(t, body) != "missing or wrong bearer token (it is in the cluster's state file)" {
				t.Errorf("%s %s with token %q: %d %s", route[0], route[1], token, status, body)
			}
		}
	}
	if calls := target.Calls(); len(calls) != 0 {
		t.Fatalf("an unauthorized request reached the target: %v", calls)
	}
	c := NewClient(State{Name: "test", Control: srv.Listener.Addr().String(), Token: "wrong"})
	_, err := c.Status(context.Background())
	if err == nil || IsInputError(err) || !strings.Contains(err.Error(), "cluster test: missing or wrong bearer token") || !strings.Contains(err.Error(), "(status 401)") {
		t.Fatalf("client with a wrong token: %v", err)
	}
}

func TestServerBadRequests(t *testing.T) {
	c, srv, target := newTestServer(t)
	tests := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/v1/faults", `{"kind":`, http.StatusBadRequest, "decode the fault: unexpected EOF"},
		{"POST", "/v1/faults", `{"kind":"pause","targets":["n1"],"bogus":1}`, http.StatusBadRequest, `decode the fault: json: unknown field "bogus"`},
		{"POST", "/v1/faults", `{"kind":"warp","targets":["n1"]}`, http.StatusBadRequest, `kind "warp": allowed are partition, latency, bandwidth, reset, blackhole, crash, pause, restart, clockSkew, corrupt`},
		{"POST", "/v1/faults", `{"kind":"pause","targets":["n9"]}`, http.StatusBadRequest, `pause target "n9": no such member; allowed are g1, n1, n2, n3`},
		{"POST", "/v1/faults", `{"kind":"pause","targets":["n1"],"ttl":"soon"}`, http.StatusBadRequest, `ttl: bad duration "soon": write a Go duration such as 250ms, 2s or 1m30s`},
		{"POST", "/v1/faults", `{"kind":"partition","groups":[["n1"],["n7"]]}`, http.StatusBadRequest, `partition: group member "n7": no such member; allowed are g1, n1, n2, n3, client`},
		{"DELETE", "/v1/faults/nope", "", http.StatusNotFound, `no live fault of that name: "nope" (there are no live faults)`},
		{"GET", "/v1/nothing", "", http.StatusNotFound, ""},
	}
	for _, tc := range tests {
		status, body := do(t, srv, tc.method, tc.path, "secret", tc.body)
		if status != tc.status {
			t.Errorf("%s %s %s: status %d, want %d (%s)", tc.method, tc.path, tc.body, status, tc.status, body)
			continue
		}
		if tc.want != "" && errorOf(t, body) != tc.want {
			t.Errorf("%s %s %s: error %q, want %q", tc.method, tc.path, tc.body, errorOf(t, body), tc.want)
		}
	}
	if calls := target.Calls(); len(calls) != 0 {
		t.Fatalf("a bad request reached the target: %v", calls)
	}
	// The client turns the refusals into input errors naming the cluster.
	_, err := c.Apply(context.Background(), pauseReq("", "", "n9"))
	if !IsInputError(err) || !strings.HasPrefix(err.Error(), `cluster test: pause target "n9": no such member`) {
		t.Fatalf("client apply of a bad request: %v", err)
	}
	if _, err := c.Apply(context.Background(), pauseReq("nap", "", "n1")); err != nil {
		t.Fatal(err)
	}
	_, err = c.Apply(context.Background(), pauseReq("nap", "", "n2"))
	if !IsInputError(err) || !strings.Contains(err.Error(), "a fault named nap is live") {
		t.Fatalf("client apply of a live name: %v", err)
	}
	_, err = c.Heal(context.Background(), "a/b")
	if !IsInputError(err) || !strings.Contains(err.Error(), `"a/b"`) {
		t.Fatalf("client heal of an unknown name: %v", err)
	}
}

func TestClientOfAGoneCluster(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = NewClient(State{Name: "gone", Control: addr, Token: "x"}).Status(context.Background())
	if err == nil || IsInputError(err) || !strings.Contains(err.Error(), "cannot reach the control API of cluster gone at "+addr) ||
		!strings.Contains(err.Error(), "chaosctl cluster up") {
		t.Fatalf("status of a gone cluster: %v", err)
	}
}

// A held fault's lease is renewed through the control API; the renewal of
// a fault that is gone or not held is the caller's error.
func TestServerRenewsALease(t *testing.T) {
	c, _, _ := newTestServer(t)
	ctx := context.Background()
	req := pauseReq("held", "1m", "n1")
	req.Lease = "3s"
	if _, err := c.Apply(ctx, req); err != nil {
		t.Fatal(err)
	}
	v, err := c.Renew(ctx, "held")
	if err != nil || v.Name != "held" || v.Lease != "3s" || v.LeaseRemaining != "3s" {
		t.Fatalf("renewed %+v: %v", v, err)
	}
	sv, err := c.Status(ctx)
	if err != nil || len(sv.Faults) != 1 || sv.Faults[0].Lease != "3s" || sv.Faults[0].LeaseExpires.IsZero() {
		t.Fatalf("status %+v: %v", sv.Faults, err)
	}
	if _, err := c.Renew(ctx, "nope"); !IsInputError(err) || !strings.Contains(err.Error(), `no live fault of that name: "nope"`) {
		t.Fatalf("renewing an unknown fault: %v", err)
	}
	if _, err := c.Apply(ctx, pauseReq("plain", "1m", "n2")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Renew(ctx, "plain"); !IsInputError(err) || !strings.Contains(err.Error(), "is not held") {
		t.Fatalf("renewing a fault without a lease: %v", err)
	}
}
