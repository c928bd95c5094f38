package process_test

import (
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
	"net/http"
	"strings"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process"
)

// memberAddrs maps member ids to their addresses.
func memberAddrs(c *process.Cluster) map[string]string {
	out := map[string]string{}
	for _, m := range c.Members() {
		out[m.ID] = m.Addr
	}
	return out
}

func TestQuorumModeReadRepairsAStaleReplica(t *testing.T) {
	spec := demo.ClusterSpec{Nodes: 3, Consistency: "quorum"}
	c, plane := startCluster(t, spec, true)
	nodes := memberAddrs(c)
	client := newKV(2 * time.Second)

	// n1 cannot reach n3: the write lands on n1 and n2 (w=2) only.
	link := plane.Proxy(faultplane.Link{From: "n1", To: "n3"})
	if err := link.Disable(); err != nil {
		t.Fatal(err)
	}
	if code, err := client.put(nodes["n1"], "rr", "fresh"); err != nil || code != http.StatusNoContent {
		t.Fatalf("quorum write with one replica unreachable: %d %v", code, err)
	}
	if ok, _ := replicaCopy(t, c, nodes["n3"], "rr"); ok {
		t.Fatal("n3 already holds the write; the link was supposed to be cut")
	}
	if err := link.Enable(); err != nil {
		t.Fatal(err)
	}
	// A read answers from a quorum and repairs the stale copy in the background.
	if code, v, err := client.get(nodes["n1"], "rr"); err != nil || code != http.StatusOK || v != "fresh" {
		t.Fatalf("read: %d %q %v", code, v, err)
	}
	testkit.Eventually(t, 5*time.Second, "n3 repaired", func() bool {
		ok, v := replicaCopy(t, c, nodes["n3"], "rr")
		return ok && v == "fresh"
	})
	if r := processtest.Metric(t, nodes["n1"], "chaosdemo_read_repairs_total", nil); r < 1 {
		t.Fatalf("chaosdemo_read_repairs_total = %v, want ≥ 1", r)
	}
}

// Last write wins on timestamps: a coordinator whose clock runs behind stamps
// its write older than one it has not heard of yet, and the later write is
// lost. Hybrid logical clocks hide skew only where messages carry it.
func TestQuorumModeLastWriteWinsLosesUpdatesUnderClockSkew(t *testing.T) {
	spec := demo.ClusterSpec{Nodes: 3, Consistency: "quorum"}
	c, plane := startCluster(t, spec, true)
	nodes := memberAddrs(c)
	client := newKV(3 * time.Second)

	// n2's clock runs 30 s behind, and n1's replication to n2 is slow, so n2
	// has not seen n1's write when it coordinates the next one.
	req, _ := http.NewRequest(http.MethodPost, "http://"+nodes["n2"]+"/control/v1/clock-skew", strings.NewReader(`{"offset":"-30s"}`))
	req.Header.Set("Authorization", "Bearer "+c.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("clock-skew: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := plane.Proxy(faultplane.Link{From: "n1", To: "n2"}).AddToxic("slow", "latency", "upstream", 1, toxiclient.Attributes{"latency": 500}); err != nil {
		t.Fatal(err)
	}
	if code, err := client.put(nodes["n1"], "lww", "first"); err != nil || code != http.StatusNoContent {
		t.Fatalf("first write: %d %v", code, err)
	}
	if code, err := client.put(nodes["n2"], "lww", "second"); err != nil || code != http.StatusNoContent {
		t.Fatalf("second write: %d %v", code, err)
	}
	// Both were acknowledged, one after the other; the second is lost.
	testkit.Eventually(t, 5*time.Second, "replicas converge", func() bool {
		_, a := replicaCopy(t, c, nodes["n1"], "lww")
		_, b := replicaCopy(t, c, nodes["n2"], "lww")
		_, d := replicaCopy(t, c, nodes["n3"], "lww")
		return a == b && b == d
	})
	if _, v, _ := client.get(nodes["n3"], "lww"); v != "first" {
		t.Fatalf("read %q; with n2's clock 30 s behind, last-write-wins should have kept the older write \"first\"", v)
	}
}
