package hlc

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Timestamp is a hybrid logical clock reading. The zero value is smaller than
// every timestamp a Clock returns.
type Timestamp struct {
	Wall    int64  // Unix nanoseconds: the largest physical reading in the causal past
	Logical uint32 // orders events with the same Wall
}

// Compare returns -1, 0 or +1 as t is before, equal to or after o.
func (t Timestamp) Compare(o Timestamp) int {
	switch {
	case t.Wall < o.Wall:
		return -1
	case t.Wall > o.Wall:
		return 1
	case t.Logical < o.Logical:
		return -1
	case t.Logical > o.Logical:
		return 1
	}
	return 0
}

// Less reports whether t is before o.
func (t Timestamp) Less(o Timestamp) bool { return t.Compare(o) < 0 }

// IsZero reports whether t is the zero Timestamp.
func (t Timestamp) IsZero() bool { return t == Timestamp{} }

// String formats t as "WALL.LOGICAL", e.g. "1700000000000000000.3"; Parse reads it
// back. The form is safe in URLs and HTTP headers.
func (t Timestamp) String() string {
	b := make([]byte, 0, 32)
	b = strconv.AppendInt(b, t.Wall, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(t.Logical), 10)
	return string(b)
}

// Time is the wall part as a time.Time.
func (t Timestamp) Time() time.Time { return time.Unix(0, t.Wall) }

// Parse reads a Timestamp written by Timestamp.String.
func Parse(s string) (Timestamp, error) {
	wall, logical, ok := strings.Cut(s, ".")
	if !ok {
		return Timestamp{}, fmt.Errorf("parse hlc timestamp %q: want WALL.LOGICAL", s)
	}
	w, err := strconv.ParseInt(wall, 10, 64)
	if err != nil {
		return Timestamp{}, fmt.Errorf("parse hlc timestamp %q: wall: %w", s, err)
	}
	l, err := strconv.ParseUint(logical, 10, 32)
	if err != nil {
		return Timestamp{}, fmt.Errorf("parse hlc timestamp %q: logical: %w", s, err)
	}
	return Timestamp{Wall: w, Logical: uint32(l)}, nil
}

// DefaultMaxOffset is the MaxOffset of a new Clock: how far a received timestamp
// may run ahead of this clock's physical time and still be adopted by Update (the
// counterpart of CockroachDB's --max-offset).
const DefaultMaxOffset = 500 * time.Millisecond

// Clock is a hybrid logical clock. It is safe for concurrent use; every method
// reads the physical clock at most once.
type Clock struct {
	physical func() time.Time

	mu        sync.Mutex
	last      Timestamp
	offset    time.Duration
	maxOffset time.Duration // 0: unbounded
}

// New returns a clock over physical, or over time.Now when physical is nil, with
// MaxOffset DefaultMaxOffset.
func New(physical func() time.Time) *Clock {
	if physical == nil {
		physical = time.Now
	}
	return &Clock{physical: physical, maxOffset: DefaultMaxOffset}
}

// pt is the physical clock plus the skew offset, in Unix nanoseconds. Callers
// hold mu.
func (c *Clock) pt() int64 {
	return c.physical().Add(c.offset).UnixNano()
}

// Now stamps a local or send event. Each call returns a timestamp greater than
// every timestamp this clock returned before, even when the physical clock goes
// backwards.
func (c *Clock) Now() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := c.pt()
	if pt > c.last.Wall {
		c.last = Timestamp{Wall: pt}
	} else {
		c.last = tick(c.last.Wall, c.last.Logical)
	}
	return c.last
}

// Update stamps the receipt of a message stamped remote. The result is greater
// than every timestamp this clock returned before and, unless clamped, greater
// than remote.
//
// When remote's wall is more than MaxOffset ahead of this clock's physical time
// (the physical clock plus the skew offset: what this node believes is now), the
// clock does not adopt it: it advances at most to physical time + MaxOffset, and
// Update reports clamped. The caller still holds remote and may store it (a
// last-write-wins record keeps its far-future version); only this clock is
// protected from being dragged ahead.
func (c *Clock) Update(remote Timestamp) (ts Timestamp, clamped bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := c.pt()
	if c.maxOffset > 0 {
		limit := int64(math.MaxInt64)
		if pt <= math.MaxInt64-int64(c.maxOffset) {
			limit = pt + int64(c.maxOffset)
		}
		if remote.Wall > limit {
			remote, clamped = Timestamp{Wall: limit}, true
		}
	}
	wall := max(c.last.Wall, remote.Wall, pt)
	switch {
	case wall == c.last.Wall && wall == remote.Wall:
		c.last = tick(wall, max(c.last.Logical, remote.Logical))
	case wall == c.last.Wall:
		c.last = tick(wall, c.last.Logical)
	case wall == remote.Wall:
		c.last = tick(wall, remote.Logical)
	default:
		c.last = Timestamp{Wall: pt}
	}
	return c.last, clamped
}

// tick is the timestamp right after (wall, logical). The paper bounds the logical
// counter by the number of events within the clock skew, far below 2^32; should
// it ever fill up, the wall part moves one nanosecond ahead instead, which keeps
// the order.
func tick(wall int64, logical uint32) Timestamp {
	if logical == math.MaxUint32 {
		return Timestamp{Wall: wall + 1}
	}
	return Timestamp{Wall: wall, Logical: logical + 1}
}

// Last returns the latest timestamp the clock has returned, without ticking.
func (c *Clock) Last() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// SetOffset sets the skew added to every physical reading from now on (the
// clock-skew fault); d may be negative. Timestamps already returned are not
// revised, and the clock stays monotonic when the offset moves it backwards.
func (c *Clock) SetOffset(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = d
}

// Offset is the current skew offset.
func (c *Clock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// SetMaxOffset sets how far ahead of this clock's physical time a timestamp passed
// to Update may be and still be adopted; d <= 0 removes the bound (every remote
// timestamp is adopted, however far ahead). Timestamps already returned are not
// revised.
func (c *Clock) SetMaxOffset(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.maxOffset = max(d, 0)
}

// MaxOffset is the current bound on adopted remote timestamps; 0 means none.
func (c *Clock) MaxOffset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxOffset
}
