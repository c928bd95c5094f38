package node

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo/api"
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

// ask sends one client request to n's handler with ctx's deadline and returns
// the answer.
func ask(ctx context.Context, n *Node, method, key string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, api.KVPrefix+key, nil)
	api.SetOutgoing(ctx, r, "")
	w := httptest.NewRecorder()
	n.Handler().ServeHTTP(w, r)
	return w
}

// A coordinator that fails a read says whose failure it was. Cut off from
// every peer it is its own (no X-Failure-Cause: a caller's breaker should
// route around it). With one peer dead (refusing at once, as a killed
// container's proxy does) and the other slow for this key but answering other
// requests meanwhile, it was in touch with a quorum: the replicas were slow,
// and it says so (api.CauseReplicas) so that a gateway does not open its
// breaker to every healthy coordinator. Either way it answers a little before
// the caller's deadline, so the answer arrives while the caller still listens.
func TestCoordinatorSaysWhoseFailureItWas(t *testing.T) {
	f, _ := settledNet(t)
	n1 := f.node("n1")
	const budget, slowBudget = 300 * time.Millisecond, 3 * time.Second

	f.setPolicy(func(m *message) fate {
		if m.from == "n1" || m.to == "n1" {
			return hold
		}
		return deliver
	})
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	w := ask(ctx, n1, http.MethodGet, key)
	if (w.Code != http.StatusGatewayTimeout && w.Code != http.StatusServiceUnavailable) || w.Header().Get(api.HeaderCause) != "" {
		t.Fatalf("read through a cut-off coordinator = %d with %s %q, want 504 or 503 with no cause (its own failure)",
			w.Code, api.HeaderCause, w.Header().Get(api.HeaderCause))
	}
	f.setPolicy(nil)
	f.releaseAll()

	const other = "other-key"
	f.setPolicy(func(m *message) fate {
		switch {
		case m.to == "n2" || m.from == "n2":
			return drop // dead: refused at once
		case m.kind == "read" && m.to == "n3" && m.key == key:
			return hold // slow for this key only
		}
		return deliver
	})
	answer := make(chan *httptest.ResponseRecorder, 1)
	// The held read waits out its whole budget; the read of the other key
	// must be answered inside it, which on a busy machine takes more than
	// the 300 ms a quiet one needs.
	ctx, cancel = context.WithTimeout(context.Background(), slowBudget)
	defer cancel()
	clientDeadline, _ := ctx.Deadline()
	go func() { answer <- ask(ctx, n1, http.MethodGet, key) }()
	var deadlineSeen time.Time
	testkit.Eventually(t, 5*time.Second, "the read of "+key+" to wait on n3", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, m := range f.held {
			if m.key == key {
				ns, _ := strconv.ParseInt(m.header.Get(api.HeaderDeadline), 10, 64)
				deadlineSeen = time.Unix(0, ns)
				return true
			}
		}
		return false
	})
	octx, ocancel := context.WithTimeout(context.Background(), budget)
	defer ocancel()
	if w := ask(octx, n1, http.MethodGet, other); w.Code != http.StatusOK && w.Code != http.StatusNotFound {
		t.Fatalf("read of %s with n3 answering = %d %s, want 200 or 404", other, w.Code, w.Body)
	}
	w = <-answer
	// 504 when the caller's budget ran out first, 503 when the node's own
	// replica timeout did: either way a quorum failure, and not n1's.
	if (w.Code != http.StatusGatewayTimeout && w.Code != http.StatusServiceUnavailable) || w.Header().Get(api.HeaderCause) != api.CauseReplicas {
		t.Fatalf("read with n2 dead and n3 slow = %d with %s %q, want 504 or 503 with cause %q (n1 heard from n3 meanwhile)",
			w.Code, api.HeaderCause, w.Header().Get(api.HeaderCause), api.CauseReplicas)
	}
	if margin := clientDeadline.Sub(deadlineSeen); margin < time.Millisecond {
		t.Fatalf("n1 asked n3 with a deadline %s before the caller's, want at least 1ms: no time left to answer the caller", margin)
	}
}
