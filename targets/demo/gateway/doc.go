// Package gateway is the demo cluster's gateway member: the
// client-facing /kv/ API with a cache in front of the store and the resilience
// kit towards the store nodes. The process wiring (listener, /metrics, /healthz,
// /readyz) is the member server's; this package provides the handler.
//
// With cache penetration bloom, a read first asks the gateway's Bloom filter
// of the keys that exist; a key it never saw is answered 404 at once, but only
// while the filter is trusted: seeded from a listing of every node's keys and
// the gateway the only writer (bloom.go says why). A no-cache GET skips the
// filter.
//
// Reads go through the cache (package cache; policy none turns it off). A GET
// or HEAD with Cache-Control: no-cache bypasses the cache and the write-behind
// writes not yet flushed: it goes to the store, where the key's node coordinates
// a quorum read, and its answer is not cached. The experiments' no-lost-writes
// read-back sends it, so a cached value cannot hide a lost write. A miss is sent
// to a node of the key's preference list on the consistent-hash ring (package
// ring), and that node coordinates the quorum. A request with X-Session goes,
// past the cache, to its session's one coordinator for the key, without
// failover or hedge (session.go); the others go as follows:
//
//   - candidates are taken in preference order, skipping a node whose breaker is
//     open or whose bulkhead is full (those calls were never sent, so skipping is
//     always safe);
//   - a read (GET, HEAD) moves to the next candidate on a 503, timeout or
//     transport error, after a full-jitter backoff, while the request's deadline
//     allows; each attempt gets the remaining budget divided by the attempts
//     left, so a hung node cannot eat the whole deadline, and the node is told
//     its budget in X-Request-Timeout. A read whose node has not answered
//     within hedge.after is also sent to the next candidate (a hedge, within
//     the hedge budget) and the first answer wins; the slower attempt runs out
//     its share so its node's breaker still counts it;
//   - a write (PUT, DELETE) is retried only when its attempt certainly did not
//     apply: the request was never sent (connection refused, or no connection
//     within the attempt's share of the budget) or the node answered 503 (its
//     promise of no effect: shed before any work, or the version query failed)
//     or 429. An attempt that timed out, lost its connection after it was sent
//     or got 500 ("indeterminate") or 504 may have applied: in ABD each attempt
//     picks its own version, so a retry's success could be overtaken by the
//     first attempt landing later. The write is not retried and the answer says
//     "unknown": 500 with X-Error "indeterminate: ...", or 504 for a timeout,
//     counted in chaosdemo_gateway_writes_indeterminate_total{op}. A write
//     attempt gets the whole remaining budget, as it will not be retried;
//   - the answer is the node's (200, 204, 404, 400); 503 only when no attempt
//     can have taken effect (every candidate refused, unreachable or answering
//     503 or 429); 504 when the deadline passed; 500 or 504 "indeterminate" for
//     a write that may have applied.
//
// A range query (GET /kv?from=&to=&limit=, scan.go) is a scatter-gather: the
// gateway lists the range on every node that can own keys of it, each within
// Config.Scan.ShardTimeout, and merges the listings (newest version per key,
// deletes dropped, in key order, at most the limit); a missing listing fails
// the scan (503) or leaves it partial (X-Chaos-Partial), as Config.Scan.Partial
// says. It bypasses the cache.
//
// Writes follow the write mode: invalidate (write, then drop the cached entry),
// through (write, then cache the written value; on any failure, drop it) or
// behind (cache the value, queue the write, answer 204 at once; background
// flushers write to the store with retries, the writes of a key in order).
// Behind trades durability for latency: a gateway killed with writes queued
// loses them, which chaosdemo_writebehind_queue_depth and
// chaosdemo_writebehind_flushes_total{result} (ok, error, indeterminate) make
// visible; Close flushes within its context. The queue holds at most
// Config.WriteBehindQueue writes and Config.WriteBehindBytes bytes of keys and
// values; a write beyond either is refused with 503 before it is cached. A flush is retried under the same
// rule as a client's write; one that failed or was indeterminate drops the
// key's cached value unless a later write of the key is queued. After an
// indeterminate write, in every mode, the key's cached value is dropped rather
// than set to either the old or the new value.
//
//	g, err := gateway.New(gateway.Config{
//		ID: "g1", Nodes: []string{"n1", "n2", "n3"}, Replicas: 3,
//		Peers: map[string]string{"n1": "127.0.0.1:7001", "n2": "127.0.0.1:7002", "n3": "127.0.0.1:7003"},
//		Cache:      cache.Config{Policy: cache.PolicyLRU, TTL: 10 * time.Second},
//		Resilience: resilience.DefaultConfig(),
//	}, metrics.New("g1"), log, rand.New(rand.NewPCG(seed, 1)))
//	if err != nil {
//		return fmt.Errorf("start gateway: %w", err)
//	}
//	defer g.Close(shutdownCtx)
//	mux.Handle("/", g.Handler())
package gateway
