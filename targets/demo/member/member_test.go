package member

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

const testToken = "control-token"

// startNode runs a one-node store (N=W=R=1) as a member in this process on
// 127.0.0.1, with at most maxInflight client requests admitted at once, and
// returns its address once it serves.
func startNode(t testing.TB, maxInflight int, opts Options) string {
	t.Helper()
	spec := demo.ClusterSpec{Nodes: 1, Replication: demo.Replication{N: 1, W: 1, R: 1}, Recovery: "none",
		Resilience: demo.Resilience{MaxInflight: maxInflight}}
	return startMember(t, demo.MemberConfig{ID: "n1", Role: demo.RoleNode, Listen: "127.0.0.1:0", Peers: map[string]string{}, Cluster: spec, Seed: 1}, opts)
}

// startMember runs the member cfg in this process on a free 127.0.0.1 port
// until the test ends, and returns its address once it serves.
func startMember(t testing.TB, cfg demo.MemberConfig, opts Options) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	opts.Listener, opts.Log = ln, logrus.NewEntry(log)
	ready := make(chan string, 1)
	opts.Ready = func(addr string) { ready <- addr }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("member %s: %v", cfg.ID, err)
		}
	})
	select {
	case addr := <-ready:
		return addr
	case err := <-done:
		t.Fatalf("member %s stopped before it served: %v", cfg.ID, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("member %s not ready within 10s", cfg.ID)
	}
	return ""
}

func status(t *testing.T, c *http.Client, method, url, auth, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestPprofTakesTheControlToken(t *testing.T) {
	addr := startNode(t, 64, Options{ControlToken: testToken})
	c := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + addr
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1"} {
		for _, auth := range []string{"", "Bearer wrong", testToken, "Bearer "} {
			if code := status(t, c, http.MethodGet, base+path, auth, ""); code != http.StatusUnauthorized {
				t.Errorf("GET %s with Authorization %q = %d, want 401", path, auth, code)
			}
		}
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1"} {
		if code := status(t, c, http.MethodGet, base+path, "Bearer "+testToken, ""); code != http.StatusOK {
			t.Errorf("GET %s with the control token = %d, want 200", path, code)
		}
	}
	// The rest stays open: the client API, health, readiness, metrics.
	if code := status(t, c, http.MethodPut, base+api.KVPrefix+"k", "", "v"); code != http.StatusNoContent {
		t.Errorf("PUT /kv/k without a token = %d, want 204", code)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics", api.KVPrefix + "k"} {
		if code := status(t, c, http.MethodGet, base+path, "", ""); code != http.StatusOK {
			t.Errorf("GET %s without a token = %d, want 200", path, code)
		}
	}
}

func TestNoControlTokenRefusesPprof(t *testing.T) {
	addr := startNode(t, 64, Options{})
	c := &http.Client{Timeout: 10 * time.Second}
	for _, auth := range []string{"", "Bearer "} {
		if code := status(t, c, http.MethodGet, "http://"+addr+"/debug/pprof/", auth, ""); code != http.StatusUnauthorized {
			t.Errorf("pprof of a member without a token, Authorization %q = %d, want 401", auth, code)
		}
	}
}

// slowBody opens a connection that sends a PUT's header at once and then its
// body one byte per second, and reports the status the member answers with
// (0 when the connection ended without one).
func slowBody(t *testing.T, addr, key string, stop <-chan struct{}) <-chan int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := fmt.Fprintf(conn, "PUT %s%s HTTP/1.1\r\nHost: %s\r\nContent-Length: 100\r\n\r\nx", api.KVPrefix, key, addr); err != nil {
		t.Fatal(err)
	}
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	answer := make(chan int, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answer <- 0
			return
		}
		resp.Body.Close()
		answer <- resp.StatusCode
	}()
	return answer
}

func TestSlowBodiesDoNotStarveAdmission(t *testing.T) {
	const (
		maxInflight = 8
		bodyTimeout = 3 * time.Second
		bound       = 2 * time.Second // a normal request's answer, on a busy machine
	)
	addr := startNode(t, maxInflight, Options{ControlToken: testToken, BodyTimeout: bodyTimeout})
	stop := make(chan struct{})
	defer close(stop)
	opened := time.Now()
	var answers []<-chan int
	for i := range maxInflight {
		answers = append(answers, slowBody(t, addr, fmt.Sprintf("slow%d", i), stop))
	}

	// While every slow connection trickles its body, normal requests are
	// admitted and answered in time.
	c := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + addr + api.KVPrefix
	for i := 0; time.Since(opened) < bodyTimeout/2 || i < 10; i++ {
		key := fmt.Sprintf("k%d", i%4)
		start := time.Now()
		if code := status(t, c, http.MethodPut, base+key, "", "value"); code != http.StatusNoContent {
			t.Fatalf("PUT %s #%d during %d slow bodies = %d, want 204", key, i, maxInflight, code)
		}
		if code := status(t, c, http.MethodGet, base+key, "", ""); code != http.StatusOK {
			t.Fatalf("GET %s #%d during %d slow bodies = %d, want 200", key, i, maxInflight, code)
		}
		if d := time.Since(start); d > bound {
			t.Fatalf("PUT+GET #%d took %s during %d slow bodies, want at most %s", i, d, maxInflight, bound)
		}
	}

	// The slow connections end with 408 once the body deadline passes.
	deadline := time.After(bodyTimeout + 10*time.Second)
	for i, a := range answers {
		select {
		case code := <-a:
			if code != http.StatusRequestTimeout {
				t.Errorf("slow body %d answered %d, want 408", i, code)
			}
		case <-deadline:
			t.Fatalf("slow body %d not ended %s after it opened (body deadline %s)", i, time.Since(opened), bodyTimeout)
		}
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		fail []string
	)
	// And the member still serves afterwards.
	for i := range 4 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, base+fmt.Sprintf("k%d", i), nil)
			resp, err := c.Do(req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fail = append(fail, err.Error())
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				fail = append(fail, resp.Status)
			}
		})
	}
	wg.Wait()
	if len(fail) > 0 {
		t.Fatalf("GETs after the slow bodies ended: %v", fail)
	}
}

// startStore runs three store nodes (N=3, W=R=2, catching up from each other
// at start) as members in this process on 127.0.0.1, all given token, and
// returns their addresses once every one has settled.
func startStore(t *testing.T, token string) map[string]string {
	t.Helper()
	spec := demo.ClusterSpec{Nodes: 3, Replication: demo.Replication{N: 3, W: 2, R: 2}, Recovery: "resync"}
	ids := spec.NodeIDs()
	lns, addrs := map[string]net.Listener{}, map[string]string{}
	for _, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[id], addrs[id] = ln, ln.Addr().String()
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	for _, id := range ids {
		cfg := demo.MemberConfig{ID: id, Role: demo.RoleNode, Listen: addrs[id], Peers: addrs, Cluster: spec, Seed: 1}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, cfg, Options{ControlToken: token, Listener: lns[id], Log: logrus.NewEntry(log)})
		}()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("member %s: %v", id, err)
			}
		})
	}
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range ids {
		for {
			resp, err := c.Get("http://" + addrs[id] + demo.ReadyzSettled)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not settled within 20s (its catch-up from its peers refused?)", id)
			}
			time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
		}
	}
	return addrs
}

func TestStoreNodesReplicateWithTheDerivedPeerToken(t *testing.T) {
	addrs := startStore(t, testToken)
	c := &http.Client{Timeout: 10 * time.Second}
	if code := status(t, c, http.MethodPut, "http://"+addrs["n1"]+api.KVPrefix+"k", "", "real"); code != http.StatusNoContent {
		t.Fatalf("PUT through n1 = %d, want 204 (replica calls between members refused?)", code)
	}
	for id, addr := range addrs {
		resp, err := c.Get("http://" + addr + api.KVPrefix + "k")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(b) != "real" {
			t.Fatalf("GET k from %s = %d %q, want 200 real", id, resp.StatusCode, b)
		}
	}

	// A forged record (version 9e18, valid checksum) is refused without the
	// peer token, and with the control token in its place.
	rec := storage.Seal("k", storage.Record{Version: storage.Version{Time: 9e18, Node: 1, Seq: 1}, Value: []byte("forged")})
	put := func(auth string) int {
		req, _ := http.NewRequest(http.MethodPut, "http://"+addrs["n2"]+"/internal/v1/replica/k", strings.NewReader("forged"))
		req.Header.Set(api.HeaderVersion, rec.Version.String())
		req.Header.Set("X-Checksum", strconv.FormatUint(uint64(rec.Checksum), 10))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, auth := range []string{"", "Bearer " + testToken} {
		if code := put(auth); code != http.StatusUnauthorized {
			t.Fatalf("forged replica PUT with Authorization %q = %d, want 401", auth, code)
		}
	}
	resp, err := c.Get("http://" + addrs["n2"] + api.KVPrefix + "k")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "real" {
		t.Fatalf("GET k from n2 after the forged PUTs = %q, want real", b)
	}
	if code := put("Bearer " + demo.PeerToken(testToken)); code != http.StatusNoContent {
		t.Fatalf("replica PUT with the derived peer token = %d, want 204", code)
	}
}
