package httptoxic

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
)

var registerOnce sync.Once

// Register adds the toxic type to toxiproxy's registry (of this process);
// calling it again does nothing.
func Register() {
	registerOnce.Do(func() { toxics.Register(Type, new(Toxic)) })
}

// pairWait bounds how long a new connection's request half waits to learn
// whether its response half was paired with it (toxiproxy creates both
// within microseconds of each other).
const pairWait = time.Second

// Counts are what a request toxic did, as its attributes show them.
type Counts struct {
	// Requests parsed; Matched of them met the rule.
	Requests int64 `json:"requests"`
	Matched  int64 `json:"matched"`
	// Acted on: answered with the status, delayed, dropped mid-response.
	Aborted int64 `json:"aborted"`
	Delayed int64 `json:"delayed"`
	Dropped int64 `json:"dropped"`
	// Migrated counts the requests of connections open before the fault
	// that were sent on with `Connection: close`.
	Migrated int64 `json:"migrated"`
}

// Toxic is the HTTP toxic. toxiproxy makes one value per toxic added and
// calls its methods for every connection of the proxy.
type Toxic struct {
	mu   sync.Mutex
	rule Rule
	slot *slot

	ordinal                                            atomic.Int64
	requests, matched, aborted, delayed, dropped, migr atomic.Int64
}

type attrs struct {
	Rule
	Counts
}

// UnmarshalJSON sets the rule from the toxic's attributes (toxiproxy's add
// and update). The counts in them are ignored.
func (t *Toxic) UnmarshalJSON(b []byte) error {
	var r Rule
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("%s toxic: %w", Type, err)
	}
	s := slotOf(r.Pair)
	if r.Role == RoleResponse {
		// The request half was added before: from now on the states its
		// toxic makes for new connections are offered to this one's.
		s.arm()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rule, t.slot = r, s
	return nil
}

// MarshalJSON shows the rule and the counts.
func (t *Toxic) MarshalJSON() ([]byte, error) {
	return json.Marshal(attrs{Rule: t.Rule(), Counts: t.Counts()})
}

// Rule returns the toxic's rule.
func (t *Toxic) Rule() Rule {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rule
}

// Counts returns what the toxic did so far.
func (t *Toxic) Counts() Counts {
	return Counts{Requests: t.requests.Load(), Matched: t.matched.Load(), Aborted: t.aborted.Load(),
		Delayed: t.delayed.Load(), Dropped: t.dropped.Load(), Migrated: t.migr.Load()}
}

// slot pairs the request and response halves of new connections of one
// pair id.
type slot struct {
	mu      sync.Mutex
	armed   bool
	pending *connState // the request half of the newest connection, not yet paired
}

var (
	slotsMu sync.Mutex
	slots   = map[string]weak.Pointer[slot]{}
)

// slotOf returns pair's slot; the toxics hold it, so it lives as long as
// one of them.
func slotOf(pair string) *slot {
	slotsMu.Lock()
	defer slotsMu.Unlock()
	if s := slots[pair].Value(); s != nil {
		return s
	}
	for k, w := range slots {
		if w.Value() == nil {
			delete(slots, k)
		}
	}
	s := &slot{}
	slots[pair] = weak.Make(s)
	return s
}

func (s *slot) arm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil {
		s.pending.resolve(nil)
		s.pending = nil
	}
	s.armed = true
}

// offer makes st the request half waiting for its response half; an armed
// slot only (else st is unpaired at once).
func (s *slot) offer(st *connState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.armed {
		st.resolve(nil)
		return
	}
	if s.pending != nil {
		s.pending.resolve(nil)
	}
	s.pending = st
}

// take pairs a response half with the waiting request half, if any.
func (s *slot) take(resp *connState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req := s.pending
	s.pending = nil
	if req == nil {
		return
	}
	pr := &pair{notify: make(chan struct{}, 1), respAlive: true}
	resp.pair = pr
	req.resolve(pr)
}

// abandon takes st out of the slot when it stopped waiting.
func (s *slot) abandon(st *connState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == st {
		s.pending = nil
		st.resolve(nil)
	}
}

// decision is what the request half decided for one request, in order.
type decision struct {
	action string // "" passes the response on
	status int
	method string
	close  bool // the connection closes after this exchange
}

// pair is the shared state of one paired connection.
type pair struct {
	mu        sync.Mutex
	q         []decision
	notify    chan struct{}
	respAlive bool // the response half is there to carry out decisions
	reqGone   bool // no more decisions will come
}

// push queues d; false when the response half is gone.
func (p *pair) push(d decision) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.respAlive {
		return false
	}
	p.q = append(p.q, d)
	select {
	case p.notify <- struct{}{}:
	default:
	}
	return true
}

func (p *pair) pop() (d decision, ok, reqGone bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.q) == 0 {
		return d, false, p.reqGone
	}
	d, p.q = p.q[0], p.q[1:]
	return d, true, p.reqGone
}

func (p *pair) endRequests() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqGone = true
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// endResponses marks the response half gone; true when it owed the client
// an answer it will not give (an abort or a drop not yet carried out).
func (p *pair) endResponses() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.respAlive = false
	for _, d := range p.q {
		if d.action != "" {
			return true
		}
	}
	return false
}

// connState is one connection's half, kept on the toxiproxy stub across
// the toxic's Pipe calls.
type connState struct {
	// request half: resolved is closed once pair is known (nil: unpaired).
	resolveOnce sync.Once
	resolved    chan struct{}
	pair        *pair

	pump      *pump
	started   bool
	pendingIn []byte
	inClosed  bool
}

func (st *connState) resolve(p *pair) {
	st.resolveOnce.Do(func() {
		st.pair = p
		close(st.resolved)
	})
}

// NewState implements toxics.StatefulToxic: toxiproxy calls it for each
// connection, for a new one first for its upstream link, then for its
// downstream link.
func (t *Toxic) NewState() interface{} {
	st := &connState{resolved: make(chan struct{})}
	r, s := t.Rule(), t.slotRef()
	if s == nil {
		st.resolve(nil)
		return st
	}
	if r.Role == RoleRequest {
		s.offer(st)
	} else {
		s.take(st)
	}
	return st
}

func (t *Toxic) slotRef() *slot {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.slot
}

// Pipe implements toxics.Toxic.
func (t *Toxic) Pipe(stub *toxics.ToxicStub) {
	st, ok := stub.State.(*connState)
	r := t.Rule()
	if !ok || r.Validate() != nil {
		new(toxics.NoopToxic).Pipe(stub)
		return
	}
	if !st.started {
		st.started = true
		st.pump = newPump()
		go func() {
			defer close(st.pump.done)
			if r.Role == RoleRequest {
				t.runRequest(st)
			} else {
				t.runResponse(st)
			}
		}()
	}
	p := st.pump
	for {
		var input <-chan *stream.StreamChunk
		var toParser chan<- []byte
		if st.pendingIn != nil {
			toParser = p.in
		} else if !st.inClosed {
			input = stub.Input
		}
		select {
		case <-stub.Interrupt:
			return
		case c := <-input:
			if c == nil {
				st.inClosed = true
				close(p.in)
				continue
			}
			st.pendingIn = c.Data
		case toParser <- st.pendingIn:
			st.pendingIn = nil
		case it := <-p.out:
			if len(it.data) > 0 {
				stub.Output <- &stream.StreamChunk{Data: it.data, Timestamp: time.Now()}
			}
			if it.close {
				closeStub(stub, st)
				return
			}
		case <-p.done:
			closeStub(stub, st)
			return
		}
	}
}

// closeStub ends the stream: toxiproxy then closes the connection. What
// still arrives is read and dropped, so the link's earlier stages do not
// block on it.
func closeStub(stub *toxics.ToxicStub, st *connState) {
	stub.Close()
	if st.inClosed {
		return
	}
	st.inClosed = true
	go func() {
		for c := range stub.Input {
			if c == nil {
				return
			}
		}
	}()
}

// Cleanup implements toxics.CleanupToxic: the toxic is being removed from
// a live connection. The parser stops; what it holds is written on, or,
// when that would break the stream (a request half-swallowed, an abort or
// a drop owed), the connection is closed.
func (t *Toxic) Cleanup(stub *toxics.ToxicStub) {
	st, ok := stub.State.(*connState)
	if !ok {
		return
	}
	r := t.Rule()
	owed := false
	if st.pair != nil {
		if r.Role == RoleRequest {
			st.pair.endRequests()
		} else {
			owed = st.pair.endResponses()
		}
	}
	var held []byte
	if st.started {
		close(st.pump.stop)
		<-st.pump.done
		p := st.pump
		owed = owed || p.dirty
		held = append(append(held, p.raw...), p.cur...)
	}
	held = append(held, st.pendingIn...)
	st.pendingIn = nil
	if owed {
		closeStub(stub, st)
		return
	}
	if len(held) > 0 && !stub.Closed() {
		stub.Output <- &stream.StreamChunk{Data: held, Timestamp: time.Now()}
	}
}
