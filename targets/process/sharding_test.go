package process_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/demo/placement"
)

// Range sharding on real processes: writes through the gateway land on the
// owner of their key's range and the next node, nowhere else; /debug/ring
// shows the ranges and each node counts the requests it coordinated by
// shard.
func TestRangeShardingPlacesWritesOnTheRangeOwners(t *testing.T) {
	spec := demo.ClusterSpec{Nodes: 4, Gateways: 1, Sharding: placement.Range, Splits: []string{"k3", "k6"},
		Replication: demo.Replication{N: 2, W: 2, R: 1}, Consistency: "quorum"}
	c, _ := startCluster(t, spec, false)
	addr := map[string]string{}
	for _, m := range c.Members() {
		addr[m.ID] = m.Addr
	}
	client := newKV(2 * time.Second)
	// r0 = [, k3) on n1 n2; r1 = [k3, k6) on n2 n3; r2 = [k6, ) on n3 n4.
	homes := map[string][]string{
		"a": {"n1", "n2"}, "k299": {"n1", "n2"}, "k3": {"n2", "n3"}, "k5zz": {"n2", "n3"},
		"k6": {"n3", "n4"}, "z9": {"n3", "n4"},
	}
	for key := range homes {
		if code, err := client.put(addr["g1"], key, "v-"+key); err != nil || code != http.StatusNoContent {
			t.Fatalf("put %s through g1: %d, %v", key, code, err)
		}
	}
	// w = n = 2: an acknowledged write is on both home replicas; no other
	// node ever holds it.
	for key, want := range homes {
		for _, id := range spec.NodeIDs() {
			found, v := replicaCopy(t, c, addr[id], key)
			if home := slices.Contains(want, id); found != home || (home && v != "v-"+key) {
				t.Errorf("%s on %s: found %v (%q); its homes are %v", key, id, found, v, want)
			}
		}
	}

	var ring struct {
		Scheme     string               `json:"scheme"`
		Splits     []string             `json:"splits"`
		Ranges     []placement.KeyRange `json:"ranges"`
		Preference []string             `json:"preference"`
	}
	getJSON(t, "http://"+addr["n4"]+"/debug/ring?key=k42", &ring)
	if ring.Scheme != placement.Range || !slices.Equal(ring.Splits, spec.Splits) || len(ring.Ranges) != 3 ||
		ring.Ranges[1].Owner != "n2" || !slices.Equal(ring.Preference, []string{"n2", "n3"}) {
		t.Fatalf("/debug/ring = %+v", ring)
	}
	getJSON(t, "http://"+addr["g1"]+"/debug/ring", &ring)
	if ring.Scheme != placement.Range || len(ring.Ranges) != 3 || ring.Ranges[2].Start != "k6" || ring.Ranges[2].Owner != "n3" {
		t.Fatalf("gateway /debug/ring = %+v", ring)
	}

	// The gateway sends each write to the owner first: n1 coordinated r0's
	// two writes, n3 r2's; each node stores the keys of the shards it holds.
	testkit.Eventually(t, 5*time.Second, "shard metrics on the owners", func() bool {
		m1, m3, m4 := metricsText(t, addr["n1"]), metricsText(t, addr["n3"]), metricsText(t, addr["n4"])
		return strings.Contains(m1, `chaosdemo_shard_requests_total{owner="n1",shard="r0"} 2`) &&
			strings.Contains(m3, `chaosdemo_shard_requests_total{owner="n3",shard="r2"} 2`) &&
			strings.Contains(m3, `chaosdemo_shard_keys{owner="n2",shard="r1"} 2`) &&
			strings.Contains(m3, `chaosdemo_shard_keys{owner="n3",shard="r2"} 2`) &&
			strings.Contains(m4, `chaosdemo_shard_keys{owner="n3",shard="r2"} 2`) &&
			!strings.Contains(m4, `shard="r0"`)
	})
}

func getJSON(t *testing.T, url string, into any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("decode %s: %v", url, err)
	}
}

func metricsText(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
