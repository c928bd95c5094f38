package node

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/hlc"
	"github.com/chaosctl/chaosctl/targets/demo/internal/demotest"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// tokenCluster is three linearizable nodes (N=3, W=R=2) serving their real
// handlers over HTTP on 127.0.0.1, reaching each other with the HTTP
// transport and the given peer tokens (by node).
type tokenCluster struct {
	ids     []string
	addr    map[string]string
	metrics map[string]*metrics.Member
}

func startTokenCluster(t *testing.T, tokens map[string]string) *tokenCluster {
	t.Helper()
	c := &tokenCluster{ids: []string{"n1", "n2", "n3"}, addr: map[string]string{}, metrics: map[string]*metrics.Member{}}
	srvs := map[string]*httptest.Server{}
	for _, id := range c.ids {
		srvs[id] = httptest.NewUnstartedServer(nil)
		c.addr[id] = srvs[id].Listener.Addr().String()
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	for _, id := range c.ids {
		eng := storage.OpenMemory()
		c.metrics[id] = metrics.New(id)
		nd, err := New(Config{
			ID: id, Nodes: c.ids, VNodes: 16, N: 3, W: 2, R: 2, Consistency: Linearizable,
			Peers: c.addr, Timeout: 2 * time.Second, Recovery: RecoveryNone, PeerToken: tokens[id],
		}, eng, hlc.New(nil), c.metrics[id], logrus.NewEntry(log))
		if err != nil {
			t.Fatal(err)
		}
		srv := srvs[id]
		srv.Config.Handler = nd.Handler()
		srv.Start()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- nd.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done; srv.Close(); _ = eng.Close() })
	}
	return c
}

// do sends one request and returns its status and body.
func do(t *testing.T, method, url string, body string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// forgedHeader is a replica write of a record no coordinator made: version
// 9e18, far above any real one, with a valid checksum.
func forgedHeader(key, value string) http.Header {
	rec := storage.Seal(key, storage.Record{Version: storage.Version{Time: 9e18, Node: 1, Seq: 1}, Value: []byte(value)})
	h := http.Header{}
	h.Set(api.HeaderVersion, rec.Version.String())
	h.Set(headerChecksum, strconv.FormatUint(uint64(rec.Checksum), 10))
	return h
}

func TestReplicaAPIRequiresThePeerToken(t *testing.T) {
	const token = "s3cret-peer-token"
	c := startTokenCluster(t, map[string]string{"n1": token, "n2": token, "n3": token})
	kv := func(id, key string) string { return "http://" + c.addr[id] + api.KVPrefix + key }

	// Real traffic between peers carries the token: a client write through
	// n1 reaches a quorum and every node reads it back.
	if code, body := do(t, http.MethodPut, kv("n1", "real"), "v1", nil); code != http.StatusNoContent {
		t.Fatalf("client PUT through n1 = %d %s, want 204 (replica calls between peers refused?)", code, body)
	}
	for _, id := range c.ids {
		if code, body := do(t, http.MethodGet, kv(id, "real"), "", nil); code != http.StatusOK || body != "v1" {
			t.Fatalf("client GET from %s = %d %q, want 200 v1", id, code, body)
		}
	}
	for _, id := range c.ids {
		if v := demotest.Value(t, c.metrics[id].Unauthorized.WithLabelValues("replica")); v != 0 {
			t.Fatalf("%s refused %v replica requests of its peers", id, v)
		}
	}

	// A forged record without the token, or with a wrong one, is refused and
	// never served.
	replica := "http://" + c.addr["n2"] + replicaPrefix + "real"
	for name, auth := range map[string]string{"none": "", "wrong": "Bearer not-the-token", "bare": token, "empty bearer": "Bearer "} {
		h := forgedHeader("real", "forged")
		if auth != "" {
			h.Set("Authorization", auth)
		}
		if code, body := do(t, http.MethodPut, replica, "forged", h); code != http.StatusUnauthorized {
			t.Fatalf("forged replica PUT with %s token = %d %s, want 401", name, code, body)
		}
	}
	if code, _ := do(t, http.MethodGet, replica, "", nil); code != http.StatusUnauthorized {
		t.Fatalf("replica GET without the token = %d, want 401", code)
	}
	snap := "http://" + c.addr["n2"] + snapshotPath + "?for=n1"
	if code, _ := do(t, http.MethodGet, snap, "", nil); code != http.StatusUnauthorized {
		t.Fatalf("snapshot without the token = %d, want 401 (it hands out every record)", code)
	}
	listing := "http://" + c.addr["n2"] + api.RangePath + "?from=a&to=z"
	if code, _ := do(t, http.MethodGet, listing, "", nil); code != http.StatusUnauthorized {
		t.Fatalf("range listing without the token = %d, want 401 (it hands out every record)", code)
	}
	withToken := http.Header{"Authorization": {"Bearer " + token}}
	if code, body := do(t, http.MethodGet, listing, "", withToken); code != http.StatusOK || !strings.Contains(body, `"k":"real"`) {
		t.Fatalf("range listing with the token = %d %s, want 200 listing key real", code, body)
	}
	for _, id := range c.ids {
		if code, body := do(t, http.MethodGet, kv(id, "real"), "", nil); code != http.StatusOK || body != "v1" {
			t.Fatalf("client GET from %s after forged writes = %d %q, want 200 v1", id, code, body)
		}
	}
	if v := demotest.Value(t, c.metrics["n2"].Unauthorized.WithLabelValues("replica")); v != 7 {
		t.Fatalf("chaosdemo_unauthorized_total{endpoint=replica} on n2 = %v, want 7", v)
	}

	// The token is what lets a record in: the same PUT with it is applied.
	h := forgedHeader("real", "forged")
	h.Set("Authorization", "Bearer "+token)
	if code, body := do(t, http.MethodPut, replica, "forged", h); code != http.StatusNoContent {
		t.Fatalf("replica PUT with the token = %d %s, want 204", code, body)
	}
}

func TestNodeWithoutPeerTokenReplicatesWithNobody(t *testing.T) {
	// n3 has no token: it refuses its peers' calls and its own carry none.
	c := startTokenCluster(t, map[string]string{"n1": "tok", "n2": "tok"})
	replica := func(id string) string { return "http://" + c.addr[id] + replicaPrefix + "k" }
	h := forgedHeader("k", "x")
	h.Set("Authorization", "Bearer tok")
	if code, _ := do(t, http.MethodPut, replica("n3"), "x", h); code != http.StatusUnauthorized {
		t.Fatalf("replica PUT to a node without a token = %d, want 401", code)
	}
	if code, _ := do(t, http.MethodPut, replica("n1"), "x", h); code != http.StatusNoContent {
		t.Fatalf("replica PUT to n1 with its token = %d, want 204", code)
	}
	// Writes coordinated by n1 still reach a quorum (n1, n2); those by n3
	// reach only n3 itself.
	for i := range 3 {
		key := fmt.Sprintf("k%d", i)
		if code, body := do(t, http.MethodPut, "http://"+c.addr["n1"]+api.KVPrefix+key, "v", nil); code != http.StatusNoContent {
			t.Fatalf("PUT %s through n1 = %d %s, want 204", key, code, body)
		}
	}
	if code, _ := do(t, http.MethodPut, "http://"+c.addr["n3"]+api.KVPrefix+"k0", "v", nil); code == http.StatusNoContent {
		t.Fatal("PUT through the node without a token succeeded; its replica calls should be refused")
	}
	if v := demotest.Value(t, c.metrics["n1"].Unauthorized.WithLabelValues("replica")); v == 0 {
		t.Fatal("n1 counted no refused replica request from the node without a token")
	}
}
