package node

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo/internal/demotest"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
)

func TestSuspicionOrdersReadsAndExpires(t *testing.T) {
	clock := demotest.NewClock()
	m := metrics.New("n1")
	s := newSuspects(time.Second, clock.Now, m.ReplicaSuspected)
	peers := []string{"n3", "n1", "n2"} // a key's preference list

	if got := s.order("n1", peers); !equal(got, []string{"n1", "n3", "n2"}) {
		t.Fatalf("order with no suspect = %v, want self, then preference order", got)
	}
	s.observe("n3", false)
	if got := s.order("n1", peers); !equal(got, []string{"n1", "n2", "n3"}) {
		t.Fatalf("order with n3 suspected = %v, want it last", got)
	}
	if v := demotest.Value(t, m.ReplicaSuspected.WithLabelValues("n3")); v != 1 {
		t.Fatalf("chaosdemo_replica_suspected{n3} = %v, want 1", v)
	}
	clock.Advance(999 * time.Millisecond)
	if !s.suspected("n3") {
		t.Fatal("suspicion ended before SuspectFor passed")
	}
	clock.Advance(time.Millisecond)
	if s.suspected("n3") {
		t.Fatal("still suspected once SuspectFor passed; a peer that came back would never be asked first again")
	}
	if v := demotest.Value(t, m.ReplicaSuspected.WithLabelValues("n3")); v != 0 {
		t.Fatalf("chaosdemo_replica_suspected{n3} = %v after expiry, want 0", v)
	}
	s.observe("n2", false)
	s.observe("n2", true)
	if s.suspected("n2") {
		t.Fatal("an answer did not clear the suspicion")
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A replica that swallows every message (a partition that drops packets, as
// toxiproxy's timeout toxic does) costs its coordinator one hedge delay and
// one hung call per SuspectFor, not one per read: once its call has failed,
// reads go to the healthy replicas first until SuspectFor passes or it
// answers again.
func TestCoordinatorStopsAskingASilentReplicaFirst(t *testing.T) {
	clock := demotest.NewClock()
	cfg := threeNodes(RecoveryResync)
	cfg.Now = clock.Now
	cfg.SuspectFor = time.Second
	f := newFakeNet(t, cfg)
	testkit.Eventually(t, 5*time.Second, "the first start's catch-up", allRecovered(f))
	n1 := f.node("n1")

	// Keys whose targeted read from n1 asks n3 first (with n1 itself).
	var keys []string
	for i := 0; len(keys) < 20 && i < 10000; i++ {
		k := fmt.Sprintf("k%d", i)
		if n1.suspects.order("n1", n1.ring.Preference(k, 3))[1] == "n3" {
			keys = append(keys, k)
		}
	}
	if len(keys) < 20 {
		t.Fatalf("only %d keys read from n3 first", len(keys))
	}

	var mu sync.Mutex
	toN3 := 0
	f.setPolicy(func(m *message) fate {
		if m.kind == "read" && m.from == "n1" && m.to == "n3" {
			mu.Lock()
			toN3++
			mu.Unlock()
			return hold // n3 never answers
		}
		return deliver
	})
	asked := func() int { mu.Lock(); defer mu.Unlock(); return toN3 }
	read := func(k string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, _, err := n1.Read(ctx, k, "test"); err != nil {
			t.Fatalf("read %s with n2 reachable: %v", k, err)
		}
	}

	read(keys[0])
	if asked() != 1 {
		t.Fatalf("%d reads sent to n3 for the first read, want 1", asked())
	}
	testkit.Eventually(t, 5*time.Second, "n1 to suspect n3 once its hung call is abandoned", func() bool { return n1.suspects.suspected("n3") })
	for _, k := range keys[1:] {
		read(k)
	}
	if asked() != 1 {
		t.Fatalf("%d reads sent to n3 by %d reads while it was suspected, want only the first", asked(), len(keys))
	}

	// After SuspectFor it is asked first again, once; still silent, it is
	// suspected again.
	clock.Advance(time.Second)
	read(keys[1])
	if asked() != 2 {
		t.Fatalf("%d reads sent to n3 after SuspectFor passed, want 2", asked())
	}
	testkit.Eventually(t, 5*time.Second, "n1 to suspect n3 again", func() bool { return n1.suspects.suspected("n3") })

	// Healed: once the suspicion expires n3 answers and is asked first again
	// on every read.
	f.setPolicy(func(m *message) fate {
		if m.kind == "read" && m.from == "n1" && m.to == "n3" {
			mu.Lock()
			toN3++
			mu.Unlock()
		}
		return deliver
	})
	f.releaseAll()
	clock.Advance(time.Second)
	before := asked()
	for _, k := range keys[:5] {
		read(k)
	}
	if got := asked() - before; got != 5 {
		t.Fatalf("%d of 5 reads asked the healed n3, want every one", got)
	}
	if n1.suspects.suspected("n3") {
		t.Fatal("n3 still suspected after it answered")
	}
}
