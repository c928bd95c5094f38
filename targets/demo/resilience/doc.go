// Package resilience is the demo cluster's resilience kit:
// what a gateway uses towards the store nodes, and what every member uses to
// protect itself.
//
// Towards peers:
//
//   - Breakers: one circuit breaker per peer (sony/gobreaker). Open(peer) asks
//     without consuming the half-open probe, for choosing a candidate; Allow(peer)
//     then runs the call through it and returns the done callback for its outcome.
//     State changes feed chaosdemo_breaker_state{peer}. At most MaxOpen of the
//     peers' breakers are open at once, so a stalled caller that times out on
//     every peer does not fail fast on all of them.
//   - HedgeBudget: the token bucket that caps hedged reads at a share of reads.
//   - Backoff: exponential backoff with full jitter, from a seeded source.
//   - Bulkheads: a non-blocking semaphore per peer (TryAcquire/Release).
//   - RetryBudget: retries capped at a share of recent requests plus a floor
//     (Finagle's and gRPC's retry budget); Breakers in trip mode errorRate
//     open on an error rate over a window and do not count a busy peer's
//     timeouts or refusals (ErrPeerBusy).
//
// Protecting a member (gateways and store nodes alike):
//
//   - Shedder: refuses requests beyond an in-flight limit (503).
//   - RateLimiter: a token bucket; no token means 429.
//   - AdmissionConfig: an AIMD in-flight limit (AIMDLimit) under MaxInflight,
//     CoDel on a request's age (RequestAge), and priority of reads over
//     writes (RequestPriority); all off by default.
//   - Middleware: request id, rate limit, shedding, deadline on arrival (504
//     without work), and one metric observation and log line per request.
//
// A member wires the middleware in front of its /kv/ handler:
//
//	cfg, err := resilience.Config{Timeout: 500 * time.Millisecond, MaxInflight: 512}.Validate()
//	if err != nil {
//		return fmt.Errorf("node resilience: %w", err)
//	}
//	mux.Handle("/kv/", resilience.Middleware(cfg.MiddlewareConfig(m), m, log, kvHandler))
//
// and the handler finds its deadline in r.Context() and the request id in
// RequestIDFrom(r.Context()); calls to the next hop carry both with
// api.SetOutgoing, so the remaining budget shrinks hop by hop.
package resilience
