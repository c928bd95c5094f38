// Package keyspace names the demo workload's keys, in one place for the
// workload that writes them and the cluster settings that must know them (the
// default split points of range sharding).
//
// Two patterns exist. Random keys are k0, k1, ..., k{keys-1}, drawn by the
// workload's distribution. Sequential keys are zero-padded to one width,
// k000, k001, ..., k999 for 1000 keys, so their byte order is their numeric
// order and each new key is greater than every key before it, as timestamps
// and auto-increment ids are.
//
//	keyspace.Name(42)              // "k42"
//	keyspace.SequentialName(42, 1000) // "k042"
package keyspace
