package raftkv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

type testNode struct {
	id     string
	store  *Store
	engine storage.Engine
	srv    *http.Server
}

func (n *testNode) stop() {
	_ = n.srv.Close()
	_ = n.store.Close()
}

// startGroup starts ids as one Raft group over real loopback TCP, each with
// its own HTTP server carrying the upgrade path.
func startGroup(t *testing.T, ids []string, st Settings) map[string]*testNode {
	t.Helper()
	lns := map[string]net.Listener{}
	addrs := map[string]string{}
	for _, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[id], addrs[id] = ln, ln.Addr().String()
	}
	log := logrus.New()
	log.SetLevel(logrus.ErrorLevel)
	nodes := map[string]*testNode{}
	for _, id := range ids {
		peers := map[string]string{}
		for p, a := range addrs {
			if p != id {
				peers[p] = a
			}
		}
		eng := storage.OpenMemory()
		s, err := New(Config{
			Self: id, Sets: [][]string{ids}, Route: func(string) []string { return ids },
			Peers: peers, PeerToken: "t", Engine: eng, Settings: st, Log: logrus.NewEntry(log),
		})
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: s.Handler()}
		go func() { _ = srv.Serve(lns[id]) }()
		n := &testNode{id: id, store: s, engine: eng, srv: srv}
		nodes[id] = n
		t.Cleanup(n.stop)
	}
	return nodes
}

func fastSettings() Settings {
	return Settings{HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond, LeaderLeaseTimeout: 100 * time.Millisecond, CommitTimeout: 5 * time.Millisecond}
}

// leaderOf waits for a leader among nodes (for want when it is not "": at
// the start, the group hands its lead to its first member) and returns it.
func leaderOf(t *testing.T, nodes map[string]*testNode, want string) *testNode {
	t.Helper()
	var leader *testNode
	testkit.Eventually(t, 10*time.Second, "a leader is elected", func() bool {
		for _, n := range nodes {
			if n.store.GroupOf("k").IsLeader() && (want == "" || n.id == want) {
				leader = n
				return true
			}
		}
		return false
	})
	return leader
}

// Writes through the leader are read back from it; a follower refuses both
// and names the leader; after the leader stops, the others elect one that
// has every acknowledged write; a follower that lagged past the trailing
// log catches up through a snapshot.
func TestGroupElectsReplicatesFailsOverAndSnapshots(t *testing.T) {
	st := fastSettings()
	st.SnapshotThreshold, st.TrailingLogs, st.SnapshotInterval = 8, 4, 50*time.Millisecond
	nodes := startGroup(t, []string{"n1", "n2", "n3"}, st)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	leader := leaderOf(t, nodes, "n1")
	for i := range 20 {
		if _, err := leader.store.GroupOf("k").Write(ctx, fmt.Sprintf("k%d", i%5), []byte(fmt.Sprint(i)), false); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	for _, n := range nodes {
		if n == leader {
			continue
		}
		// A follower learns the leader from its first heartbeat.
		testkit.Eventually(t, 5*time.Second, "follower "+n.id+" refuses a write naming "+leader.id, func() bool {
			_, err := n.store.GroupOf("k").Write(ctx, "k0", []byte("x"), false)
			var nl *NotLeaderError
			return errors.As(err, &nl) && nl.Leader == leader.id
		})
	}
	leader.stop()
	delete(nodes, leader.id)
	next := leaderOf(t, nodes, "")
	rec, found, err := next.store.GroupOf("k").Read(ctx, "k4", next.engine)
	if err != nil || !found || string(rec.Value) != "19" {
		t.Fatalf("read k4 on the new leader %s: %q %v %v, want 19", next.id, rec.Value, found, err)
	}
	// More writes make snapshots and truncate the log.
	for i := range 30 {
		if _, err := next.store.GroupOf("k").Write(ctx, "s", []byte(fmt.Sprint(i)), false); err != nil {
			t.Fatalf("write s %d: %v", i, err)
		}
	}
	for _, n := range nodes {
		testkit.Eventually(t, 5*time.Second, n.id+" applies the last write", func() bool {
			rec, _, _ := n.engine.Get("s")
			return string(rec.Value) == "29"
		})
	}
	if next.store.GroupOf("k").raft.Stats()["last_snapshot_index"] == "0" {
		t.Fatal("no snapshot was taken")
	}
}

// A leader cut off from its followers cannot confirm a ReadIndex read: it
// fails (or reports it no longer leads) instead of answering.
func TestReadIndexRefusesWhenTheLeaderIsCutOff(t *testing.T) {
	nodes := startGroup(t, []string{"n1", "n2", "n3"}, fastSettings())
	leader := leaderOf(t, nodes, "n1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := leader.store.GroupOf("k").Write(ctx, "k", []byte("v"), false); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n != leader {
			n.stop()
		}
	}
	rctx, rcancel := context.WithTimeout(ctx, time.Second)
	defer rcancel()
	if _, _, err := leader.store.GroupOf("k").Read(rctx, "k", leader.engine); err == nil {
		t.Fatal("a leader without a quorum answered a linearizable read")
	}
}
