package ramp

import (
	"context"
	"fmt"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// Space is what Search bisects: grid values from From, the mild end, to
// To, the harsh end (To may be below From: then a smaller value is
// harsher), with at most Steps bisection probes after the two ends.
type Space struct {
	From, To int64
	Steps    int
}

// Probe runs one step at grid value x and returns its verdict (report.Pass,
// Fail or Inconclusive). An error ends the search (an interruption, an
// environment that failed): the probe could not judge x.
type Probe func(ctx context.Context, x int64) (verdict string, err error)

// Statuses of a search.
const (
	// StatusBracketed: a value held and a harsher one broke; Holds and
	// Breaks are the closest such pair the steps reached.
	StatusBracketed = "bracketed"
	// StatusHoldsToTo: the harsh end held; the margin is at least To.
	StatusHoldsToTo = "holds-to-to"
	// StatusBreaksAtFrom: the mild end broke; there is no margin in the
	// range.
	StatusBreaksAtFrom = "breaks-at-from"
	// StatusInconclusive: a probe stayed inconclusive where it mattered
	// (an end, or between Holds and Breaks); what was measured is kept.
	StatusInconclusive = "inconclusive"
)

// Probed is one probe of a search: the value, its verdict and whether it
// was the rerun of an inconclusive probe (Try 2).
type Probed struct {
	Value   int64
	Verdict string
	Try     int
}

// Bracket is what a search found. Holds is the harshest value that held,
// Breaks the mildest that broke, Unknown the mildest value between them
// that stayed inconclusive on its rerun (each nil when there is none).
// Every figure is a value that was probed: nothing is interpolated.
type Bracket struct {
	Holds, Breaks, Unknown *int64
	Status                 string
	Probes                 []Probed
}

// Search looks for the breaking point in s by bisection: it probes From
// (when it breaks, StatusBreaksAtFrom), then To (when it holds,
// StatusHoldsToTo), then up to s.Steps midpoints between the harshest value
// that held and the mildest that broke, stopping early when they are one
// grid step apart. The midpoint is rounded towards the mild end.
//
// An inconclusive probe is rerun once. When the rerun is inconclusive too
// the value is unknown: the search stops narrowing on the harsh side of it
// (it cannot tell whether the break lies below or above) and keeps
// bisecting between the last value that held and the unknown one, so the
// result is still a margin that held, with the unknown value named.
//
// Bisection assumes the verdict is monotone in intensity. Search does not
// check that: a dip (a value that breaks between two that hold) can go
// unseen, and the bracket found is then one breaking point, not the first.
// Holds and Breaks are always values a probe judged so.
//
// A probe's error ends the search at once; the bracket so far is returned
// with it.
func Search(ctx context.Context, s Space, probe Probe) (Bracket, error) {
	if s.From == s.To {
		return Bracket{}, fmt.Errorf("ramp search: from and to are both %d; a ramp needs a range", s.From)
	}
	dir := int64(1)
	if s.To < s.From {
		dir = -1
	}
	// Positions count grid steps from From towards To: 0..n.
	n := (s.To - s.From) * dir
	at := func(pos int64) int64 { return s.From + dir*pos }
	var b Bracket
	judge := func(pos int64) (string, error) {
		for try := 1; try <= 2; try++ {
			v, err := probe(ctx, at(pos))
			if err != nil {
				return "", err
			}
			b.Probes = append(b.Probes, Probed{Value: at(pos), Verdict: v, Try: try})
			if v == report.Pass || v == report.Fail {
				return v, nil
			}
		}
		return report.Inconclusive, nil
	}
	value := func(pos int64) *int64 { v := at(pos); return &v }

	v, err := judge(0)
	switch {
	case err != nil:
		b.Status = StatusInconclusive
		return b, err
	case v == report.Fail:
		b.Breaks, b.Status = value(0), StatusBreaksAtFrom
		return b, nil
	case v != report.Pass:
		b.Unknown, b.Status = value(0), StatusInconclusive
		return b, nil
	}
	// lo is the harshest position that held; hi the mildest that broke,
	// unknown the mildest inconclusive one above lo (-1: none).
	lo, hi, unknown := int64(0), int64(-1), int64(-1)
	v, err = judge(n)
	switch {
	case err != nil:
		b.Holds, b.Status = value(lo), StatusInconclusive
		return b, err
	case v == report.Pass:
		b.Holds, b.Status = value(n), StatusHoldsToTo
		return b, nil
	case v == report.Fail:
		hi = n
	default:
		unknown = n
	}
	for step := 0; step < s.Steps; step++ {
		upper := hi
		if unknown >= 0 && (hi < 0 || unknown < hi) {
			upper = unknown
		}
		if upper-lo <= 1 {
			break
		}
		mid := lo + (upper-lo)/2
		if v, err = judge(mid); err != nil {
			break
		}
		switch v {
		case report.Pass:
			lo = mid
		case report.Fail:
			hi = mid
			if unknown > hi {
				unknown = -1 // above a break: it would break too
			}
		default:
			unknown = mid
		}
	}
	b.Holds = value(lo)
	if hi >= 0 {
		b.Breaks = value(hi)
	}
	if unknown >= 0 && (hi < 0 || unknown < hi) {
		b.Unknown = value(unknown)
		b.Status = StatusInconclusive
	} else {
		b.Status = StatusBracketed
	}
	return b, err
}
