package process_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/slo"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process"
)

// setClockOffset applies the clock-skew fault to member id.
func setClockOffset(t *testing.T, c *process.Cluster, id, offset string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+memberAddrs(c)[id]+"/control/v1/clock-skew", strings.NewReader(`{"offset":"`+offset+`"}`))
	req.Header.Set("Authorization", "Bearer "+c.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("clock-skew %s on %s: %v", offset, id, err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("clock-skew %s on %s: %s", offset, id, resp.Status)
	}
}

// partitionLeaderAndSetItsClockBack runs raftHistory with reads (index or
// lease) for 12 s and, as its fault, cuts the leader off from both followers and at
// once sets its clock back by back (0: leaves it); after 3 s it heals both.
func partitionLeaderAndSetItsClockBack(t *testing.T, reads string, back time.Duration) ([]slo.Op, int) {
	t.Helper()
	spec := raftSpec(demo.PersistMemory)
	spec.RaftReads = reads
	c, plane := startCluster(t, spec, true)
	return raftHistory(t, c, 12*time.Second, func(leader string) {
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
		if back > 0 {
			setClockOffset(t, c, leader, (-back).String())
		}
		t.Logf("partitioned %s and set its clock %s back; %s leads", leader, back, raftLeader(t, c, leader))
		time.Sleep(3 * time.Second) // the partition's length, not synchronisation
		for _, l := range cut {
			if err := plane.Enable(l, "test"); err != nil {
				t.Error(err)
			}
		}
		if back > 0 {
			setClockOffset(t, c, leader, "0s")
		}
	})
}

// Lease reads trust the leader's clock: cut off from the quorum, its lease
// is no longer renewed, but with its clock set back it believes the lease
// holds and answers reads alone while the majority elects a new leader and
// accepts writes. The history is not linearizable.
func TestRaftLeaseReadsAreStaleWhenTheCutOffLeadersClockIsSetBack(t *testing.T) {
	ops, _ := partitionLeaderAndSetItsClockBack(t, "lease", 30*time.Second)
	res := slo.CheckLinearizable(ops, 30*time.Second)
	t.Logf("%d operations: %s: %s (%s)", len(ops), res.Verdict, res.Detail, res.Took)
	if res.Verdict != slo.Fail {
		t.Fatalf("lease reads under a partition and a clock set back: verdict %s, want fail: %s", res.Verdict, res.Detail)
	}
}

// The same faults with ReadIndex reads: the cut-off leader cannot confirm
// its lead with a quorum, so it answers no read, and the history stays
// linearizable.
func TestRaftIndexReadsStayLinearizableWhenTheCutOffLeadersClockIsSetBack(t *testing.T) {
	ops, after := partitionLeaderAndSetItsClockBack(t, "index", 30*time.Second)
	checkRaftHistory(t, ops, after)
}

// The control: lease reads with a true clock. The cut-off leader's lease
// runs out before the followers' election timeout, so it stops answering
// before a new leader can accept a write; the history stays linearizable.
func TestRaftLeaseReadsStayLinearizableWhenTheCutOffLeadersClockIsTrue(t *testing.T) {
	ops, after := partitionLeaderAndSetItsClockBack(t, "lease", 0)
	checkRaftHistory(t, ops, after)
}
