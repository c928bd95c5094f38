package workload

import "sync"

// slotPool hands out the workers' slots, most recently freed first, so that a
// small set of workers stays warm and the pool starts a worker goroutine only
// when its slot is first used: a pool sized for the worst case (thousands of
// slots) then costs nothing while the system answers fast. A rotating pool
// would touch every goroutine and let the garbage collector scan thousands of
// stacks, which showed as milliseconds of send lateness.
type slotPool struct {
	mu   sync.Mutex
	idle []int // a stack
	// freed holds a token when a slot was put back since the last take.
	freed chan struct{}
}

func newSlotPool(n int) *slotPool {
	p := &slotPool{idle: make([]int, n), freed: make(chan struct{}, 1)}
	for i := range p.idle {
		p.idle[i] = n - 1 - i // slot 0 on top
	}
	return p
}

// tryGet takes the most recently freed slot, if any.
func (p *slotPool) tryGet() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return 0, false
	}
	slot := p.idle[n-1]
	p.idle = p.idle[:n-1]
	return slot, true
}

// put returns a slot and wakes a waiting taker.
func (p *slotPool) put(slot int) {
	p.mu.Lock()
	p.idle = append(p.idle, slot)
	p.mu.Unlock()
	select {
	case p.freed <- struct{}{}:
	default:
	}
}
