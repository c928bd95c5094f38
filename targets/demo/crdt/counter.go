package crdt

import (
	"encoding/json"
	"fmt"
)

// Counter is a PN-counter: per actor, the total it added (P) and the total it
// took away (N), each only ever growing. The value is the sum of P - N over
// the actors; Merge takes each actor's larger totals.
//
// An actor must be one sequential updater that never forgets its totals: the
// demo's coordinators use their node id and a per-process incarnation, so a
// restarted node is a new actor and cannot reuse totals it lost.
type Counter struct {
	P map[string]uint64 `json:"p,omitempty"`
	N map[string]uint64 `json:"n,omitempty"`
}

// Value is the counter's value: the sum of every actor's P - N.
func (c Counter) Value() int64 {
	var v int64
	for _, p := range c.P {
		v += int64(p)
	}
	for _, n := range c.N {
		v -= int64(n)
	}
	return v
}

// Add adds delta (negative to decrement) on behalf of actor, and returns the
// delta state to replicate: actor's new totals.
func (c *Counter) Add(actor string, delta int64) Counter {
	d := Counter{}
	switch {
	case delta > 0:
		if c.P == nil {
			c.P = map[string]uint64{}
		}
		c.P[actor] += uint64(delta)
		d.P = map[string]uint64{actor: c.P[actor]}
	case delta < 0:
		if c.N == nil {
			c.N = map[string]uint64{}
		}
		c.N[actor] += uint64(-delta)
		d.N = map[string]uint64{actor: c.N[actor]}
	}
	return d
}

// Merge joins o into c: each actor's larger totals.
func (c *Counter) Merge(o Counter) {
	c.P = joinMax(c.P, o.P)
	c.N = joinMax(c.N, o.N)
}

// Clone returns a copy of c that shares no map with it.
func (c Counter) Clone() Counter {
	var out Counter
	out.Merge(c)
	return out
}

// Equal reports whether c and o are the same state.
func (c Counter) Equal(o Counter) bool {
	return sameMax(c.P, o.P) && sameMax(c.N, o.N)
}

// Encode returns c as JSON (sorted keys: equal states, equal bytes).
func (c Counter) Encode() []byte {
	b, _ := json.Marshal(c) // maps of strings and integers always marshal
	return b
}

// DecodeCounter reads a Counter written by Encode; empty input is the zero
// Counter.
func DecodeCounter(b []byte) (Counter, error) {
	var c Counter
	if len(b) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return Counter{}, fmt.Errorf("decode counter: %w", err)
	}
	return c, nil
}

func joinMax(a, b map[string]uint64) map[string]uint64 {
	if len(b) == 0 {
		return a
	}
	if a == nil {
		a = make(map[string]uint64, len(b))
	}
	for k, v := range b {
		if v > a[k] {
			a[k] = v
		}
	}
	return a
}

// sameMax compares two total maps, a missing actor being 0.
func sameMax(a, b map[string]uint64) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}
