// Package demo describes the bundled demo cluster as a whole: a sharded,
// replicated quorum key-value store (store nodes n1..nN, package node) behind
// caching gateways (g1..gG, package gateway) with circuit breakers, retries,
// bulkheads, rate limits and load shedding (package resilience).
//
// ClusterSpec is the one typed description of a cluster, shared by
// `chaosctl cluster up`, the experiment runner and every runtime; Validate fills
// the defaults and rejects impossible settings in one place. MemberConfig is what
// one member process is started with (`chaosctl node --config JSON`); package
// member turns it into a running server.
//
// The demo cluster imports nothing from the chaos side of the project and could
// be lifted out whole.
package demo
