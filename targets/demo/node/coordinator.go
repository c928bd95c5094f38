package node

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/hlc"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// Read coordinates a read of key under the node's consistency mode. found is
// false when no replica of the quorum holds the key; a tombstone is returned as
// found with rec.Tombstone set.
func (n *Node) Read(ctx context.Context, key, rid string) (rec storage.Record, found bool, err error) {
	peers := n.ring.Preference(key, n.cfg.N)
	bg, cancel := n.detached(ctx)
	var replies <-chan Reply
	if n.cfg.Consistency == Linearizable {
		replies = n.startTargetedReads(bg, peers, key, rid, false)
	} else {
		replies = n.startReads(bg, peers, key, rid, false)
	}

	got, rest := collect(ctx, replies, len(peers), n.cfg.R)
	if len(got) < n.cfg.R {
		cancel()
		return rec, false, n.quorumError(ctx, "read "+key, peers, n.cfg.R, got, rest)
	}
	newest, have := newestOf(got)

	if n.cfg.Consistency == Linearizable && newest.Found && len(have) < n.cfg.W {
		// ABD read phase 2: before answering, make sure a write quorum holds the
		// value, or a later read could return an older one. Replies that
		// already carry it count towards that quorum.
		targets := without(peers, have)
		acks := n.startWrites(bg, targets, key, newest.Rec, rid)
		ok, last := awaitAcks(ctx, acks, len(targets), n.cfg.W-len(have))
		if !ok {
			cancel()
			return rec, false, &QuorumError{Op: "read " + key + " (write-back)", Need: n.cfg.W, Got: len(have), Replicas: peers, DeadlinePassed: ctx.Err() != nil, Last: last}
		}
		n.countRepairs(len(targets))
		n.background.Go(func() { defer cancel(); drainErrs(bg, acks) })
		return newest.Rec, true, nil
	}
	if n.cfg.Consistency == Linearizable {
		// The quorum agreed. Copies found corrupt on the way are rewritten
		// now; replicas that were not asked are left to later reads and
		// writes (ABD needs only a quorum).
		n.background.Go(func() {
			defer cancel()
			n.readRepair(bg, key, newest, rest, rid)
		})
		return newest.Rec, newest.Found, nil
	}

	// Repair stale, missing and corrupt copies without holding up the answer.
	// Linearizable reads whose quorum agreed still repair corrupt copies here.
	n.background.Go(func() {
		defer cancel()
		all := append(got, drain(bg, replies, len(peers)-len(got)-len(rest))...)
		all = append(all, rest...)
		n.readRepair(bg, key, newest, all, rid)
	})
	return newest.Rec, newest.Found, nil
}

// Sessions: a client request that names a session (api.HeaderSession) in
// eventual mode, sent to a coordinator that is one of the key's replicas (the
// gateway sends a session's requests for a key to one such node), is served
// from the coordinator's own replica: a write is acknowledged once its own
// replica holds it (the others get it in the background, sloppily, as any
// eventual write), and a read answers what its own replica holds. So, while
// the session keeps its coordinator, it reads its writes (its replica keeps
// the newest version it was given: last write wins) and its reads never go
// back (that replica's versions only grow). Without a session a W = R = 1
// request takes the first replica to answer, which may be any of them. Other
// modes ignore the session: their quorums already give more.

// sessionLocal reports whether a session's request for key is served from
// this node's own replica.
func (n *Node) sessionLocal(key string) bool {
	return n.cfg.Consistency == Eventual && slices.Contains(n.ring.Preference(key, n.cfg.N), n.cfg.ID)
}

// ReadSession is Read for a request of a client session (see Sessions).
func (n *Node) ReadSession(ctx context.Context, key, rid string) (rec storage.Record, found bool, err error) {
	if !n.sessionLocal(key) {
		return n.Read(ctx, key, rid)
	}
	r := n.readReplica(ctx, n.cfg.ID, key, rid, false)
	if r.Err != nil || r.Corrupt {
		last := r.Err
		if last == nil {
			last = errors.New("own copy is corrupt")
		}
		return rec, false, &QuorumError{Op: "read " + key + " (session, own replica)", Need: 1, Replicas: []string{n.cfg.ID}, DeadlinePassed: ctx.Err() != nil, Last: last}
	}
	return r.Rec, r.Found, nil
}

// WriteSession is Write for a request of a client session (see Sessions).
func (n *Node) WriteSession(ctx context.Context, key string, value []byte, tombstone bool, rid string) (storage.Version, error) {
	return n.write(ctx, key, value, tombstone, rid, n.sessionLocal(key))
}

// Write coordinates a put (or, with tombstone, a delete) of key and returns the
// version it was stored under.
func (n *Node) Write(ctx context.Context, key string, value []byte, tombstone bool, rid string) (storage.Version, error) {
	return n.write(ctx, key, value, tombstone, rid, false)
}

// write is Write; own (eventual mode, a replica of key) acknowledges once
// this node's own replica holds the record.
func (n *Node) write(ctx context.Context, key string, value []byte, tombstone bool, rid string, own bool) (storage.Version, error) {
	peers := n.ring.Preference(key, n.cfg.N)
	bg, cancel := n.detached(ctx)

	var v storage.Version
	switch n.cfg.Consistency {
	case Linearizable:
		// ABD write phase 1: learn the highest version a read quorum has seen.
		// It gets half the budget: a coordinator cut off from its peers
		// then answers 503 (nothing written) while its caller still has time
		// to try another node, instead of at the very deadline.
		qctx, qcancel := halfBudget(ctx)
		replies := n.startTargetedReads(bg, peers, key, rid, true)
		got, rest := collect(qctx, replies, len(peers), n.cfg.R)
		qcancel()
		if len(got) < n.cfg.R {
			cancel()
			return v, n.quorumError(ctx, "write "+key+" (version query)", peers, n.cfg.R, got, rest)
		}
		newest, _ := newestOf(got)
		v = storage.Version{Time: newest.Rec.Version.Time + 1, Node: n.index, Seq: n.seq.Add(1)}
	default:
		ts := n.clock.Now()
		v = storage.Version{Time: ts.Wall, Logical: ts.Logical, Node: n.index, Seq: n.seq.Add(1)}
	}
	rec := storage.Seal(key, storage.Record{Version: v, Value: value, Tombstone: tombstone})

	if own {
		// The own replica first, then the others in the background (W = 1).
		if err := n.writeReplica(bg, n.cfg.ID, key, rec, "", rid); err != nil {
			cancel()
			return v, &QuorumError{Op: "write " + key + " (session, own replica)", Need: 1, Replicas: []string{n.cfg.ID}, DeadlinePassed: ctx.Err() != nil, Indeterminate: true, Last: err}
		}
		acks := n.startSloppyWrites(bg, peers, n.cfg.ID, key, rec, rid, false)
		n.background.Go(func() { defer cancel(); drainErrs(bg, acks) })
		return v, nil
	}
	var acks <-chan error
	if n.cfg.Consistency == Eventual {
		acks = n.startSloppyWrites(bg, peers, "", key, rec, rid, false)
	} else {
		acks = n.startWrites(bg, peers, key, rec, rid)
	}
	ok, last := awaitAcks(ctx, acks, len(peers), n.cfg.W)
	if !ok {
		cancel()
		return v, &QuorumError{Op: "write " + key, Need: n.cfg.W, Replicas: peers, DeadlinePassed: ctx.Err() != nil, Indeterminate: true, Last: last}
	}
	// The other replicas keep receiving the write after the answer.
	n.background.Go(func() { defer cancel(); drainErrs(bg, acks) })
	return v, nil
}

// halfBudget returns ctx bounded to half of its remaining time.
func halfBudget(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, time.Now().Add(time.Until(dl)/2))
}

// detached returns a context with ctx's deadline that is not cancelled when the
// client's request ends, so replication and repair can finish after the answer.
func (n *Node) detached(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(n.cfg.Timeout)
	}
	return context.WithDeadline(n.bgCtx, dl)
}

func (n *Node) startReads(ctx context.Context, peers []string, key, rid string, meta bool) <-chan Reply {
	ch := make(chan Reply, len(peers))
	for _, p := range peers {
		n.background.Go(func() {
			r := n.readReplica(ctx, p, key, rid, meta)
			n.noteAnswer(p, r.Err)
			ch <- r
		})
	}
	return ch
}

// noteAnswer records that peer answered a replica call (err nil, or a
// recovering replica's refusal), for suspects.inTouch.
func (n *Node) noteAnswer(peer string, err error) {
	if peer != n.cfg.ID && (err == nil || errors.Is(err, ErrRecovering)) {
		n.suspects.answered(peer)
	}
}

// startTargetedReads asks only R replicas first — this node when it is one,
// then the others in preference order, peers the node suspects last — and
// the rest when one of those fails or the hedge delay passes without enough
// answers (speculative retry, as Cassandra does). A healthy read then costs R
// replica calls, not N. Every answer or failure of a peer updates the
// suspicion (see suspects).
func (n *Node) startTargetedReads(ctx context.Context, peers []string, key, rid string, meta bool) <-chan Reply {
	ordered := n.suspects.order(n.cfg.ID, peers)
	first, backup := ordered[:min(n.cfg.R, len(ordered))], ordered[min(n.cfg.R, len(ordered)):]
	ch := make(chan Reply, len(peers))
	read := func(p string) Reply {
		r := n.readReplica(ctx, p, key, rid, meta)
		if p != n.cfg.ID {
			n.suspects.observe(p, r.Err == nil)
			n.noteAnswer(p, r.Err)
		}
		return r
	}
	if len(backup) == 0 {
		for _, p := range first {
			n.background.Go(func() { ch <- read(p) })
		}
		return ch
	}
	var once sync.Once
	launchBackups := func() {
		once.Do(func() {
			for _, p := range backup {
				n.background.Go(func() { ch <- read(p) })
			}
		})
	}
	var pending sync.WaitGroup
	for _, p := range first {
		pending.Add(1)
		n.background.Go(func() {
			defer pending.Done()
			r := read(p)
			if r.Err != nil || r.Corrupt {
				launchBackups()
			}
			ch <- r
		})
	}
	n.background.Go(func() {
		done := make(chan struct{})
		go func() { pending.Wait(); close(done) }()
		t := time.NewTimer(n.cfg.HedgeDelay)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			launchBackups()
		case <-ctx.Done():
		}
	})
	return ch
}

func (n *Node) startWrites(ctx context.Context, peers []string, key string, rec storage.Record, rid string) <-chan error {
	ch := make(chan error, len(peers))
	for _, p := range peers {
		n.background.Go(func() {
			err := n.writeReplica(ctx, p, key, rec, "", rid)
			n.noteAnswer(p, err)
			ch <- err
		})
	}
	return ch
}

// startSloppyWrites writes to the home replicas; a home replica that cannot be
// reached is replaced by the next node on the ring beyond them, which keeps the
// record as a hint for it (sloppy quorum with hinted handoff). A home replica
// named skip (already written) is left out. With keepHint, a home replica that
// neither it nor any stand-in took the record for (a partition that drops the
// calls until the deadline) gets a hint held by this node, so the record
// reaches it once it can be reached: what CRDT values, which every replica
// must receive, need.
func (n *Node) startSloppyWrites(ctx context.Context, home []string, skip, key string, rec storage.Record, rid string, keepHint bool) <-chan error {
	walk := n.ring.Preference(key, len(n.cfg.Nodes))
	var mu sync.Mutex
	fallbacks := walk[len(home):]
	nextFallback := func() (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		if len(fallbacks) == 0 {
			return "", false
		}
		f := fallbacks[0]
		fallbacks = fallbacks[1:]
		return f, true
	}
	ch := make(chan error, len(home))
	for _, p := range home {
		if p == skip {
			continue
		}
		n.background.Go(func() {
			err := n.writeReplica(ctx, p, key, rec, "", rid)
			for err != nil && ctx.Err() == nil {
				f, ok := nextFallback()
				if !ok {
					break
				}
				err = n.writeReplica(ctx, f, key, rec, p, rid)
			}
			if err != nil && keepHint && p != n.cfg.ID {
				if _, herr := n.ReplicaWrite(context.WithoutCancel(ctx), key, rec, p); herr != nil {
					n.log.WithError(herr).WithField("peer", p).Warn("keep a hint for an unreachable home replica")
				}
			}
			ch <- err
		})
	}
	return ch
}

// collect gathers replies until need of them are usable (answered, copy intact)
// or every peer has answered or ctx ends. rest holds the unusable replies.
func collect(ctx context.Context, ch <-chan Reply, total, need int) (got, rest []Reply) {
	for len(got)+len(rest) < total && len(got) < need {
		select {
		case r := <-ch:
			if r.Err != nil || r.Corrupt {
				rest = append(rest, r)
				continue
			}
			got = append(got, r)
		case <-ctx.Done():
			return got, rest
		}
	}
	return got, rest
}

// drain waits (within ctx) for up to count more replies.
func drain(ctx context.Context, ch <-chan Reply, count int) []Reply {
	var out []Reply
	for ; count > 0; count-- {
		select {
		case r := <-ch:
			out = append(out, r)
		case <-ctx.Done():
			return out
		}
	}
	return out
}

func drainErrs(ctx context.Context, ch <-chan error) {
	for {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// awaitAcks waits for need successful writes out of total. need ≤ 0 is met at once.
func awaitAcks(ctx context.Context, ch <-chan error, total, need int) (ok bool, last error) {
	if need <= 0 {
		return true, nil
	}
	got := 0
	for i := 0; i < total; i++ {
		select {
		case err := <-ch:
			if err != nil {
				last = err
				continue
			}
			if got++; got >= need {
				return true, nil
			}
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	return false, last
}

// newestOf returns the Reply with the highest version and the peers whose Reply
// carries exactly that version (or, when nothing is found, agree on absence).
func newestOf(replies []Reply) (newest Reply, have []string) {
	for _, r := range replies {
		if r.Found && (!newest.Found || r.Rec.Version.Compare(newest.Rec.Version) > 0) {
			newest = r
		}
	}
	for _, r := range replies {
		if r.Found == newest.Found && (!r.Found || r.Rec.Version == newest.Rec.Version) {
			have = append(have, r.Peer)
		}
	}
	return newest, have
}

// readRepair rewrites the newest copy to every replica that answered with an
// older, missing or corrupt one.
func (n *Node) readRepair(ctx context.Context, key string, newest Reply, all []Reply, rid string) {
	if !newest.Found {
		return
	}
	for _, r := range all {
		stale := r.Err == nil && (r.Corrupt || !r.Found || r.Rec.Version.Compare(newest.Rec.Version) < 0)
		if !stale {
			continue
		}
		if err := n.writeReplica(ctx, r.Peer, key, newest.Rec, "", rid); err == nil {
			n.countRepairs(1)
			if r.Corrupt && n.metrics != nil {
				n.metrics.Corruptions.WithLabelValues("repaired").Inc()
			}
		}
	}
}

func (n *Node) countRepairs(k int) {
	if n.metrics != nil && k > 0 {
		n.metrics.ReadRepairs.Add(float64(k))
	}
}

func (n *Node) quorumError(ctx context.Context, op string, peers []string, need int, got, rest []Reply) error {
	qe := &QuorumError{Op: op, Need: need, Got: len(got), Replicas: peers, DeadlinePassed: ctx.Err() != nil}
	for _, r := range rest {
		if r.Err != nil {
			qe.Last = r.Err
		}
	}
	return qe
}

func without(peers, drop []string) []string {
	var out []string
	for _, p := range peers {
		keep := true
		for _, d := range drop {
			if p == d {
				keep = false
			}
		}
		if keep {
			out = append(out, p)
		}
	}
	return out
}

func hlcOf(v storage.Version) hlc.Timestamp { return hlc.Timestamp{Wall: v.Time, Logical: v.Logical} }
