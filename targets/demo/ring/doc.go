// Package ring places the demo cluster's keys on its store nodes: a consistent-hash
// ring with virtual nodes, as in Dynamo and Cassandra.
//
// Every node puts vnodes tokens on a 64-bit ring. A token's position is the xxhash64
// of "NAME#INDEX" (TokenPosition), so it depends only on the node's name and the
// vnode's index: every member that builds the ring from the same node list, in any
// order, computes the same ring, and adding or removing a node moves only the keys
// whose arcs that node's tokens gain or lose. A key's position is the xxhash64 of
// the key (KeyHash); its owner is the node of the first token at or clockwise after
// that position, and its preference list is the first n distinct nodes met walking
// clockwise from there. The replicas of a key live on its preference list.
//
// A Ring is immutable once built and safe for concurrent use; membership changes
// build a new Ring.
//
//	r, err := ring.New([]string{"n1", "n2", "n3", "n4", "n5"}, 64)
//	if err != nil {
//		return fmt.Errorf("build ring: %w", err)
//	}
//	replicas := r.Preference("k42", 3) // e.g. [n4 n1 n2]; replicas[0] == r.Owner("k42")
//
// Balance: token positions are pseudo-random, so shares vary around the mean by
// about 1/sqrt(vnodes). With 5 nodes of 64 vnodes the largest share averages 1.15
// times the mean over arbitrary node names (n1..n5: 1.16); 256 vnodes bring that
// to about 1.08. Ownership reports the exact shares and Describe the whole ring
// for /debug/ring.
package ring
