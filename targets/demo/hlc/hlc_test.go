package hlc

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakePhysical is a settable physical clock that remembers its last reading.
type fakePhysical struct {
	mu       sync.Mutex
	now      int64 // Unix nanoseconds
	lastRead int64
}

func (f *fakePhysical) set(ns int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = ns
}

func (f *fakePhysical) read() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastRead = f.now
	return time.Unix(0, f.now)
}

func ts(wall int64, logical uint32) Timestamp { return Timestamp{Wall: wall, Logical: logical} }

func TestNowIsMonotonicWhenPhysicalClockGoesBackwards(t *testing.T) {
	steps := []struct {
		physical int64
		want     Timestamp
	}{
		{physical: 100, want: ts(100, 0)},
		{physical: 200, want: ts(200, 0)},
		{physical: 150, want: ts(200, 1)}, // backwards: wall holds, logical ticks
		{physical: 150, want: ts(200, 2)},
		{physical: 50, want: ts(200, 3)},
		{physical: 200, want: ts(200, 4)}, // caught up but not past
		{physical: 201, want: ts(201, 0)}, // past: logical resets
		{physical: 201, want: ts(201, 1)},
	}
	phys := &fakePhysical{}
	c := New(phys.read)
	var prev Timestamp
	for i, s := range steps {
		phys.set(s.physical)
		got := c.Now()
		if got != s.want {
			t.Fatalf("step %d (physical %d): Now() = %v, want %v", i, s.physical, got, s.want)
		}
		if got.Compare(prev) <= 0 {
			t.Fatalf("step %d: %v is not after %v", i, got, prev)
		}
		if got.Wall < s.physical {
			t.Fatalf("step %d: wall %d behind physical %d", i, got.Wall, s.physical)
		}
		prev = got
	}
	if c.Last() != prev {
		t.Errorf("Last() = %v, want %v", c.Last(), prev)
	}
}

func TestUpdate(t *testing.T) {
	tests := []struct {
		name     string
		last     Timestamp // reached with a Now() at last.Wall then ticks
		physical int64
		remote   Timestamp
		want     Timestamp
		clamped  bool
	}{
		{name: "remote ahead", last: ts(100, 2), physical: 110, remote: ts(500, 7), want: ts(500, 8)},
		{name: "remote behind, physical ahead", last: ts(100, 2), physical: 300, remote: ts(50, 9), want: ts(300, 0)},
		{name: "remote behind, local ahead", last: ts(100, 2), physical: 90, remote: ts(50, 9), want: ts(100, 3)},
		{name: "equal walls, remote logical larger", last: ts(100, 2), physical: 90, remote: ts(100, 9), want: ts(100, 10)},
		{name: "equal walls, local logical larger", last: ts(100, 5), physical: 90, remote: ts(100, 1), want: ts(100, 6)},
		{name: "equal timestamps", last: ts(100, 4), physical: 100, remote: ts(100, 4), want: ts(100, 5)},
		{name: "all three equal walls", last: ts(100, 0), physical: 100, remote: ts(100, 0), want: ts(100, 1)},
		{name: "zero remote", last: ts(100, 1), physical: 100, remote: Timestamp{}, want: ts(100, 2)},
		{name: "remote logical at its limit", last: ts(100, 0), physical: 100, remote: ts(100, math.MaxUint32), want: ts(101, 0)},
		{name: "remote exactly max offset ahead", last: ts(100, 2), physical: 110, remote: ts(110+mo, 7), want: ts(110+mo, 8)},
		{name: "remote beyond max offset", last: ts(100, 2), physical: 110, remote: ts(110+mo+1, 7), want: ts(110+mo, 1), clamped: true},
		{name: "remote hours ahead", last: ts(100, 2), physical: 110, remote: ts(110+int64(3*time.Hour), 0), want: ts(110+mo, 1), clamped: true},
		{name: "remote beyond max offset, local further ahead", last: ts(3*mo, 2), physical: 110, remote: ts(2*mo, 7), want: ts(3*mo, 3), clamped: true},
		{name: "remote at max wall", last: ts(100, 2), physical: 110, remote: ts(math.MaxInt64, 0), want: ts(110+mo, 1), clamped: true},
		{name: "bound saturates near max wall", last: ts(math.MaxInt64-10, 0), physical: math.MaxInt64 - 10, remote: ts(math.MaxInt64, 0), want: ts(math.MaxInt64, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phys := &fakePhysical{}
			c := New(phys.read)
			phys.set(tt.last.Wall)
			for range tt.last.Logical + 1 {
				c.Now()
			}
			if c.Last() != tt.last {
				t.Fatalf("setup reached %v, want %v", c.Last(), tt.last)
			}
			phys.set(tt.physical)
			got, clamped := c.Update(tt.remote)
			if got != tt.want || clamped != tt.clamped {
				t.Fatalf("Update(%v) = %v, %t; want %v, %t", tt.remote, got, clamped, tt.want, tt.clamped)
			}
			if got.Compare(tt.last) <= 0 {
				t.Fatalf("Update(%v) = %v is not after the previous local %v", tt.remote, got, tt.last)
			}
			if !clamped && got.Compare(tt.remote) <= 0 {
				t.Fatalf("Update(%v) = %v is not after remote", tt.remote, got)
			}
			if next := c.Now(); next.Compare(got) <= 0 {
				t.Fatalf("Now() after Update = %v, not after %v", next, got)
			}
		})
	}
}

// mo is DefaultMaxOffset in nanoseconds.
const mo = int64(DefaultMaxOffset)

func TestMaxOffsetSetting(t *testing.T) {
	c := New(nil)
	if got := c.MaxOffset(); got != DefaultMaxOffset || DefaultMaxOffset != 500*time.Millisecond {
		t.Fatalf("new clock MaxOffset() = %v, want 500ms", got)
	}
	for _, tt := range []struct{ set, want time.Duration }{
		{set: time.Second, want: time.Second},
		{set: 0, want: 0},
		{set: -time.Second, want: 0},
		{set: time.Millisecond, want: time.Millisecond},
	} {
		c.SetMaxOffset(tt.set)
		if got := c.MaxOffset(); got != tt.want {
			t.Errorf("SetMaxOffset(%v): MaxOffset() = %v, want %v", tt.set, got, tt.want)
		}
	}
}

// TestUpdateMaxOffsetIncludesSkew checks that the bound is measured from what the
// receiver believes is now: its physical clock plus its skew offset.
func TestUpdateMaxOffsetIncludesSkew(t *testing.T) {
	const base = int64(1_700_000_000_000_000_000)
	tests := []struct {
		name      string
		offset    time.Duration
		maxOffset time.Duration
		remote    Timestamp
		want      Timestamp
		clamped   bool
	}{
		{name: "within bound", remote: ts(base+mo-1, 3), want: ts(base+mo-1, 4)},
		{name: "beyond bound", remote: ts(base+mo+1, 3), want: ts(base+mo, 1), clamped: true},
		{name: "fast receiver adopts what is near its own now", offset: time.Hour, remote: ts(base+int64(time.Hour)+mo, 3), want: ts(base+int64(time.Hour)+mo, 4)},
		{name: "fast receiver bound moves with its skew", offset: time.Hour, remote: ts(base+int64(2*time.Hour), 3), want: ts(base+int64(time.Hour)+mo, 1), clamped: true},
		{name: "slow receiver clamps honest time", offset: -time.Hour, remote: ts(base, 3), want: ts(base-int64(time.Hour)+mo, 1), clamped: true},
		{name: "custom bound", maxOffset: time.Second, remote: ts(base+int64(time.Second), 3), want: ts(base+int64(time.Second), 4)},
		{name: "custom bound exceeded", maxOffset: time.Millisecond, remote: ts(base+mo, 3), want: ts(base+int64(time.Millisecond), 1), clamped: true},
		{name: "bound disabled", maxOffset: -1, remote: ts(base+int64(time.Hour), 3), want: ts(base+int64(time.Hour), 4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New((&fakePhysical{now: base}).read)
			c.SetOffset(tt.offset)
			if tt.maxOffset != 0 {
				c.SetMaxOffset(tt.maxOffset)
			}
			got, clamped := c.Update(tt.remote)
			if got != tt.want || clamped != tt.clamped {
				t.Fatalf("Update(%v) = %v, %t; want %v, %t", tt.remote, got, clamped, tt.want, tt.clamped)
			}
			if c.Last() != got {
				t.Fatalf("Last() = %v, want %v", c.Last(), got)
			}
		})
	}
}

// TestSkewRevertedClocksReturnToPhysicalTime plays the clock-skew fault: a sends
// timestamps from a clock an hour fast to b. b's clock never runs more than
// MaxOffset ahead of its physical time, so once the fault is reverted b reads
// physical time again instead of staying an hour ahead. a itself stays at its
// high-water mark (a clock never goes backwards) until physical time catches up,
// and keeps being clamped at b meanwhile.
func TestSkewRevertedClocksReturnToPhysicalTime(t *testing.T) {
	const base = int64(1_700_000_000_000_000_000)
	run := func(maxOffset time.Duration) (b *Clock, phys *fakePhysical, clamps int) {
		phys = &fakePhysical{now: base}
		a, b := New(phys.read), New(phys.read)
		if maxOffset != DefaultMaxOffset {
			b.SetMaxOffset(maxOffset)
		}
		a.SetOffset(time.Hour)
		send := func() {
			got, clamped := b.Update(a.Now())
			if clamped {
				clamps++
			}
			if maxOffset > 0 && got.Wall > phys.now+int64(maxOffset) {
				t.Fatalf("b at %v, more than %v ahead of physical %d", got, maxOffset, phys.now)
			}
		}
		for range 5 {
			phys.set(phys.now + int64(100*time.Millisecond))
			send()
		}
		a.SetOffset(0) // fault reverted
		if got := a.Now(); got.Wall < base+int64(time.Hour) {
			t.Fatalf("a went backwards after the revert: %v", got)
		}
		for range 5 {
			phys.set(phys.now + int64(100*time.Millisecond))
			send()
		}
		phys.set(phys.now + int64(time.Second)) // more than MaxOffset later
		return b, phys, clamps
	}

	b, phys, clamps := run(DefaultMaxOffset)
	if clamps != 10 {
		t.Errorf("b clamped %d of 10 updates, want all", clamps)
	}
	if got, want := b.Now(), ts(phys.now, 0); got != want {
		t.Errorf("after the revert b.Now() = %v, want physical time %v", got, want)
	}

	// Without the bound, b is dragged an hour ahead and stays there.
	b, phys, clamps = run(0)
	if clamps != 0 {
		t.Errorf("unbounded clock clamped %d updates", clamps)
	}
	if got := b.Now(); got.Wall < phys.now+int64(59*time.Minute) {
		t.Errorf("unbounded b.Now() = %v, expected to be dragged ~1h ahead of %d", got, phys.now)
	}
}

// TestSlowClockRevertedReturnsToPhysicalTime: a receiver whose own clock runs
// slow clamps honest timestamps to its skewed now + MaxOffset, and reads physical
// time as soon as its skew is reverted.
func TestSlowClockRevertedReturnsToPhysicalTime(t *testing.T) {
	const base = int64(1_700_000_000_000_000_000)
	phys := &fakePhysical{now: base}
	c := New(phys.read)
	c.SetOffset(-time.Hour)
	if got, clamped := c.Update(ts(base, 0)); !clamped || got != ts(base-int64(time.Hour)+mo, 1) {
		t.Fatalf("Update = %v, %t; want %v, clamped", got, clamped, ts(base-int64(time.Hour)+mo, 1))
	}
	c.SetOffset(0)
	if got := c.Now(); got != ts(base, 0) {
		t.Fatalf("after the revert Now() = %v, want %v", got, ts(base, 0))
	}
}

// TestMonotonicWithMaxOffset mixes Now and Update with far-future and past remote
// timestamps, a physical clock that jumps both ways, skew changes and MaxOffset
// changes, and checks that the clock never goes backwards, never falls behind
// its physical time, never runs more than MaxOffset ahead of it unless it was
// already there, and clamps exactly the remote timestamps beyond the bound.
func TestMonotonicWithMaxOffset(t *testing.T) {
	for _, seed := range []uint64{1, 7, 99} {
		rng := rand.New(rand.NewPCG(seed, seed+1))
		phys := &fakePhysical{now: 1_700_000_000_000_000_000}
		c := New(phys.read)
		var prev Timestamp
		for i := range 5000 {
			switch r := rng.IntN(20); {
			case r < 10:
				phys.set(phys.now + rng.Int64N(int64(50*time.Millisecond)))
			case r < 13:
				phys.set(phys.now - rng.Int64N(int64(time.Second)))
			case r < 15:
				c.SetOffset(time.Duration(rng.Int64N(int64(4*time.Second)) - int64(2*time.Second)))
			case r < 16:
				c.SetMaxOffset([]time.Duration{0, 100 * time.Millisecond, DefaultMaxOffset}[rng.IntN(3)])
			}
			pt := phys.now + int64(c.Offset())
			maxOff := int64(c.MaxOffset())
			var got Timestamp
			if rng.IntN(2) == 0 {
				got = c.Now()
			} else {
				remote := ts(pt+rng.Int64N(int64(3*time.Second))-int64(time.Second), rng.Uint32N(5))
				var clamped bool
				got, clamped = c.Update(remote)
				if want := maxOff > 0 && remote.Wall > pt+maxOff; clamped != want {
					t.Fatalf("seed %d step %d: Update(%v) at pt %d, max offset %d: clamped %t, want %t", seed, i, remote, pt, maxOff, clamped, want)
				}
				if !clamped && got.Compare(remote) <= 0 {
					t.Fatalf("seed %d step %d: Update(%v) = %v, not after remote", seed, i, remote, got)
				}
				if maxOff > 0 && got.Wall > max(prev.Wall, pt+maxOff) {
					t.Fatalf("seed %d step %d: Update(%v) = %v, beyond pt %d + max offset %d and the previous %v", seed, i, remote, got, pt, maxOff, prev)
				}
			}
			if got.Compare(prev) <= 0 {
				t.Fatalf("seed %d step %d: %v not after the previous %v", seed, i, got, prev)
			}
			if got.Wall < pt {
				t.Fatalf("seed %d step %d: wall %d behind physical %d", seed, i, got.Wall, pt)
			}
			prev = got
		}
	}
}

func TestConcurrentUpdateAndSetMaxOffset(t *testing.T) {
	c := New(nil)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var prev Timestamp
			for i := range 2000 {
				var got Timestamp
				switch {
				case g == 0 && i%10 == 0:
					c.SetMaxOffset(time.Duration(i%3) * 100 * time.Millisecond)
					_ = c.MaxOffset()
					continue
				case i%2 == 0:
					got = c.Now()
				default:
					got, _ = c.Update(Timestamp{Wall: time.Now().Add(time.Hour).UnixNano()})
				}
				if got.Compare(prev) <= 0 {
					t.Errorf("goroutine %d: %v then %v", g, prev, got)
					return
				}
				prev = got
			}
		})
	}
	wg.Wait()
}

func TestConcurrentNowIsUniqueAndOrdered(t *testing.T) {
	tests := []struct {
		name     string
		physical func() time.Time
	}{
		{name: "real clock", physical: nil},
		{name: "frozen clock", physical: func() time.Time { return time.Unix(0, 1_700_000_000_000_000_000) }},
	}
	const goroutines, perGoroutine = 8, 5000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(tt.physical)
			results := make([][]Timestamp, goroutines)
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					out := make([]Timestamp, perGoroutine)
					for i := range out {
						out[i] = c.Now()
					}
					results[g] = out
				})
			}
			wg.Wait()
			var all []Timestamp
			for g, out := range results {
				for i := 1; i < len(out); i++ {
					if out[i].Compare(out[i-1]) <= 0 {
						t.Fatalf("goroutine %d: %v then %v", g, out[i-1], out[i])
					}
				}
				all = append(all, out...)
			}
			slices.SortFunc(all, Timestamp.Compare)
			for i := 1; i < len(all); i++ {
				if all[i] == all[i-1] {
					t.Fatalf("timestamp %v returned twice", all[i])
				}
			}
			if got := c.Last(); got != all[len(all)-1] {
				t.Errorf("Last() = %v, want the largest returned %v", got, all[len(all)-1])
			}
		})
	}
}

func TestSetOffsetShiftsWall(t *testing.T) {
	const base = int64(1_700_000_000_000_000_000)
	phys := &fakePhysical{now: base}
	c := New(phys.read)
	if got := c.Now(); got != ts(base, 0) {
		t.Fatalf("Now() = %v, want %v", got, ts(base, 0))
	}
	c.SetOffset(time.Hour)
	if c.Offset() != time.Hour {
		t.Fatalf("Offset() = %v, want 1h", c.Offset())
	}
	ahead := base + int64(time.Hour)
	if got := c.Now(); got != ts(ahead, 0) {
		t.Fatalf("with +1h offset Now() = %v, want %v", got, ts(ahead, 0))
	}
	// Moving the offset back does not move the clock back.
	c.SetOffset(-time.Minute)
	if got := c.Now(); got != ts(ahead, 1) {
		t.Fatalf("after -1m offset Now() = %v, want %v", got, ts(ahead, 1))
	}
	// Once the physical clock passes the skewed high-water mark, it leads again.
	phys.set(ahead + int64(2*time.Minute))
	if got, want := c.Now(), ts(ahead+int64(time.Minute), 0); got != want {
		t.Fatalf("Now() = %v, want %v", got, want)
	}
	c.SetOffset(0)
	if c.Offset() != 0 {
		t.Errorf("Offset() = %v after reset", c.Offset())
	}
}

// TestPaperInvariants simulates nodes exchanging messages over physical clocks
// that drift, jump backwards and are skewed, and checks the invariants that
// Kulkarni et al. prove for HLC:
//
//   - e happened before f implies ts(e) < ts(f) (and each node's timestamps rise);
//   - l.f >= pt.f: the wall part never falls behind the (skewed) physical clock;
//   - l.f is the largest physical reading in f's causal past (which is what keeps
//     it within the clock uncertainty of pt.f: Theorem 2's bounded drift);
//   - c.f <= |{g : g happened before f and l.g = l.f}| (Theorem 3).
func TestPaperInvariants(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 42, 1234} {
		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		const nodes, events = 4, 1500
		type node struct {
			phys    *fakePhysical
			clock   *Clock
			history bitset // events in the causal past, inclusive
			maxPT   int64  // largest physical reading in the causal past
			last    Timestamp
		}
		type message struct {
			ts      Timestamp
			history bitset
			maxPT   int64
		}
		ns := make([]*node, nodes)
		for i := range ns {
			p := &fakePhysical{now: 1_000_000 + rng.Int64N(50)}
			ns[i] = &node{phys: p, clock: New(p.read), history: newBitset(events), maxPT: math.MinInt64}
		}
		var inFlight []message
		stamps := make([]Timestamp, events)
		var maxSkew int64
		for e := range events {
			n := ns[rng.IntN(nodes)]
			// Physical time usually advances a little, sometimes stalls, sometimes
			// jumps backwards (NTP step); occasionally the skew fault changes.
			switch r := rng.IntN(10); {
			case r < 6:
				n.phys.set(n.phys.now + rng.Int64N(20))
			case r < 8:
				n.phys.set(n.phys.now - rng.Int64N(30))
			case r < 9:
				n.clock.SetOffset(time.Duration(rng.Int64N(200) - 100))
			}
			var got Timestamp
			kind := rng.IntN(3)
			if kind == 2 && len(inFlight) == 0 {
				kind = 0
			}
			switch kind {
			case 0, 1: // local or send
				got = n.clock.Now()
				n.maxPT = max(n.maxPT, n.phys.lastRead+int64(n.clock.Offset()))
			case 2: // receive a random in-flight message (reordering allowed)
				k := rng.IntN(len(inFlight))
				m := inFlight[k]
				inFlight = slices.Delete(inFlight, k, k+1)
				var clamped bool
				got, clamped = n.clock.Update(m.ts)
				if clamped {
					t.Fatalf("seed %d event %d: %v clamped; the simulated skew is far below MaxOffset", seed, e, m.ts)
				}
				if got.Compare(m.ts) <= 0 {
					t.Fatalf("seed %d event %d: receive stamped %v, not after the message's %v", seed, e, got, m.ts)
				}
				n.history.or(m.history)
				n.maxPT = max(n.maxPT, m.maxPT, n.phys.lastRead+int64(n.clock.Offset()))
			}
			pt := n.phys.lastRead + int64(n.clock.Offset())
			n.history.set(e)
			stamps[e] = got

			if got.Compare(n.last) <= 0 {
				t.Fatalf("seed %d event %d: %v not after the node's previous %v", seed, e, got, n.last)
			}
			if got.Wall < pt {
				t.Fatalf("seed %d event %d: wall %d behind physical %d", seed, e, got.Wall, pt)
			}
			if got.Wall != n.maxPT {
				t.Fatalf("seed %d event %d: wall %d, but the largest physical reading in the causal past is %d", seed, e, got.Wall, n.maxPT)
			}
			maxSkew = max(maxSkew, got.Wall-pt)
			sameWall := 0
			n.history.each(func(g int) {
				if g != e && stamps[g].Wall == got.Wall {
					sameWall++
				}
			})
			if int(got.Logical) > sameWall {
				t.Fatalf("seed %d event %d: logical %d exceeds the %d causal predecessors with the same wall", seed, e, got.Logical, sameWall)
			}
			n.last = got
			if kind == 1 {
				inFlight = append(inFlight, message{ts: got, history: n.history.clone(), maxPT: n.maxPT})
			}
		}
		t.Logf("seed %d: %d events, largest l-pt drift %dns", seed, events, maxSkew)
	}
}

type bitset []uint64

func newBitset(n int) bitset   { return make(bitset, (n+63)/64) }
func (b bitset) set(i int)     { b[i/64] |= 1 << (i % 64) }
func (b bitset) clone() bitset { return slices.Clone(b) }
func (b bitset) or(o bitset) {
	for i := range b {
		b[i] |= o[i]
	}
}
func (b bitset) each(fn func(int)) {
	for i, w := range b {
		for w != 0 {
			fn(i*64 + bits.TrailingZeros64(w))
			w &= w - 1
		}
	}
}

func TestStringAndParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Timestamp
		wantErr bool
	}{
		{in: "1700000000000000000.3", want: ts(1700000000000000000, 3)},
		{in: "0.0", want: Timestamp{}},
		{in: "-5.1", want: ts(-5, 1)},
		{in: "9223372036854775807.4294967295", want: ts(math.MaxInt64, math.MaxUint32)},
		{in: "", wantErr: true},
		{in: "17", wantErr: true},
		{in: "17.", wantErr: true},
		{in: ".3", wantErr: true},
		{in: "17.3.1", wantErr: true},
		{in: "17.-1", wantErr: true},
		{in: "17.4294967296", wantErr: true},
		{in: "x.3", wantErr: true},
		{in: "9223372036854775808.0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Parse(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestCompareAndIsZero(t *testing.T) {
	tests := []struct {
		a, b Timestamp
		want int
	}{
		{a: ts(1, 0), b: ts(2, 0), want: -1},
		{a: ts(2, 0), b: ts(1, 9), want: 1},
		{a: ts(2, 1), b: ts(2, 3), want: -1},
		{a: ts(2, 3), b: ts(2, 3), want: 0},
		{a: Timestamp{}, b: ts(0, 1), want: -1},
	}
	for _, tt := range tests {
		if got := tt.a.Compare(tt.b); got != tt.want {
			t.Errorf("%v.Compare(%v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := tt.b.Compare(tt.a); got != -tt.want {
			t.Errorf("%v.Compare(%v) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
		if tt.a.Less(tt.b) != (tt.want < 0) {
			t.Errorf("%v.Less(%v) disagrees with Compare", tt.a, tt.b)
		}
	}
	if !(Timestamp{}).IsZero() || ts(0, 1).IsZero() || ts(1, 0).IsZero() {
		t.Error("IsZero is wrong")
	}
	if got := ts(1_700_000_000_000_000_000, 0).Time(); !got.Equal(time.Unix(1_700_000_000, 0)) {
		t.Errorf("Time() = %v", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1700000000000000000.3", "0.0", "-1.2", "1.", "a.b", "+1.2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		if err != nil {
			return
		}
		back, err := Parse(got.String())
		if err != nil || back != got {
			t.Fatalf("Parse(%q) = %v; its String %q parses to %v, %v", s, got, got.String(), back, err)
		}
	})
}

func BenchmarkNow(b *testing.B) {
	c := New(nil)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Now()
		}
	})
}
