// Package placement decides which store nodes hold a key: the demo cluster's
// sharding scheme behind one small interface, Placement, that the store nodes
// and the gateways route by.
//
// Two schemes exist, each with its own constructor:
//
//   - hash (NewHash, the default): the consistent-hash ring of package ring,
//     unchanged. Keys spread over the nodes whatever their order, so
//     sequential keys do not make a hot spot, but a range of keys is spread
//     over every node.
//   - range (NewRange): the key space, ordered as byte strings, is cut at
//     split points s1 < s2 < ... < sk into k+1 ranges [""; s1), [s1; s2), ...,
//     [sk; +inf). Range i is owned by node i mod N (the nodes in the order
//     given); its replica set is its owner and the next n-1 nodes in that
//     order, wrapping. Neighbouring keys live together, so a range of keys is
//     read from few nodes, but keys written in increasing order all land in
//     the range that holds the newest keys: one node takes every write.
//
// New builds either from a Config, validated in one place; unknown schemes
// are refused with the list of valid ones. A Placement is immutable and safe
// for concurrent use.
//
//	p, err := placement.New(placement.Config{Scheme: placement.Range,
//		Nodes: []string{"n1", "n2", "n3"}, Splits: []string{"k3", "k6"}})
//	if err != nil {
//		return fmt.Errorf("build placement: %w", err)
//	}
//	p.Preference("k42", 3) // [n2 n3 n1]: "k42" is in ["k3", "k6"), range r1
//
// EvenSplits picks split points that cut a list of keys into equal shares;
// the demo cluster uses it, over the workload's key names, when range
// sharding is given no split points.
package placement
