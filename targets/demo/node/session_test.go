package node

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
)

// In eventual mode a session's write is acknowledged once the coordinator's
// own replica holds it and a session's read answers from that replica, so the
// session reads its write even when no other replica got it; a coordinator
// that is not one of the key's replicas coordinates as usual.
func TestSessionRequestsUseTheCoordinatorsOwnReplica(t *testing.T) {
	cfg := Config{
		Nodes: []string{"n1", "n2", "n3", "n4"}, VNodes: 8, N: 3, W: 1, R: 1,
		Consistency: Eventual, Timeout: time.Second, ResyncRetry: 5 * time.Millisecond,
	}
	f := newFakeNet(t, cfg)
	ctx := context.Background()
	const key = "k"
	prefs := f.node("n1").ring.Preference(key, 3)
	coord := prefs[1]
	var outsider string
	for _, id := range cfg.Nodes {
		if !slices.Contains(prefs, id) {
			outsider = id
		}
	}

	testkit.Eventually(t, 5*time.Second, "every node has caught up", func() bool {
		for _, id := range cfg.Nodes {
			if f.node(id).Recovering() {
				return false
			}
		}
		return true
	})

	// Nothing leaves or reaches the coordinator: the write lands on its own
	// replica only, and the read asks no one else.
	f.setPolicy(isolate(coord))
	if _, err := f.node(coord).WriteSession(ctx, key, []byte("mine"), false, "w1"); err != nil {
		t.Fatalf("session write on %s, cut off: %v", coord, err)
	}
	for _, p := range prefs {
		if p != coord && f.node(p).ReplicaRead(ctx, key).Found {
			t.Fatalf("%s holds the write although %s was cut off", p, coord)
		}
	}
	rec, found, err := f.node(coord).ReadSession(ctx, key, "r1")
	if err != nil || !found || string(rec.Value) != "mine" {
		t.Fatalf("session read on %s: %q found=%v err=%v, want its own write", coord, rec.Value, found, err)
	}

	// A later write elsewhere reaches the coordinator's replica: the session
	// reads it (newer), never the older one again.
	f.setPolicy(nil)
	other := prefs[0]
	if _, err := f.node(other).Write(ctx, key, []byte("theirs"), false, "w2"); err != nil {
		t.Fatalf("write on %s: %v", other, err)
	}
	testkit.Eventually(t, 5*time.Second, "the later write reaches "+coord, func() bool {
		r := f.node(coord).ReplicaRead(ctx, key)
		return r.Found && string(r.Rec.Value) == "theirs"
	})
	if rec, _, err := f.node(coord).ReadSession(ctx, key, "r2"); err != nil || string(rec.Value) != "theirs" {
		t.Fatalf("session read after a newer write: %q err=%v", rec.Value, err)
	}

	// Not a replica of the key: the outsider coordinates as usual (W = 1 of
	// the key's replicas), with no own copy to serve from.
	if _, err := f.node(outsider).WriteSession(ctx, key, []byte("outside"), false, "w3"); err != nil {
		t.Fatalf("session write on %s (not a replica): %v", outsider, err)
	}
	if f.node(outsider).ReplicaRead(ctx, key).Found {
		t.Fatalf("%s, not a replica of %s, stored it", outsider, key)
	}
}
