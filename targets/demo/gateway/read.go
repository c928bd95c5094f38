package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/resilience"
)

// readResult is one read attempt's outcome.
type readResult struct {
	ans   storeAnswer
	node  string
	hedge bool
	err   error
}

// read runs a read with hedging on against the key's preference list within
// deadline. Each
// attempt gets the remaining budget divided by the attempts left, so a hung
// node cannot eat the whole deadline; a failed attempt (503, timeout, transport
// error) fails over to the next node after a full-jitter backoff, as writes
// that did not apply do. A read has no effect of its own (a linearizable read's
// write-back re-writes a version that already exists), so it may also be sent
// twice: when the first attempt has not answered after hedge.after, one hedge
// goes to the next admitted node (if the hedge budget allows) and the first
// success wins. The hedge delay is the 95th percentile of the gateway's recent
// successful read attempts, at least hedge.after, and there is none until 20
// reads were seen: hedges are for reads slower than the rest, not for a
// cluster where every read is slow (see resilience.HedgeConfig). Any of the attempts' answers is a correct answer, since each
// attempt is a whole read that ran inside the client's call.
//
// Attempts run on a context that the caller leaving does not cancel, only their
// own share of the deadline: the attempt that lost to a hedge finishes (or
// times out) on its own, so its node's breaker counts it, and a node that went
// silent still trips its breaker while hedges keep its reads fast.
func (g *Gateway) read(ctx context.Context, op storeOp, prefs []string, deadline time.Time, reqID string) (storeAnswer, error) {
	res := g.cfg.Resilience
	attempts := 1 + res.Retries.Max
	var hedgeDelay time.Duration
	if !res.Hedge.Disabled && len(prefs) > 1 && attempts > 1 {
		g.hedges.Earn()
		if p95, ok := g.readLatency.Quantile(0.95); ok {
			hedgeDelay = max(res.Hedge.After, p95)
			g.m.HedgeDelay.Set(hedgeDelay.Seconds())
		}
	}
	results := make(chan readResult, attempts) // buffered: a loser never blocks
	detached := context.WithoutCancel(ctx)
	var (
		lastErr  error
		busy     []string // nodes with an attempt in flight
		next     int
		prev     string
		launched int
	)
	launch := func(hedge bool) bool {
		c, err := g.pick(prefs, &next, busy)
		if err != nil {
			if lastErr == nil {
				lastErr = err
			}
			return false
		}
		if hedge {
			g.m.Hedges.WithLabelValues("sent").Inc()
		} else {
			g.countFailover(prefs, launched, c.node, prev)
			prev = c.node
		}
		share := time.Until(deadline) / time.Duration(attempts-launched)
		launched++
		busy = append(busy, c.node)
		go func() {
			start := time.Now()
			ans, _, err := g.attempt(detached, c, op, share, share, reqID)
			if err == nil {
				g.readLatency.Observe(time.Since(start))
			}
			results <- readResult{ans: ans, node: c.node, hedge: hedge, err: err}
		}()
		return true
	}
	if !launch(false) {
		return storeAnswer{}, noAttemptApplied(ctx, op, deadline, lastErr)
	}
	var hedgeAfter <-chan time.Time
	if hedgeDelay > 0 && time.Now().Add(hedgeDelay).Before(deadline) {
		t := time.NewTimer(hedgeDelay)
		defer t.Stop()
		hedgeAfter = t.C
	}
	for len(busy) > 0 {
		select {
		case r := <-results:
			busy = remove(busy, r.node)
			if r.err == nil {
				if r.hedge {
					g.m.Hedges.WithLabelValues("won").Inc()
				}
				return r.ans, nil
			}
			var se *StatusError
			if errors.As(r.err, &se) {
				return storeAnswer{}, r.err
			}
			lastErr = r.err
			if len(busy) > 0 || launched >= attempts {
				continue // another attempt may still answer, or none is left
			}
			if !g.retries.TryRetry() {
				continue // the retry budget is spent
			}
			pause := resilience.Backoff(launched-1, res.Retries.Base, res.Retries.Cap, g.rng)
			if time.Until(deadline) <= pause || resilience.Sleep(ctx, pause) != nil {
				continue
			}
			launch(false)
		case <-hedgeAfter:
			hedgeAfter = nil
			if launched >= attempts || !time.Now().Before(deadline) {
				continue
			}
			if !g.hedges.Spend() {
				g.m.Hedges.WithLabelValues("over_budget").Inc()
				continue
			}
			if !launch(true) {
				g.hedges.Refund() // no other node admits it
			}
		case <-ctx.Done():
			return storeAnswer{}, noAttemptApplied(ctx, op, deadline, lastErr)
		}
	}
	return storeAnswer{}, noAttemptApplied(ctx, op, deadline, lastErr)
}

func remove(nodes []string, node string) []string {
	for i, n := range nodes {
		if n == node {
			return append(nodes[:i], nodes[i+1:]...)
		}
	}
	return nodes
}
