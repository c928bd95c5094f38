// Package raftkv is the demo store's Raft mode (consistency: raft): every
// replica set of the ring (ring.ReplicaSets) is one Raft group built on
// hashicorp/raft, whose members are the set's nodes. A group's committed
// writes are applied by its FSM to the node's storage engine, each under
// the version of its log index, so the store's records, read-back and
// metrics look as in the quorum modes.
//
// A write goes to the group's leader, which appends it and answers once it
// is applied. A read is linearizable by default (ReadIndex): the leader
// notes its commit index, confirms with a quorum that it still leads
// (VerifyLeader) and waits until that index is applied before reading its
// store; a leader new in its term commits a barrier first. Settings.Reads
// "lease" skips the confirmation, and a deposed leader that has not yet
// noticed (a paused process that wakes up) answers stale reads.
//
// Raft's RPCs ride the node's HTTP port: a peer upgrades "GET
// /internal/v1/raft/GROUP" (Upgrade: chaosctl-raft, the peer token) and the
// connection then carries hashicorp/raft's NetworkTransport. Each node
// dials a peer at the address it uses for that peer, its fault-plane link,
// so partitions, latency and pauses act on Raft as on replica traffic.
//
// At the start, each group hands its lead to its first member (by id), so
// that an experiment can name the leader it means to crash or pause: n1 in
// a 3-node cluster (preferLeader).
//
// Persistence: with a data directory the log, term and vote are kept in a
// bbolt file (BoltLogStore) and snapshots in files; without one, in memory,
// and a node that restarts has forgotten its votes and its log, which Raft's
// safety proof does not allow (a committed write can be lost if the
// amnesiac votes for a candidate that lacks it). Crash experiments on Raft
// mode use disk persistence.
//
//	s, err := raftkv.New(raftkv.Config{Self: "n1", Sets: r.ReplicaSets(3), Route: route, Peers: peers, Engine: eng})
//	v, err := s.GroupOf("k1").Write(ctx, "k1", []byte("v"), false)
//	rec, found, err := s.GroupOf("k1").Read(ctx, "k1", eng)
package raftkv
