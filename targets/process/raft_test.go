package process_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/slo"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process"
)

// raftLeader asks every running node which node leads the (one) group of a
// 3-node cluster, and returns it once a node that leads says so.
func raftLeader(t *testing.T, c *process.Cluster, except string) string {
	t.Helper()
	addrs := memberAddrs(c)
	client := &http.Client{Timeout: time.Second}
	var leader string
	testkit.Eventually(t, 15*time.Second, "a raft leader other than "+except, func() bool {
		for _, id := range c.Spec().NodeIDs() {
			if id == except {
				continue
			}
			resp, err := client.Get("http://" + addrs[id] + "/debug/raft")
			if err != nil {
				continue
			}
			var st []struct {
				State, Leader string
			}
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err == nil && len(st) == 1 && st[0].State == "Leader" {
				leader = id
				return true
			}
		}
		return false
	})
	return leader
}

// raftHistory drives concurrent clients, each bound to one store node (so
// followers forward to the leader), over a few keys of a 3-node Raft
// cluster for run; fault is called halfway with the leader and returns the
// time its effect ends. It returns the history and how many operations
// succeeded after the fault ended.
func raftHistory(t *testing.T, c *process.Cluster, run time.Duration, fault func(leader string)) (ops []slo.Op, afterOK int) {
	t.Helper()
	addrs := memberAddrs(c)
	nodes := c.Spec().NodeIDs()
	// Settled: the group has handed its lead to n1, so the fault below hits
	// the leader and not a node about to lose the lead anyway.
	if err := c.WaitSettled(context.Background(), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	leader := raftLeader(t, c, "")
	client := newKV(2 * time.Second)
	start := time.Now()
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		healed  int64
		stopped = make(chan struct{})
	)
	// 8 keys: the checker searches each key's history on its own, and a
	// crash leaves many writes of unknown outcome; over 4 keys one search
	// once ran past its 30 s budget (inconclusive).
	const clients, maxOps, keys = 6, 3000, 8
	for ci := range clients {
		addr := addrs[nodes[ci%len(nodes)]]
		wg.Go(func() {
			for i := 0; i < maxOps && time.Since(start) < run; i++ {
				op := client.registerOp(addr, ci, i, uint64(ci*maxOps+i), fmt.Sprintf("k%d", (ci*7+i)%keys), start)
				mu.Lock()
				ops = append(ops, op)
				if healed > 0 && op.Invoke > healed && op.Outcome == slo.OutcomeOK {
					afterOK++
				}
				mu.Unlock()
				// A client paces itself (a failed one backs off longer, as the
				// workload's retries would), so the run lasts past the fault.
				pause := 3 * time.Millisecond
				if op.Outcome != slo.OutcomeOK {
					pause = 20 * time.Millisecond
				}
				select {
				case <-time.After(pause):
				case <-stopped:
				}
			}
		})
	}
	time.Sleep(run / 3) // the schedule of the fault, not synchronisation
	fault(leader)
	mu.Lock()
	healed = int64(time.Since(start))
	mu.Unlock()
	wg.Wait()
	close(stopped)
	return ops, afterOK
}

func checkRaftHistory(t *testing.T, ops []slo.Op, afterOK int) {
	t.Helper()
	res := slo.CheckLinearizable(ops, 30*time.Second)
	ok := 0
	for _, op := range ops {
		if op.Outcome == slo.OutcomeOK {
			ok++
		}
	}
	t.Logf("%d operations, %d ok, %d ok after the fault: %s (%s)", len(ops), ok, afterOK, res.Detail, res.Took)
	if res.Verdict != slo.Pass {
		t.Fatalf("raft mode: verdict %s: %s", res.Verdict, res.Detail)
	}
	if afterOK < 20 {
		t.Fatalf("only %d operations succeeded after the fault; a majority remains, so the cluster must serve again", afterOK)
	}
}

func raftSpec(persistence string) demo.ClusterSpec {
	return demo.ClusterSpec{Nodes: 3, Consistency: "raft", Persistence: persistence, Resilience: demo.Resilience{Timeout: 2 * time.Second}}
}

// The leader is cut off from both followers (every node→node link to and
// from it disabled) for 2 s: the followers elect a new leader, the old one
// steps down, and the history stays linearizable.
func TestRaftModeIsLinearizableWhileTheLeaderIsPartitioned(t *testing.T) {
	c, plane := startCluster(t, raftSpec(demo.PersistMemory), true)
	ops, after := raftHistory(t, c, 8*time.Second, func(leader string) {
		var cut []faultplane.Link
		for _, l := range plane.Links() {
			if l.From == leader || l.To == leader {
				cut = append(cut, l)
			}
		}
		for _, l := range cut {
			if err := plane.Disable(l, "test"); err != nil {
				t.Error(err)
			}
		}
		next := raftLeader(t, c, leader)
		t.Logf("partitioned %s; %s leads", leader, next)
		time.Sleep(time.Second) // the partition's length, not synchronisation
		for _, l := range cut {
			if err := plane.Enable(l, "test"); err != nil {
				t.Error(err)
			}
		}
	})
	checkRaftHistory(t, ops, after)
}

// The leader is SIGKILLed and restarted with its disk: the others elect a
// new leader, and the restarted node rejoins as a follower.
func TestRaftModeIsLinearizableWhenTheLeaderCrashes(t *testing.T) {
	c, _ := startCluster(t, raftSpec(demo.PersistDisk), true)
	ops, after := raftHistory(t, c, 8*time.Second, func(leader string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := c.Kill(ctx, leader); err != nil {
			t.Error(err)
			return
		}
		t.Logf("killed %s; %s leads", leader, raftLeader(t, c, leader))
		if err := c.StartMember(ctx, leader); err != nil {
			t.Error(err)
		}
	})
	checkRaftHistory(t, ops, after)
}

// The leader is paused (SIGSTOP) for 1.5 s: the others elect a new leader;
// when the old one resumes it still believes it leads until it hears the
// new term, and ReadIndex keeps it from answering reads meanwhile.
func TestRaftModeIsLinearizableWhileTheLeaderIsPaused(t *testing.T) {
	c, _ := startCluster(t, raftSpec(demo.PersistMemory), true)
	ops, after := raftHistory(t, c, 8*time.Second, func(leader string) {
		if err := c.Pause(leader); err != nil {
			t.Error(err)
			return
		}
		t.Logf("paused %s; %s leads", leader, raftLeader(t, c, leader))
		time.Sleep(time.Second) // the pause's length, not synchronisation
		if err := c.Resume(leader); err != nil {
			t.Error(err)
		}
	})
	checkRaftHistory(t, ops, after)
}
