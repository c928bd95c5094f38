package member

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/demo/api"
)

// protected are the path prefixes that need a token: the control API and
// the profiles (control token), the replica API (peer token).
var protected = []string{"/control/", "/debug/pprof", "/internal/"}

// fuzzExchangeTimeout bounds one input's exchange with a member: every
// reply is quick, and a member that keeps a connection open past its own
// body and header deadlines is a finding.
const fuzzExchangeTimeout = 30 * time.Second

// FuzzMemberHTTP sends each input as the raw bytes of one connection to a
// real store node and to a real gateway in front of it, and checks what any
// client on the network could break:
//
//   - no handler panics (net/http would hide it in a log line);
//   - every request the member parsed gets a well-formed reply;
//   - a request for the control API, the profiles or the replica API
//     without the right token never succeeds;
//   - the store node never answers 500 to a request that carries no token,
//     but for a write that ran out of time (indeterminate);
//   - the member still answers /healthz on a new connection afterwards.
//
// Run it longer with
//
//	go test -run '^$' -fuzz '^FuzzMemberHTTP$' -fuzztime 100000x ./targets/demo/member/
func FuzzMemberHTTP(f *testing.F) {
	for _, s := range []string{
		"GET /kv/k HTTP/1.1\r\nHost: x\r\n\r\n",
		"PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nX-Request-Timeout: 1ms\r\n\r\nabc",
		"DELETE /kv/k HTTP/1.1\r\nHost: x\r\n\r\nGET /kv/k HTTP/1.1\r\nHost: x\r\n\r\n",
		"PUT /kv/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 99\r\n\r\nshort",
		"GET /kv/%zz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /kv/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /healthz?pad=100 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /readyz?settled=1 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /debug/pprof/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /control/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\r\n",
		"POST /control/v1/corrupt HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n{\"count\":1}",
		"PUT /internal/v1/replica/k HTTP/1.1\r\nHost: x\r\nX-Version: 9000000000000000000.1.1\r\nContent-Length: 1\r\n\r\nx",
		"GET /internal/v1/snapshot HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /control/v1/clock-skew HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testToken + "\r\nContent-Length: 17\r\n\r\n{\"offset\":\"1ms\"}",
		"POST /control/v1/reach HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testToken + "\r\nContent-Length: 35\r\n\r\n{\"to\":\"n9\",\"timeout\":\"1s\",\"pad\":0}",
	} {
		f.Add([]byte(s))
	}
	// net/http reports a handler's panic ("http: panic serving") on the
	// standard logger when a server has no ErrorLog.
	var logged testkit.SyncBuffer
	log.SetOutput(&logged)
	f.Cleanup(func() { log.SetOutput(io.Discard) })

	node := startNode(f, 8, Options{ControlToken: testToken})
	spec := demo.ClusterSpec{Nodes: 1, Gateways: 1, Replication: demo.Replication{N: 1, W: 1, R: 1}, Recovery: "none"}
	gateway := startMember(f, demo.MemberConfig{ID: "g1", Role: demo.RoleGateway, Listen: "127.0.0.1:0",
		Peers: map[string]string{"n1": node}, Cluster: spec, Seed: 1}, Options{ControlToken: testToken})

	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, m := range []struct{ role, addr string }{{demo.RoleNode, node}, {demo.RoleGateway, gateway}} {
			exchange(t, m.role, m.addr, raw)
			if s := logged.String(); strings.Contains(s, "panic") {
				t.Fatalf("%s: a handler panicked on %q:\n%s", m.role, raw, s)
			}
			alive(t, m.role, m.addr)
		}
	})
}

// exchange writes raw on a new connection to addr, closes the writing side,
// and pairs each request the input holds with the member's reply.
func exchange(t *testing.T, role, addr string, raw []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("%s: dial: %v", role, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(fuzzExchangeTimeout))
	if _, err := conn.Write(raw); err != nil {
		return // the member may close a connection it gave up on
	}
	_ = conn.(*net.TCPConn).CloseWrite()
	replies := bufio.NewReader(conn)
	requests := bufio.NewReader(bytes.NewReader(raw))
	for {
		req, err := http.ReadRequest(requests)
		if err != nil {
			break // the rest is not a request the member could have parsed either
		}
		body, berr := io.ReadAll(req.Body)
		if berr != nil || int64(len(body)) != req.ContentLength && req.ContentLength >= 0 {
			break // a short body: the member answers or closes, either is fine
		}
		resp, err := http.ReadResponse(replies, req)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("%s: no reply to %s %s within %s", role, req.Method, req.URL, fuzzExchangeTimeout)
			}
			return // closed: net/http refuses some requests it parsed leniently
		}
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 100 || resp.StatusCode > 599 {
			t.Fatalf("%s: %s %s: status %d", role, req.Method, req.URL, resp.StatusCode)
		}
		tokened := strings.Contains(string(raw), testToken)
		for _, p := range protected {
			if strings.HasPrefix(req.URL.Path, p) && !tokened && resp.StatusCode < 300 {
				t.Fatalf("%s: %s %s without a token answered %d", role, req.Method, req.URL, resp.StatusCode)
			}
		}
		// A write that ran out of time is indeterminate (500) even on one
		// node, as on a busy machine; any other 500 is a fault.
		if role == demo.RoleNode && !tokened && resp.StatusCode == http.StatusInternalServerError &&
			!strings.Contains(resp.Header.Get(api.HeaderError)+string(answer), "indeterminate") {
			t.Fatalf("%s: %s %s answered 500 on a one-node store: %s", role, req.Method, req.URL, answer)
		}
		if resp.Close {
			return
		}
	}
}

// alive checks that the member answers /healthz on a new connection.
func alive(t *testing.T, role, addr string) {
	t.Helper()
	c := &http.Client{Timeout: fuzzExchangeTimeout}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("%s: /healthz after the input: %v", role, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: /healthz after the input = %d", role, resp.StatusCode)
	}
}
