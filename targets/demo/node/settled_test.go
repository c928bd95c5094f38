package node

import (
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// A node is unsettled while it holds hints for a peer it knows (a read of
// the peer's copy would miss the write on its way), and settled once it
// handed them off. A hint for a member it does not know is never delivered
// and does not keep it unsettled.
func TestUnsettledWhileHoldingHints(t *testing.T) {
	f := newFakeNet(t, threeNodes(RecoveryNone))
	f.setPolicy(isolate("n2"))
	n1 := f.node("n1")
	if why := n1.Unsettled(); why != "" {
		t.Fatalf("a fresh node is unsettled: %q", why)
	}
	rec := storage.Seal("k", storage.Record{Version: storage.Version{Time: 1, Node: 1, Seq: 1}, Value: []byte("v")})
	if err := n1.engine.PutHint("n2", "k", rec); err != nil {
		t.Fatal(err)
	}
	if err := n1.engine.PutHint("stranger", "k", rec); err != nil {
		t.Fatal(err)
	}
	if why := n1.Unsettled(); why != "holds hints to hand off to n2" {
		t.Fatalf("with a hint for n2 (cut off): Unsettled() = %q", why)
	}
	f.setPolicy(nil)
	testkit.Eventually(t, 10*time.Second, "the hint to be handed off", func() bool { return n1.Unsettled() == "" })
}

// A node restarted empty is unsettled while it catches up from its peers.
func TestUnsettledWhileRecovering(t *testing.T) {
	f := newFakeNet(t, threeNodes(RecoveryResync))
	f.setPolicy(isolate("n2"))
	n2 := f.crash("n2", RecoveryResync)
	if why := n2.Unsettled(); !strings.HasPrefix(why, "recovering") {
		t.Fatalf("a node restarted empty and cut off: Unsettled() = %q, want recovering", why)
	}
	f.setPolicy(nil)
	testkit.Eventually(t, 10*time.Second, "n2 to catch up", func() bool { return n2.Unsettled() == "" })
}
