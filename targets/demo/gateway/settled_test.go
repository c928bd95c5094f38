package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo/resilience"
)

// A gateway is unsettled while acknowledged writes wait behind it, and
// settled once they reached the store: a read-back of the store before then
// would report them lost.
func TestUnsettledWhileWritesWaitBehind(t *testing.T) {
	g, n1 := newBehindGateway(t, 8)
	if why := g.Unsettled(); why != "" {
		t.Fatalf("a fresh gateway is unsettled: %q", why)
	}
	release := n1.holdRequests(http.MethodPut)
	defer release()
	for i, k := range []string{"a", "b"} {
		if a := do(t, http.MethodPut, g.url+"/kv/"+k, "v", nil); a.code != http.StatusNoContent {
			t.Fatalf("PUT %d = %d, want 204", i, a.code)
		}
	}
	if why := g.Unsettled(); !strings.Contains(why, "2 acknowledged writes not yet flushed") {
		t.Fatalf("with 2 writes held: Unsettled() = %q, want the 2 queued writes named", why)
	}
	release()
	testkit.Eventually(t, 10*time.Second, "the queue to flush", func() bool { return g.Unsettled() == "" })
}

// A gateway is unsettled while a breaker is open (a read through it is
// refused, not answered), and settled again once the breaker lets a call
// try the node (half-open).
func TestUnsettledWhileABreakerIsOpen(t *testing.T) {
	nodes := startNodes(t, "n1", "n2", "n3")
	res := fastResilience()
	res.Breaker = resilience.BreakerConfig{Failures: 3, OpenFor: 300 * time.Millisecond}
	g := newTestGateway(t, Config{Replicas: 3, Resilience: res}, nodes)
	keys := keysWithPrimary(t, g.Ring(), "n1", 3)
	for _, k := range keys {
		for _, n := range nodes {
			n.put(k, "v")
		}
	}
	nodes["n1"].mode.Store(modeUnavailable)
	for _, k := range keys {
		do(t, http.MethodGet, g.url+"/kv/"+k, "", nil)
	}
	if why := g.Unsettled(); why != "breakers open to n1" {
		t.Fatalf("after n1 failed 3 times: Unsettled() = %q, want %q", why, "breakers open to n1")
	}
	testkit.Eventually(t, 10*time.Second, "n1's breaker to turn half-open", func() bool { return g.Unsettled() == "" })
}
