package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/cache"
	"github.com/chaosctl/chaosctl/targets/demo/resilience"
	"github.com/chaosctl/chaosctl/targets/demo/ring"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
)

// Write-behind tuning. Flushers run in parallel; a key always goes to the same
// one, so the writes of a key reach the store in the order they were
// acknowledged.
const (
	writeBehindFlushers = 4
	// writeBehindAttempts bounds the store calls (each with its own failover and
	// retries) made for one queued write before it is given up as lost.
	writeBehindAttempts = 8
)

var (
	errQueueFull = errors.New("write-behind queue full")
	errClosing   = errors.New("gateway closing: write-behind queue no longer accepts writes")
)

// queuedWrite is an acknowledged write waiting for the store.
type queuedWrite struct {
	op    storeOp
	reqID string
}

// writeBehind acknowledges writes at once and flushes them to the store in the
// background. Its depth (chaosdemo_writebehind_queue_depth) counts acknowledged
// writes the store has not confirmed, queued or being flushed: what a crash of
// the gateway would lose.
type writeBehind struct {
	g          *Gateway
	limit      int64
	limitBytes int64
	depth      atomic.Int64
	gauge      prometheus.Gauge
	ok, bad    prometheus.Counter
	unknown    prometheus.Counter // flushes that may or may not have landed

	// mu orders enqueue (cache update and queueing, as one step, so the cache
	// and the queue agree on the last write of a key) against close and
	// against dropping the cached value of a flush that did not land.
	mu      sync.Mutex
	closed  bool
	queues  []chan queuedWrite
	pending map[string]int // key -> acknowledged writes not yet flushed
	bytes   int64          // keys and values of the writes not yet flushed

	ctx    context.Context // flush context, canceled when Close gives up
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newWriteBehind(g *Gateway) *writeBehind {
	w := &writeBehind{
		g:          g,
		limit:      int64(g.cfg.WriteBehindQueue),
		limitBytes: g.cfg.WriteBehindBytes,
		gauge:      g.m.WriteBehind,
		ok:         g.m.WriteFlushes.WithLabelValues("ok"),
		bad:        g.m.WriteFlushes.WithLabelValues("error"),
		unknown:    g.m.WriteFlushes.WithLabelValues("indeterminate"),
		pending:    map[string]int{},
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	for range writeBehindFlushers {
		// Each queue can hold the whole limit, so a send admitted by the depth
		// check never blocks.
		q := make(chan queuedWrite, g.cfg.WriteBehindQueue)
		w.queues = append(w.queues, q)
		w.wg.Go(func() { w.flusher(q) })
	}
	return w
}

// enqueue acknowledges op: it caches entry and queues the write, or refuses
// (errQueueFull, errClosing) without changing anything.
func (w *writeBehind) enqueue(op storeOp, reqID string, entry cache.Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errClosing
	}
	if w.depth.Load() >= w.limit {
		return fmt.Errorf("%s %s: %w (%d writes waiting)", op.method, op.key, errQueueFull, w.limit)
	}
	size := op.size()
	if w.bytes+size > w.limitBytes {
		return fmt.Errorf("%s %s: %w (%d of %d bytes waiting, this write has %d)", op.method, op.key, errQueueFull, w.bytes, w.limitBytes, size)
	}
	w.bytes += size
	w.depth.Add(1)
	w.gauge.Inc()
	w.pending[op.key]++
	w.g.cache.Set(op.key, entry)
	w.queues[ring.KeyHash(op.key)%uint64(len(w.queues))] <- queuedWrite{op: op, reqID: reqID}
	return nil
}

func (w *writeBehind) flusher(q <-chan queuedWrite) {
	for qw := range q {
		err := w.flush(qw)
		log := w.g.log.WithFields(logrus.Fields{"request_id": qw.reqID, "op": api.OpName(qw.op.method), "key": qw.op.key})
		switch {
		case err == nil:
			w.ok.Inc()
		case errors.Is(err, ErrIndeterminate):
			w.unknown.Inc()
			log.WithError(err).Error("write-behind: acknowledged write may be lost: its flush may or may not have landed")
		default:
			w.bad.Inc()
			log.WithError(err).Error("write-behind: acknowledged write lost")
		}
		w.settled(qw.op.key, qw.op.size(), err == nil)
		w.depth.Add(-1)
		w.gauge.Dec()
	}
}

// size is what a queued write holds in memory: its key and value.
func (op storeOp) size() int64 { return int64(len(op.key) + len(op.value)) }

// settled records that a write of key (of size bytes) left the queue. When it did not certainly
// land and no later write of key is queued, the cached value (this write's) is
// not known to be the store's, so it is dropped: the next read asks the store.
func (w *writeBehind) settled(key string, size int64, landed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bytes -= size
	if w.pending[key]--; w.pending[key] > 0 {
		return
	}
	delete(w.pending, key)
	if !landed {
		w.g.cache.Invalidate(key)
	}
}

// flush writes qw to the store, retrying with backoff until it lands, the node
// refuses it for good (4xx), writeBehindAttempts calls failed, or Close gave up.
// A call that failed with no effect (ErrUnavailable, or a deadline reached
// before any attempt was sent) is retried; an indeterminate one is not: its
// attempt may still land, and a new attempt would take a version of its own
// (ABD picks one per attempt), so the two could order differently against the
// writes of other clients. Write-behind does not promise durability anyway; the
// flush is counted as indeterminate and logged.
func (w *writeBehind) flush(qw queuedWrite) error {
	res := w.g.cfg.Resilience
	var err error
	for attempt := range writeBehindAttempts {
		if attempt > 0 {
			if serr := resilience.Sleep(w.ctx, resilience.Backoff(attempt-1, res.Retries.Base, res.Retries.Cap, w.g.rng)); serr != nil {
				return fmt.Errorf("flush stopped after %d attempts: %w (last error: %v)", attempt, serr, err)
			}
		}
		ctx, cancel := context.WithTimeout(resilience.WithRequestID(w.ctx, qw.reqID), res.Timeout)
		_, err = w.g.call(ctx, qw.op)
		cancel()
		var se *StatusError
		if err == nil || errors.As(err, &se) || errors.Is(err, ErrIndeterminate) || w.ctx.Err() != nil {
			return err
		}
	}
	return fmt.Errorf("flush gave up after %d attempts: %w", writeBehindAttempts, err)
}

// close refuses new writes and waits for the queue to drain within ctx; when ctx
// ends first, the flushers' calls are canceled and what is left is lost.
func (w *writeBehind) close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		for _, q := range w.queues {
			close(q)
		}
	}
	w.mu.Unlock()

	drained := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(drained)
	}()
	select {
	case <-drained:
		w.cancel()
		return nil
	case <-ctx.Done():
		left := w.depth.Load()
		w.cancel()
		<-drained // quick: every remaining call fails at once
		return fmt.Errorf("flush write-behind queue: %d acknowledged writes not flushed: %w", left, ctx.Err())
	}
}
