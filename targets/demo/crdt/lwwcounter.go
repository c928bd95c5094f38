package crdt

import (
	"encoding/json"
	"fmt"
)

// LWWCounter is a counter kept the naive way, as a last-write-wins register:
// an update reads the value, adds its delta and writes the sum stamped with
// the writer's clock, and a replica keeps whichever sum has the newest stamp.
// The register is a CRDT (the merge is commutative, associative and
// idempotent, so the replicas converge), but the counter built on it is not:
// two updates that read the same value, on either side of a partition or
// merely at the same time, each write their own sum and the merge keeps one,
// so the other's delta is lost. It is here to be compared with Counter, the
// PN-counter, which keeps every delta.
type LWWCounter struct {
	Value   int64  `json:"value"`
	Time    int64  `json:"t"`           // the writer's wall clock, Unix nanoseconds
	Logical uint32 `json:"l,omitempty"` // the writer's logical clock, to order equal Times
	Actor   string `json:"a,omitempty"` // the writer, the last tie-break
}

// Newer reports whether c's stamp is after o's. Stamps are unique in the
// demo (an actor never reuses one); the value breaks a tie anyway, so the
// order is total and the merge a join on any input.
func (c LWWCounter) Newer(o LWWCounter) bool {
	switch {
	case c.Time != o.Time:
		return c.Time > o.Time
	case c.Logical != o.Logical:
		return c.Logical > o.Logical
	case c.Actor != o.Actor:
		return c.Actor > o.Actor
	}
	return c.Value > o.Value
}

// Merge keeps the newer of c and o.
func (c *LWWCounter) Merge(o LWWCounter) {
	if o.Newer(*c) {
		*c = o
	}
}

// Encode returns c as JSON.
func (c LWWCounter) Encode() []byte {
	b, _ := json.Marshal(c) // integers and a string always marshal
	return b
}

// DecodeLWWCounter reads an LWWCounter written by Encode; empty input is the
// zero LWWCounter (value 0, older than any write).
func DecodeLWWCounter(b []byte) (LWWCounter, error) {
	var c LWWCounter
	if len(b) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("decode lww-counter: %w", err)
	}
	return c, nil
}
