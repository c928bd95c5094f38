package crash

import "sync"

// Group runs goroutines for one goroutine that waits for them all, and
// passes a panic in any of them on to it: once every goroutine has ended,
// Wait panics with the first one's *Panic in the waiting goroutine, where
// its own Recover (or its caller's: a run's) ends the run as on any other
// panic, reverting every fault. A panic in a goroutine of a sync.WaitGroup
// or of x/sync's errgroup ends the process instead.
//
//	var g crash.Group
//	g.SetLimit(4)
//	for _, l := range links {
//		g.Go("the probe of link "+l.String(), func() { probe(l) })
//	}
//	g.Wait() // panics here if a probe did
//
// The zero Group is ready to use; a Group is not reused after Wait.
type Group struct {
	wg    sync.WaitGroup
	sem   chan struct{}
	mu    sync.Mutex
	first *Panic
}

// SetLimit bounds the goroutines running at once to n (Go then waits for
// one to end); call it before the first Go.
func (g *Group) SetLimit(n int) { g.sem = make(chan struct{}, n) }

// Go runs fn in a new goroutine of the group; where names it in a panic.
func (g *Group) Go(where string, fn func()) {
	if g.sem != nil {
		g.sem <- struct{}{}
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if g.sem != nil {
			defer func() { <-g.sem }()
		}
		defer Recover(where, g.record)
		fn()
	}()
}

func (g *Group) record(p *Panic) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.first == nil {
		g.first = p
	}
}

// Wait waits for every goroutine of the group, then panics with the
// *Panic of the first that panicked, if one did.
func (g *Group) Wait() {
	g.wg.Wait()
	g.mu.Lock()
	p := g.first
	g.mu.Unlock()
	if p != nil {
		panic(p)
	}
}
