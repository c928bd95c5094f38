package process_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/process"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// replicaCopy reads a node's own stored copy through the internal replica API,
// with the peer token the members derive from c's control token.
func replicaCopy(t *testing.T, c *process.Cluster, addr, key string) (found bool, value string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/internal/v1/replica/"+key, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+demo.PeerToken(c.Token()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("read replica copy: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK, string(b)
}

func TestDiskPersistenceKeepsEveryAcknowledgedWriteAcrossSIGKILL(t *testing.T) {
	spec := demo.ClusterSpec{Nodes: 3, Persistence: demo.PersistDisk}
	c, _ := startCluster(t, spec, false)
	nodes := c.Addrs(demo.RoleNode)
	client := newKV(2 * time.Second)

	// Concurrent writers; a write counts as acknowledged once it got 204.
	var (
		mu    sync.Mutex
		acked = map[string]string{}
		wg    sync.WaitGroup
	)
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			for i := 0; i < 60; i++ {
				key, val := fmt.Sprintf("w%d-k%d", w, i), fmt.Sprintf("v%d-%d", w, i)
				if code, err := client.put(nodes[(w+i)%3], key, val); err == nil && code == http.StatusNoContent {
					mu.Lock()
					acked[key] = val
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(acked) < 400 {
		t.Fatalf("only %d of 480 writes acknowledged on a healthy cluster", len(acked))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// SIGKILL every node: nothing can be flushed on the way out.
	for _, id := range spec.NodeIDs() {
		if err := c.Kill(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range spec.NodeIDs() {
		if err := c.StartMember(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	missing := 0
	for key, want := range acked {
		code, got, err := client.get(nodes[0], key)
		if err != nil || code != http.StatusOK || got != want {
			missing++
			if missing <= 5 {
				t.Errorf("after restart %s = %d %q (err %v), want %q", key, code, got, err, want)
			}
		}
	}
	t.Logf("%d acknowledged writes, %d missing after SIGKILL of every node and restart", len(acked), missing)
	if missing > 0 {
		t.Fatalf("%d acknowledged writes lost", missing)
	}
}

func TestCorruptReplicaIsDetectedAndRepaired(t *testing.T) {
	spec := demo.ClusterSpec{Nodes: 3}
	c, _ := startCluster(t, spec, false)
	nodes := c.Addrs(demo.RoleNode)
	client := newKV(2 * time.Second)
	for i := 0; i < 50; i++ {
		if code, err := client.put(nodes[0], fmt.Sprintf("k%d", i), fmt.Sprintf("value-%d", i)); err != nil || code != http.StatusNoContent {
			t.Fatalf("put: %d %v", code, err)
		}
	}
	// Let background replication reach all three copies.
	testkit.Eventually(t, 5*time.Second, "all replicas hold k0..k49", func() bool {
		for i := 0; i < 50; i++ {
			for _, n := range nodes {
				if ok, _ := replicaCopy(t, c, n, fmt.Sprintf("k%d", i)); !ok {
					return false
				}
			}
		}
		return true
	})

	// Corrupt 10 values on n2 through its control endpoint.
	body := strings.NewReader(`{"count":10,"seed":7}`)
	req, _ := http.NewRequest(http.MethodPost, "http://"+nodes[1]+"/control/v1/corrupt", body)
	req.Header.Set("Authorization", "Bearer "+c.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("corrupt: %v %v", resp, err)
	}
	var out struct{ Keys []string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Keys) != 10 {
		t.Fatalf("corrupt answered %v, %v", out, err)
	}
	resp.Body.Close()

	// Without the token the control endpoint refuses.
	resp, err = http.Post("http://"+nodes[1]+"/control/v1/corrupt", "application/json", bytes.NewReader([]byte(`{"count":1}`)))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("control without token: %v %v, want 401", resp, err)
	}
	resp.Body.Close()

	// Every read returns the right value (never the damaged copy), and the
	// damaged copies are detected and rewritten.
	for _, key := range out.Keys {
		want := "value-" + strings.TrimPrefix(key, "k")
		for _, coord := range nodes {
			code, got, err := client.get(coord, key)
			if err != nil || code != http.StatusOK || got != want {
				t.Fatalf("get %s via %s = %d %q %v, want %q", key, coord, code, got, err, want)
			}
		}
	}
	testkit.Eventually(t, 5*time.Second, "corrupt copies repaired", func() bool {
		for _, key := range out.Keys {
			if ok, v := replicaCopy(t, c, nodes[1], key); !ok || v != "value-"+strings.TrimPrefix(key, "k") {
				return false
			}
		}
		return true
	})
	detected := 0.0
	for _, n := range nodes {
		detected += processtest.Metric(t, n, "chaosdemo_corruptions_total", map[string]string{"event": "detected"})
	}
	if detected < 10 {
		t.Fatalf("chaosdemo_corruptions_total{event=detected} = %v over the cluster, want ≥ 10", detected)
	}
	if inj := processtest.Metric(t, nodes[1], "chaosdemo_corruptions_total", map[string]string{"event": "injected"}); inj != 10 {
		t.Fatalf("injected = %v, want 10", inj)
	}
}

func TestEventualModeHandsOffHintsWhenTheHomeReplicaReturns(t *testing.T) {
	spec := demo.ClusterSpec{Nodes: 4, Replication: demo.Replication{N: 2}, Consistency: "eventual"}
	c, plane := startCluster(t, spec, true)
	nodes := memberAddrs(c)
	client := newKV(2 * time.Second)

	// Cut n1 off from n2 in both directions... only n1's outgoing link matters:
	// n1 coordinates and must reach n2.
	if err := plane.Proxy(faultplane.Link{From: "n1", To: "n2"}).Disable(); err != nil {
		t.Fatal(err)
	}
	// Write through n1 keys whose home replicas include n2.
	written := map[string]string{}
	for i := 0; len(written) < 20 && i < 2000; i++ {
		key := fmt.Sprintf("h%d", i)
		if !homeOf(t, nodes["n1"], key, "n2") {
			continue
		}
		val := "hv" + key
		if code, err := client.put(nodes["n1"], key, val); err != nil || code != http.StatusNoContent {
			t.Fatalf("eventual write while n2 is unreachable from n1: %d %v (sloppy quorum must accept it)", code, err)
		}
		written[key] = val
	}
	testkit.Eventually(t, 5*time.Second, "hints stored", func() bool {
		total := 0.0
		for _, a := range nodes {
			total += processtest.Metric(t, a, "chaosdemo_hints_total", map[string]string{"event": "stored"})
		}
		return total >= 1
	})
	if err := plane.Proxy(faultplane.Link{From: "n1", To: "n2"}).Enable(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "every write reaches its home replica n2", func() bool {
		for key, want := range written {
			if ok, v := replicaCopy(t, c, nodes["n2"], key); !ok || v != want {
				return false
			}
		}
		return true
	})
}

// homeOf says whether node is one of key's home replicas, from /debug/ring's
// view computed locally with the same ring.
func homeOf(t *testing.T, addr, key, node string) bool {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/debug/ring?key=" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		Preference []string `json:"preference"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	for _, n := range d.Preference {
		if n == node {
			return true
		}
	}
	return false
}
