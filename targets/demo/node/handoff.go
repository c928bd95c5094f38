package node

import (
	"context"
	"time"
)

// hintBatch bounds the hints delivered to one target per round.
const hintBatch = 128

// deliverHints hands the hints this node holds to their home replicas. A target
// that fails is left for the next round.
func (n *Node) deliverHints(ctx context.Context) {
	targets, err := n.engine.HintTargets()
	if err != nil {
		n.log.WithError(err).Warn("list hint targets")
		return
	}
	for _, target := range targets {
		if ctx.Err() != nil {
			return
		}
		if _, known := n.cfg.Peers[target]; !known && target != n.cfg.ID {
			continue
		}
		hints, err := n.engine.Hints(target, hintBatch)
		if err != nil {
			n.log.WithError(err).WithField("peer", target).Warn("read hints")
			continue
		}
		for _, h := range hints {
			cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			err := n.writeReplica(cctx, target, h.Key, h.Record, "", "")
			cancel()
			if err != nil {
				break // the home replica is still unreachable
			}
			if err := n.engine.DeleteHint(target, h.Key, h.Record.Version); err != nil {
				n.log.WithError(err).WithField("peer", target).Warn("delete delivered hint")
				break
			}
			if n.metrics != nil {
				n.metrics.Hints.WithLabelValues("delivered").Inc()
				n.metrics.HintsPending.Dec()
			}
		}
	}
}

// countHints sets the pending-hints gauge from storage (after a restart).
func (n *Node) countHints() {
	if n.metrics == nil {
		return
	}
	targets, err := n.engine.HintTargets()
	if err != nil {
		return
	}
	total := 0
	for _, t := range targets {
		hs, err := n.engine.Hints(t, 1<<20)
		if err == nil {
			total += len(hs)
		}
	}
	n.metrics.HintsPending.Set(float64(total))
}
