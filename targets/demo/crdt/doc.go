// Package crdt holds the demo cluster's conflict-free replicated data types:
// a PN-counter (Counter) and an observed-remove set (Set), as state-based
// CRDTs whose Merge is a join: commutative, associative and idempotent, so
// replicas that have received the same updates, in any order and any number
// of times, hold the same state.
//
// An update is made at one place (a coordinator of the eventual mode) as a
// small state of its own, a delta: Counter.Add gives the actor's new totals,
// Set.Add a fresh tag, Set.Remove the tags it observed. A delta is merged
// into every replica like any other state, so replication, hinted handoff,
// read repair and a recovering node's catch-up all merge and none can lose
// an update another has delivered.
//
//	var c crdt.Counter
//	delta := c.Add("n1.17", 5)  // actor n1.17 has now added 5 in all
//	replica.Merge(delta)         // every replica joins the delta
//	replica.Value()              // the sum over actors of P - N
//
// LWWCounter is the foil: a counter kept as a last-write-wins register
// (read, add, write the sum), whose merge is a join too, so its replicas
// converge, but to one writer's sum: concurrent increments are lost. The
// demo offers it as "lww-counter" so an experiment can show the difference.
//
// The states encode as JSON (Encode, DecodeCounter, DecodeSet) with sorted
// keys, so equal states encode to equal bytes.
package crdt
