// Package gateway is the demo cluster's gateway member (DESIGN.md section 5): the
// client-facing /kv/ API with a cache in front of the store and the resilience
// kit towards the store nodes. The process wiring (listener, /metrics, /healthz,
// /readyz) is the member server's; this package provides the handler.
//
// Reads go through the cache (package cache; policy none turns it off). A miss
// is sent to a node of the key's preference list on the consistent-hash ring
// (package ring), and that node coordinates the quorum:
//
//   - candidates are taken in preference order, skipping a node whose breaker is
//     open or whose bulkhead is full (those calls were never sent, so skipping is
//     always safe);
//   - a 503, timeout or transport error moves the request to the next candidate,
//     after a full-jitter backoff, while the request's deadline allows; each
//     attempt gets the remaining budget divided by the attempts left, so a hung
//     node cannot eat the whole deadline, and the node is told its budget in
//     X-Request-Timeout;
//   - GET, PUT and DELETE are idempotent and retried on any failure; a
//     non-idempotent operation would fail over only when the request was
//     definitely not processed (connection refused, breaker open, bulkhead full);
//   - the answer is the node's (200, 204, 404, 400), 503 when every candidate
//     failed or was refused, 504 when the deadline passed.
//
// Writes follow the write mode: invalidate (write, then drop the cached entry),
// through (write, then cache the written value) or behind (cache the value, queue
// the write, answer 204 at once; background flushers write to the store with
// retries, the writes of a key in order). Behind trades durability for latency:
// a gateway killed with writes queued loses them, which
// chaosdemo_writebehind_queue_depth and chaosdemo_writebehind_flushes_total make
// visible; Close flushes within its context.
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
