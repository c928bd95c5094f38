package node

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/metrics"
)

// Recovery modes of a node that starts without its state (in-memory storage
// after a restart).
const (
	// RecoveryResync: the node starts recovering. It takes writes but answers
	// no replica read, so it counts toward no read or version-query quorum,
	// until it has copied the records of every key it replicates from enough
	// peers that every write a quorum acknowledged is among them. This is
	// Viewstamped Replication's "recovering" status, and Cassandra's
	// bootstrap, for a quorum store.
	RecoveryResync = "resync"
	// RecoveryNone: the node answers at once with whatever it holds, an empty
	// store after a restart. A write acknowledged by it and one other replica
	// may then have a single live copy, and a read quorum of the restarted
	// node and a stale replica misses it: amnesia, shown on purpose.
	RecoveryNone = "none"
)

// DefaultResyncRetry is how long a recovering node waits before asking again
// the peers that did not answer.
const DefaultResyncRetry = 200 * time.Millisecond

// A recovering node asks again every resyncEagerRetry during its first
// resyncEagerFor.
const (
	resyncEagerRetry = 10 * time.Millisecond
	resyncEagerFor   = 2 * time.Second
)

// recovery is a node's recovering status and catch-up.
type recovery struct {
	recovering atomic.Bool
	started    time.Time
	m          *metrics.Recovery // nil without metrics
}

func (r *recovery) active() bool { return r.recovering.Load() }

// sourcesNeeded is how many OTHER replicas of a replica set a recovering node
// must copy from. A write acknowledged by W replicas, this node among them,
// survives on at least W-1 of the other N-1; any N-W+1 of those others include
// one of them, since (W-1) + (N-W+1) = N > N-1. Fewer would miss some write;
// a set smaller than that (n=1) has nobody to ask, and its data is gone with
// the restart whatever the node does.
func sourcesNeeded(n, w, others int) int {
	return min(n-w+1, others)
}

// resync copies, from its peers, the records of every key this node
// replicates, until each of its replica sets is covered by sourcesNeeded
// peers, then ends the recovering status. Peers that do not answer are asked
// again every retry. A peer that is itself recovering counts: what a quorum
// acknowledged survives on the peers that did not lose their state, and a
// write whose every surviving copy was on two restarted nodes is beyond what
// the replication factor tolerates.
func (n *Node) resync(ctx context.Context, retry time.Duration) {
	sets := n.ring.ReplicaSets(n.cfg.N)
	var mine [][]string // the other replicas of each set this node is in
	for _, s := range sets {
		others, in := make([]string, 0, len(s)), false
		for _, p := range s {
			if p == n.cfg.ID {
				in = true
			} else {
				others = append(others, p)
			}
		}
		if in {
			mine = append(mine, others)
		}
	}
	covered := func(answered map[string]bool) bool {
		for _, others := range mine {
			got := 0
			for _, p := range others {
				if answered[p] {
					got++
				}
			}
			if got < sourcesNeeded(n.cfg.N, n.cfg.W, len(others)) {
				return false
			}
		}
		return true
	}
	peers := map[string]bool{}
	for _, others := range mine {
		for _, p := range others {
			peers[p] = true
		}
	}
	var copied atomic.Int64
	log := n.log.WithField("peers", len(peers))
	log.Info("recovering: copying the keys this node replicates from its peers before answering reads")

	// One asker per peer, each trying until its peer answers once: a peer
	// that hangs (a partition that drops packets) holds up only itself, and
	// the catch-up ends as soon as the peers that answered cover every
	// replica set.
	askCtx, stopAsking := context.WithCancel(ctx)
	var askers sync.WaitGroup
	defer func() { stopAsking(); askers.Wait() }()
	answers := make(chan string, len(peers))
	for p := range peers {
		askers.Go(func() {
			for attempt := 1; ; attempt++ {
				k, err := n.copyFrom(askCtx, p)
				if err == nil {
					copied.Add(int64(k))
					answers <- p
					return
				}
				if attempt == 1 || attempt%25 == 0 {
					log.WithError(err).WithField("peer", p).Debug("resync: peer did not answer; asking again")
				}
				// When the whole cluster starts, the peers come up within
				// milliseconds of each other: ask again at once for a
				// while, so the first start's catch-up is over before
				// clients arrive, then back off to retry (a peer cut off
				// or down for longer).
				wait := retry
				if time.Since(n.recovery.started) < resyncEagerFor {
					wait = min(retry, resyncEagerRetry)
				}
				t := time.NewTimer(wait)
				select {
				case <-askCtx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		})
	}
	answered := map[string]bool{}
	for !covered(answered) {
		select {
		case p := <-answers:
			answered[p] = true
		case <-ctx.Done():
			log.Info("recovering: stopped before catching up")
			return
		}
	}
	took := time.Since(n.recovery.started)
	n.recovery.recovering.Store(false)
	if m := n.recovery.m; m != nil {
		m.Recovering.Set(0)
		m.ResyncSeconds.Set(took.Seconds())
		m.Resyncs.Inc()
	}
	from := make([]string, 0, len(answered))
	for p := range answered {
		from = append(from, p)
	}
	sort.Strings(from)
	log.WithFields(map[string]any{"took": took.Round(time.Millisecond).String(), "applied": copied.Load(), "from": strings.Join(from, ",")}).
		Info("recovered: caught up from a quorum of peers; answering reads again")
}

// copyFrom applies peer's snapshot of this node's keys; it returns how many
// records were newer than this node's copy.
func (n *Node) copyFrom(ctx context.Context, peer string) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	recs, err := n.transport.Snapshot(cctx, peer, n.cfg.ID)
	if err != nil {
		return 0, err
	}
	applied := 0
	for _, kr := range recs {
		ok, err := n.storeRecord(kr.Key, kr.Record)
		if err != nil {
			return applied, fmt.Errorf("apply %s's copy of %q: %w", peer, kr.Key, err)
		}
		if ok {
			applied++
		}
	}
	if m := n.recovery.m; m != nil {
		m.KeysCopied.Add(float64(applied))
	}
	return applied, nil
}

// Recovering reports whether the node is still catching up after a restart.
func (n *Node) Recovering() bool { return n.recovery.active() }

// Unsettled says why the node is not yet settled after faults, "" when it
// is: it is still catching up from its peers, or it holds hints for a peer
// it knows that it has not handed off yet. A read-back of the store before
// then could miss a write that is on its way to its home replica.
func (n *Node) Unsettled() string {
	if n.Recovering() {
		return "recovering: catching up from its peers"
	}
	if n.raft != nil {
		return n.raft.Unsettled()
	}
	targets, err := n.engine.HintTargets()
	if err != nil {
		return fmt.Sprintf("hints unknown: %v", err)
	}
	var owed []string
	for _, t := range targets {
		if _, known := n.cfg.Peers[t]; known || t == n.cfg.ID {
			owed = append(owed, t)
		}
	}
	if len(owed) > 0 {
		return fmt.Sprintf("holds hints to hand off to %s", strings.Join(owed, ", "))
	}
	return ""
}
