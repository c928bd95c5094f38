package node

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/slo"
	"github.com/chaosctl/chaosctl/targets/demo/internal/demotest"
)

// These tests replay, on the fake network, the interleavings that made a
// linearizable demo cluster lose acknowledged writes, and check each history
// with the project's linearizability checker.

const key = "k"

func background(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// settledNet is the quickstart's three nodes on a fake network, caught up
// after their first start, and a history to record.
func settledNet(t *testing.T) (*fakeNet, *historian) {
	f := newFakeNet(t, threeNodes(RecoveryResync))
	testkit.Eventually(t, 5*time.Second, "the first start's catch-up", allRecovered(f))
	return f, &historian{}
}

func allRecovered(f *fakeNet) func() bool {
	return func() bool {
		for _, id := range f.cfg.Nodes {
			if f.node(id).Recovering() {
				return false
			}
		}
		return true
	}
}

// Amnesia: n1 is cut off while a write is acknowledged by n2 and n3; after
// the partition heals, n2 is killed and restarts with an empty in-memory
// store. A read quorum of n1 (stale) and the restarted n2 misses the write.
func TestAmnesia(t *testing.T) {
	setup := func(t *testing.T, recovery string) (*fakeNet, *historian) {
		f := newFakeNet(t, threeNodes(recovery))
		testkit.Eventually(t, 5*time.Second, "the first start's catch-up", allRecovered(f))
		h := &historian{}
		f.setPolicy(isolate("n1"))
		n2 := f.node("n2")
		if code, _ := h.do(background(t), n2, http.MethodPut, key, "a"); code != http.StatusNoContent {
			t.Fatalf("put through n2 while n1 is cut off: %d, want 204 (n2 and n3 are a majority)", code)
		}
		// Replication goes on after the answer: let the copy to n1 be
		// dropped before the partition heals.
		n2.background.Wait()
		f.setPolicy(nil)
		return f, h
	}

	t.Run("recovery none loses the write", func(t *testing.T) {
		f, h := setup(t, RecoveryNone)
		f.crash("n2", RecoveryNone)
		f.setPolicy(cut("n1", "n3")) // the read's quorum is n1 and n2
		code, got := h.do(background(t), f.node("n1"), http.MethodGet, key, "")
		if code != http.StatusNotFound {
			t.Fatalf("read through n1 = %d %q; this demonstration expects the amnesic 404", code, got)
		}
		if res := h.linearizable(t); res.Verdict != slo.Fail {
			t.Fatalf("the checker did not flag amnesia: %s %s\n%s", res.Verdict, res.Detail, h.dump())
		}
	})

	t.Run("resync keeps it", func(t *testing.T) {
		f, h := setup(t, RecoveryResync)
		// The restarted node cannot catch up while its snapshots are held:
		// it answers no replica read, so the read fails rather than lie.
		f.setPolicy(both(cut("n1", "n3"), match("snapshot", "n3", hold)))
		n2 := f.crash("n2", RecoveryResync)
		testkit.Eventually(t, 5*time.Second, "n2 to ask n3 for its snapshot", func() bool { return f.heldCount() > 0 })
		if !n2.Recovering() {
			t.Fatal("n2 finished recovering with only one of its two peers' snapshots")
		}
		if code, got := h.do(background(t), f.node("n1"), http.MethodGet, key, ""); code == http.StatusOK || code == http.StatusNotFound {
			t.Fatalf("read through n1 while n2 recovers = %d %q, want a failure (no quorum of caught-up replicas)", code, got)
		}
		f.setPolicy(cut("n1", "n3"))
		f.releaseAll()
		testkit.Eventually(t, 5*time.Second, "n2 to catch up", func() bool { return !n2.Recovering() })
		code, got := h.do(background(t), f.node("n1"), http.MethodGet, key, "")
		if code != http.StatusOK || got != "a" {
			t.Fatalf("read through n1 after n2 caught up = %d %q, want 200 \"a\"", code, got)
		}
		if res := h.linearizable(t); res.Verdict != slo.Pass {
			t.Fatalf("history not linearizable: %s %s\n%s", res.Verdict, res.Detail, h.dump())
		}
		if v := demotest.Value(t, n2.recovery.m.KeysCopied); v < 1 {
			t.Fatalf("chaosdemo_resync_keys_copied_total = %v, want at least the one key", v)
		}
		if v := demotest.Value(t, n2.recovery.m.Recovering); v != 0 {
			t.Fatalf("chaosdemo_recovering = %v after catching up, want 0", v)
		}
	})
}

// A client's write delayed on its way to the coordinator past its deadline
// (a latency fault): the client has been told it failed (a gateway's retry
// elsewhere answered 503). Worked on with a fresh budget on arrival, it
// would take effect after its failure was reported.
func TestLateRequestAfterDeadline(t *testing.T) {
	f, h := settledNet(t)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	late := h.prepare(ctx, http.MethodPut, key, "a")
	<-ctx.Done() // in transit until its caller has given up
	n1 := f.node("n1")
	code, _ := h.deliver(n1, late)
	h.ops[len(h.ops)-1].Outcome = slo.OutcomeFail // what the client was told
	rcode, got := h.do(background(t), f.node("n2"), http.MethodGet, key, "")
	if res := h.linearizable(t); res.Verdict != slo.Pass {
		t.Fatalf("history not linearizable: %s %s\n%s", res.Verdict, res.Detail, h.dump())
	}
	if code != http.StatusGatewayTimeout || rcode != http.StatusNotFound {
		t.Fatalf("a request past its deadline got %d (want 504, not worked on); the read after it %d %q (want 404)", code, rcode, got)
	}
	if v := demotest.Value(t, n1.metrics.DeadlineDropped.WithLabelValues("coordinator")); v != 1 {
		t.Fatalf("chaosdemo_deadline_dropped_total{stage=coordinator} = %v, want 1", v)
	}
}

// Replica messages held on the network past their coordinator's deadline: a
// late replica write is still applied (its write was reported indeterminate,
// which allows it to land later, and the version rule keeps it from
// overwriting a newer write), and the history stays linearizable; a late
// replica read is refused, since nobody waits for its answer.
func TestLateReplicaMessages(t *testing.T) {
	f, h := settledNet(t)
	f.setPolicy(func(m *message) fate {
		if m.kind == "write" && m.from == "n1" {
			return hold
		}
		return deliver
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if code, _ := h.do(ctx, f.node("n1"), http.MethodPut, key, "a"); code != http.StatusInternalServerError && code != http.StatusGatewayTimeout {
		t.Fatalf("a write that reached only its coordinator = %d, want 500 or 504 (indeterminate)", code)
	}
	// b is written through n2 and n3 while a's copies are still in flight.
	f.setPolicy(func(m *message) fate {
		if m.kind == "write" && m.from == "n1" {
			return hold
		}
		if m.to == "n1" {
			return drop
		}
		return deliver
	})
	if code, _ := h.do(background(t), f.node("n2"), http.MethodPut, key, "b"); code != http.StatusNoContent {
		t.Fatalf("put b through n2 = %d, want 204", code)
	}
	f.setPolicy(nil)
	if n := f.releaseAll(); n != 2 {
		t.Fatalf("released %d held replica writes, want a's 2 (to n2 and n3)", n)
	}
	if code, got := h.do(background(t), f.node("n3"), http.MethodGet, key, ""); code != http.StatusOK || got != "b" {
		t.Fatalf("read after a's late copies landed = %d %q, want 200 \"b\" (a is older)", code, got)
	}
	if res := h.linearizable(t); res.Verdict != slo.Pass {
		t.Fatalf("history not linearizable: %s %s\n%s", res.Verdict, res.Detail, h.dump())
	}

	// A replica read that arrives after its deadline is not worked on.
	f.setPolicy(match("read", "n2", hold))
	rctx, rcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer rcancel()
	rep := f.node("n1").transport.Read(rctx, "n2", key, true, "")
	if rep.Err == nil {
		t.Fatal("a held replica read answered before its deadline")
	}
	f.setPolicy(nil)
	before := demotest.Value(t, f.node("n2").metrics.DeadlineDropped.WithLabelValues("replica"))
	f.releaseAll()
	if v := demotest.Value(t, f.node("n2").metrics.DeadlineDropped.WithLabelValues("replica")); v != before+1 {
		t.Fatalf("chaosdemo_deadline_dropped_total{stage=replica} on n2 = %v, want %v: the late read was worked on", v, before+1)
	}
}

// A delayed write of an older version reaches a replica whose newer copy is
// corrupt. Replacing the corrupt copy with the older version rolls the
// replica back, and a read quorum of it and a stale replica returns a value
// older than an acknowledged write.
func TestCorruptCopyNotRolledBack(t *testing.T) {
	f, h := settledNet(t)

	// put a: acknowledged by n1 and n2; its copy to n3 stays in flight.
	f.setPolicy(match("write", "n3", hold))
	if code, _ := h.do(background(t), f.node("n1"), http.MethodPut, key, "a"); code != http.StatusNoContent {
		t.Fatalf("put a = %d, want 204", code)
	}
	// Replication goes on after the answer: wait for the copy to n3 to be
	// on its way.
	testkit.Eventually(t, 5*time.Second, "put a's copy to n3 to be sent", func() bool { return f.heldCount() == 1 })
	// put b: acknowledged by n2 and n3; n1 misses it.
	f.setPolicy(func(m *message) fate {
		if m.to == "n1" || (m.kind == "write" && m.to == "n3" && m.from == "n1") {
			return drop
		}
		return deliver
	})
	if code, _ := h.do(background(t), f.node("n2"), http.MethodPut, key, "b"); code != http.StatusNoContent {
		t.Fatalf("put b = %d, want 204", code)
	}
	n3 := f.node("n3")
	if damaged, err := n3.Corrupt(1, 7); err != nil || len(damaged) != 1 {
		t.Fatalf("corrupt n3's copy of b: %v %v", damaged, err)
	}
	f.setPolicy(nil)
	if n := f.releaseAll(); n != 1 {
		t.Fatalf("released %d held writes, want put a's copy to n3", n)
	}
	// Read through n1 with n2 out of reach: the quorum is n1 (a) and n3.
	f.setPolicy(cut("n1", "n2"))
	code, got := h.do(background(t), f.node("n1"), http.MethodGet, key, "")
	if code == http.StatusOK && got == "a" {
		t.Fatalf("read returned %q after b was acknowledged: n3's corrupt copy of b was rolled back to a", got)
	}
	if res := h.linearizable(t); res.Verdict != slo.Pass {
		t.Fatalf("history not linearizable: %s %s\n%s", res.Verdict, res.Detail, h.dump())
	}
	if v := demotest.Value(t, n3.metrics.Corruptions.WithLabelValues("rollback_refused")); v != 1 {
		t.Fatalf("chaosdemo_corruptions_total{event=rollback_refused} = %v on n3, want 1", v)
	}
}

// A coordinator cut off from its peers answers a write 503 (nothing was
// written) after half the caller's budget, so the caller still has time to
// try another node; a write that reached a replica answers 500.
func TestCutOffCoordinatorAnswersNoEffectEarly(t *testing.T) {
	f, h := settledNet(t)
	// Packets to and from n1 vanish (held until the test ends): callers time out.
	f.setPolicy(func(m *message) fate {
		if m.from == "n1" || m.to == "n1" {
			return hold
		}
		return deliver
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	code, _ := h.do(ctx, f.node("n1"), http.MethodPut, key, "a")
	took := time.Since(start)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("write through a cut-off coordinator = %d, want 503 (its version query failed: nothing written)", code)
	}
	if dl, _ := ctx.Deadline(); time.Until(dl) < 500*time.Millisecond {
		t.Fatalf("the 503 came after %s, leaving %s of a 2s budget; want about half left", took, time.Until(dl))
	}
	if _, found, _ := f.node("n1").engine.Get(key); found {
		t.Fatal("a write answered 503 stored its value on the coordinator")
	}
	if code, _ := h.do(background(t), f.node("n2"), http.MethodPut, key, "b"); code != http.StatusNoContent {
		t.Fatalf("write through n2 (with n3, a majority) = %d, want 204", code)
	}
	if code, got := h.do(background(t), f.node("n3"), http.MethodGet, key, ""); code != http.StatusOK || got != "b" {
		t.Fatalf("read through n3 = %d %q, want 200 \"b\"", code, got)
	}
	if res := h.linearizable(t); res.Verdict != slo.Pass {
		t.Fatalf("history not linearizable: %s %s\n%s", res.Verdict, res.Detail, h.dump())
	}
}
