package experiments

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Schedule is one fault schedule drawn from an experiment's nemesis: the
// run's seed and the faults, which are faults of the format as a file
// would give them (every default filled in, as Decode does).
type Schedule struct {
	// Seed is the run's seed: it drew the schedule and also seeds the run
	// (its picks, partition modes and workload keys).
	Seed   int64
	Faults []Fault
	// Duration is the workload's measured duration the schedule fits in:
	// the file's, or shorter after shrinking.
	Duration time.Duration
}

// ErrNoNemesis is returned by DrawSchedule for an experiment without a
// nemesis section.
var ErrNoNemesis = errors.New("the experiment has no nemesis section")

// nemesisStream names the nemesis's random stream (see faultSource).
const nemesisStream = "chaosctl nemesis"

// DrawSchedule draws the fault schedule of run seed seed from the
// nemesis: a pure function of the decoded experiment and the seed (PCG),
// so the same file and seed always give the same schedule. Every fault
// respects the nemesis's kinds, targets, durations, spacing and overlap
// rule, ends before the workload does and passes the validation of a
// hand-written fault. A schedule holds at least nemesis.faults.min faults
// unless the overlap rules leave no room for one.
func (e *Experiment) DrawSchedule(seed int64) (Schedule, error) {
	n := e.Nemesis
	if n == nil {
		return Schedule{}, ErrNoNemesis
	}
	if len(n.Kinds) == 0 || n.Faults.Min < 1 || n.Faults.Max < n.Faults.Min {
		return Schedule{}, fmt.Errorf("draw schedule %d: the nemesis is not valid (kinds %v, faults %d to %d)", seed, n.Kinds, n.Faults.Min, n.Faults.Max)
	}
	g := &drawer{e: e, n: n, src: faultSource(seed, nemesisStream), end: e.Workload.Duration}
	count := n.Faults.Min + int(uniform(g.src, uint64(n.Faults.Max-n.Faults.Min+1)))
	s := Schedule{Seed: seed, Duration: g.end}
	cursor := time.Duration(0)
	for i := range count {
		f, ok := g.next(i, count-i-1, cursor, s.Faults)
		if !ok {
			break
		}
		s.Faults = append(s.Faults, f)
		cursor = f.End()
		if n.Overlap {
			cursor = f.At
		}
	}
	return s, nil
}

// drawer draws one schedule's faults from one PCG stream.
type drawer struct {
	e   *Experiment
	n   *Nemesis
	src *rand.PCG
	end time.Duration
}

// minLength and maxLength bound how long a fault of kind k lasts; an
// instant fault takes a millisecond of the schedule, so the next one
// starts after it.
func (g *drawer) minLength(k FaultKind) time.Duration {
	return max(nemesisMinLength(g.n, k), time.Millisecond)
}

func (g *drawer) maxLength(k FaultKind) time.Duration {
	switch {
	case faultCaps(k).Instant:
		return 0
	case k == FaultCrash:
		return g.n.Crash.RestartAfter.Max
	}
	return g.n.Duration.Max
}

// next draws fault i after cursor, leaving room for the reserved faults
// still to come (without overlap); false when none fits.
func (g *drawer) next(i, after int, cursor time.Duration, earlier []Fault) (Fault, bool) {
	n := g.n
	reserve := time.Duration(0)
	if !n.Overlap {
		shortest := n.Duration.Min
		for _, k := range n.Kinds {
			shortest = min(shortest, g.minLength(k))
		}
		reserve = time.Duration(after) * (n.Spacing.Min + shortest)
	}
	// The kind: drawn among those whose shortest fault still fits.
	var kinds []FaultKind
	for _, k := range n.Kinds {
		if g.fits(cursor+n.Spacing.Min, g.minLength(k), reserve) {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		return Fault{}, false
	}
	kind := kinds[uniform(g.src, uint64(len(kinds)))]
	shortest := g.minLength(kind)
	latest := g.end - reserve - shortest // the latest start that fits
	at := cursor + g.duration(n.Spacing.Min, min(n.Spacing.Max, latest-cursor))
	length := time.Duration(0)
	if !faultCaps(kind).Instant {
		length = g.duration(shortest, min(g.maxLength(kind), g.end-reserve-at))
	}
	f := g.fault(kind, at, length)
	if n.Overlap {
		var ok bool
		if f, ok = g.avoidConflicts(f, earlier); !ok {
			return Fault{}, false
		}
	}
	f.Name = faultName(i, f)
	return f, true
}

// fits reports whether a fault of length starting at start ends in time,
// with reserve left after it.
func (g *drawer) fits(start, length, reserve time.Duration) bool {
	return start+max(length, time.Millisecond)+reserve <= g.end
}

// avoidConflicts moves f (another target first, then later) until no
// earlier fault it overlaps contradicts it; false when it no longer fits.
func (g *drawer) avoidConflicts(f Fault, earlier []Fault) (Fault, bool) {
	for range len(earlier) + 1 {
		clash := -1
		for j := range earlier {
			if overlaps(&earlier[j], &f) && conflicting(&earlier[j], &f) {
				clash = j
				break
			}
		}
		if clash < 0 {
			return f, true
		}
		if sel := f.Selector(); sel != nil && len(sel.Nodes) == 1 {
			drawn := sel.Nodes[0]
			for _, other := range g.e.NemesisCandidates(f.Kind()) {
				sel.Nodes[0] = other
				if !slices.ContainsFunc(earlier, func(x Fault) bool { return overlaps(&x, &f) && conflicting(&x, &f) }) {
					return f, true
				}
			}
			sel.Nodes[0] = drawn
		}
		f.At = earlier[clash].End()
		if f.Crash != nil {
			f.Duration = f.Crash.RestartAfter
		}
		if !g.fits(f.At, f.Duration, 0) {
			return Fault{}, false
		}
	}
	return Fault{}, false
}

func overlaps(a, b *Fault) bool {
	sa, ea := faultWindow(a)
	sb, eb := faultWindow(b)
	return sa < eb && sb < ea
}

func conflicting(a, b *Fault) bool {
	c, _, _ := conflict(a, b)
	return c != noConflict
}

// duration draws a duration in lo..hi, in whole steps of 100ms when the
// range holds two of them, of 1ms otherwise, so schedules read well.
func (g *drawer) duration(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	step := 100 * time.Millisecond
	first, last := ceilDiv(lo, step), floorDiv(hi, step) // whole steps within lo..hi
	if last <= first {
		step = time.Millisecond
		first, last = ceilDiv(lo, step), floorDiv(hi, step)
	}
	return (first + time.Duration(uniform(g.src, uint64(last-first)+1))) * step
}

// floorDiv and ceilDiv divide rounding down and up, negative numbers too
// (a clock skew's range may be below zero).
func floorDiv(a, b time.Duration) time.Duration {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func ceilDiv(a, b time.Duration) time.Duration {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}

// pick draws one of names.
func (g *drawer) pick(names []string) string { return names[uniform(g.src, uint64(len(names)))] }

// fault builds a fault of kind at at lasting length (its name is given
// once it has its place).
func (g *drawer) fault(kind FaultKind, at, length time.Duration) Fault {
	n := g.n
	f := Fault{At: at, Duration: length}
	cands := g.e.NemesisCandidates(kind)
	sel := Selector{Nodes: []string{g.pick(cands)}}
	if _, proxies := selectable(&g.e.Target, kind); proxies {
		sel = Selector{Proxies: sel.Nodes}
	}
	switch kind {
	case FaultPartition:
		f.Partition = g.partition(cands)
	case FaultLatency:
		f.Latency = &Latency{Selector: sel, Delay: g.duration(n.Latency.Delay.Min, n.Latency.Delay.Max)}
	case FaultBandwidth:
		lo, hi := n.Bandwidth.Rate.Min, n.Bandwidth.Rate.Max
		step := ByteRate(1)
		if hi-lo >= 1<<10 {
			step = 1 << 10
		}
		f.Bandwidth = &Bandwidth{Selector: sel, Rate: asWritten(lo+ByteRate(uniform(g.src, uint64((hi-lo)/step)+1))*step, ByteRate.String, ParseByteRate)}
	case FaultReset:
		f.Reset = &Reset{Selector: sel}
	case FaultBlackhole:
		f.Blackhole = &Blackhole{Selector: sel}
	case FaultCrash:
		f.Crash = &Crash{Selector: sel, RestartAfter: length}
	case FaultPause:
		f.Pause = &Pause{Selector: sel}
	case FaultRestart:
		f.Restart = &Restart{Selector: sel}
	case FaultClockSkew:
		f.ClockSkew = &ClockSkew{Selector: sel, Offset: g.duration(n.ClockSkew.Offset.Min, n.ClockSkew.Offset.Max)}
	case FaultCorrupt:
		lo, hi := n.Corrupt.Ratio.Min, n.Corrupt.Ratio.Max
		// In steps of 0.1%, never below the range's floor.
		steps := uint64((hi - lo) * 1000)
		f.Corrupt = &Corrupt{Selector: sel, Ratio: asWritten(min(hi, lo+Percent(uniform(g.src, steps+1))/1000), Percent.String, ParsePercent)}
	case FaultHTTP:
		f.HTTP = g.http(sel)
	}
	return f
}

// http draws an http fault on sel: an action, its status or latency, and
// the share of matching requests, in whole percents when the range holds
// two of them and whole tenths of a percent otherwise; the match is the
// nemesis's.
func (g *drawer) http(sel Selector) *HTTP {
	n := &g.n.HTTP
	h := &HTTP{Selector: sel, Match: HTTPMatch{Method: n.Match.Method, PathPrefix: n.Match.PathPrefix}}
	if len(n.Match.Headers) > 0 {
		h.Match.Headers = maps.Clone(n.Match.Headers)
	}
	action := n.Actions[uniform(g.src, uint64(len(n.Actions)))]
	var share HTTPShare
	switch action {
	case HTTPActionAbort:
		h.Abort = &HTTPAbort{Status: n.Status[uniform(g.src, uint64(len(n.Status)))]}
	case HTTPActionDelay:
		h.Delay = &HTTPDelay{Latency: g.duration(n.Delay.Min, n.Delay.Max)}
	default:
		h.Drop = &HTTPDrop{}
	}
	// In tenths of a percent, so the drawn share is a decimal the file
	// writes as is; a range within one tenth is its min.
	lo, hi := int64(math.Ceil(float64(n.Percent.Min)*1000-1e-9)), int64(math.Floor(float64(n.Percent.Max)*1000+1e-9))
	share.Percent = n.Percent.Min
	if hi >= lo {
		step := int64(10)
		first, last := (lo+step-1)/step, hi/step // whole percents within lo..hi
		if last <= first {
			step, first, last = 1, lo, hi
		}
		share.Percent = Percent(float64((first+int64(uniform(g.src, uint64(last-first)+1)))*step) / 1000)
	}
	share.Percent = asWritten(share.Percent, Percent.String, ParsePercent)
	switch {
	case h.Abort != nil:
		h.Abort.HTTPShare = share
	case h.Delay != nil:
		h.Delay.HTTPShare = share
	default:
		h.Drop.HTTPShare = share
	}
	return h
}

// asWritten is v as a file that writes it reads it back, so a drawn value
// and the same value decoded from the written schedule are equal.
func asWritten[T any](v T, format func(T) string, parse func(string) (T, error)) T {
	if back, err := parse(format(v)); err == nil {
		return back
	}
	return v
}

// partition draws a shape and writes it: isolate and majority-minority as
// groups whose cut side comes from the nemesis's targets, the shapes that
// span every store node as modes (resolved with the run's seed by Plan).
func (g *drawer) partition(cands []string) *Partition {
	n := g.n
	p := &Partition{Behavior: n.Partition.Behavior}
	nodes := g.e.Target.Demo.NodeNames()
	shape := n.Partition.Shapes[uniform(g.src, uint64(len(n.Partition.Shapes)))]
	var cut []string
	switch shape {
	case ModeIsolate:
		cut = []string{g.pick(cands)}
	case ModeMajorityMinority:
		size := min(max((len(nodes)-1)/2, 1), len(cands))
		cut = shuffle(g.src, cands)[:size]
	default:
		p.Mode = shape
		return p
	}
	var rest []string
	for _, name := range nodes {
		if !slices.Contains(cut, name) {
			rest = append(rest, name)
		}
	}
	cut = sortNames(cut)
	if shape == ModeMajorityMinority {
		p.Groups = [][]string{rest, cut} // the majority first, as the mode
		return p
	}
	p.Groups = [][]string{cut, rest}
	return p
}

// faultName names drawn fault i by its kind and what it acts on:
// f2-crash-n2, f1-partition-n1 (the side it cuts off), f3-partition-ring,
// f1-partition-minority (several nodes).
func faultName(i int, f Fault) string {
	kind := strings.ToLower(string(f.Kind()))
	var on []string
	switch p := f.Partition; {
	case p != nil && p.Mode != "":
		on = []string{string(p.Mode)}
	case p != nil && len(p.Groups) == 2 && len(p.Groups[1]) < len(p.Groups[0]):
		on = p.Groups[1]
	case p != nil && len(p.Groups) > 0:
		on = p.Groups[0]
	default:
		on = append(f.Selector().Nodes, f.Selector().Proxies...)
	}
	what := "minority"
	if len(on) == 1 {
		what = on[0]
	}
	if name := fmt.Sprintf("f%d-%s-%s", i+1, kind, what); len(name) <= 63 {
		return name
	}
	return fmt.Sprintf("f%d-%s", i+1, kind)
}
