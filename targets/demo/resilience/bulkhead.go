package resilience

import (
	"sync"
	"sync/atomic"

	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Bulkhead is a non-blocking semaphore bounding the calls in flight to one peer,
// so a slow peer ties up at most Size of the caller's goroutines and connections
// instead of all of them.
type Bulkhead struct {
	size     int64
	used     atomic.Int64
	rejected prometheus.Counter
}

// NewBulkhead bounds calls to size (size <= 0: unbounded); rejected, when not
// nil, counts refusals.
func NewBulkhead(size int, rejected prometheus.Counter) *Bulkhead {
	return &Bulkhead{size: int64(size), rejected: rejected}
}

// TryAcquire takes a slot if one is free and reports whether it did; it never
// blocks. A caller that got true must call Release once.
func (b *Bulkhead) TryAcquire() bool {
	if b.size <= 0 {
		b.used.Add(1)
		return true
	}
	for {
		n := b.used.Load()
		if n >= b.size {
			if b.rejected != nil {
				b.rejected.Inc()
			}
			return false
		}
		if b.used.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release frees a slot taken by TryAcquire.
func (b *Bulkhead) Release() { b.used.Add(-1) }

// InUse is the number of slots taken.
func (b *Bulkhead) InUse() int { return int(b.used.Load()) }

// Size is the number of slots (<= 0: unbounded).
func (b *Bulkhead) Size() int { return int(b.size) }

// Bulkheads holds one Bulkhead per peer, counting refusals in
// chaosdemo_bulkhead_rejected_total{peer}.
type Bulkheads struct {
	size     int
	rejected *prometheus.CounterVec

	mu     sync.RWMutex
	byPeer map[string]*Bulkhead
}

// NewBulkheads builds bulkheads of size slots for peers (more are added on first
// use).
func NewBulkheads(size int, peers []string, m *metrics.Member) *Bulkheads {
	b := &Bulkheads{size: size, rejected: m.BulkheadFull, byPeer: make(map[string]*Bulkhead, len(peers))}
	for _, p := range peers {
		b.For(p)
	}
	return b
}

// For returns peer's bulkhead.
func (b *Bulkheads) For(peer string) *Bulkhead {
	b.mu.RLock()
	bh := b.byPeer[peer]
	b.mu.RUnlock()
	if bh != nil {
		return bh
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if bh = b.byPeer[peer]; bh == nil {
		bh = NewBulkhead(b.size, b.rejected.WithLabelValues(peer))
		b.byPeer[peer] = bh
	}
	return bh
}
