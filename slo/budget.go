package slo

import (
	"fmt"
	"math"
)

// Budget is an SLO's error budget over a measured period, with the arithmetic
// of the SRE workbook:
//
//	budget   = (1 − objective) × eligible events
//	consumed = bad ÷ budget            (1.0 = the whole budget)
//	burn     = (bad ÷ total) ÷ (1 − objective)
//
// Pass when consumed ≤ 1; no events is inconclusive, never pass.
type Budget struct {
	Objective float64 // share of good events, in (0, 1)
	Total     int64   // eligible events
	Bad       int64   // bad events
}

// Allowed is the number of bad events the budget allows.
func (b Budget) Allowed() float64 { return (1 - b.Objective) * float64(b.Total) }

// Consumed is the fraction of the budget spent (bad ÷ budget). With no budget
// (objective 1 or no events) it is 0 when nothing is bad and +Inf otherwise.
func (b Budget) Consumed() float64 {
	a := b.Allowed()
	if a <= 0 {
		if b.Bad == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return float64(b.Bad) / a
}

// Remaining is the fraction of the budget left (may be negative).
func (b Budget) Remaining() float64 { return 1 - b.Consumed() }

// BurnRate is how fast the period spent the budget: 1 spends exactly the
// budget over the SLO's window, 14.4 spends a 30-day budget in 2 days.
func (b Budget) BurnRate() float64 { return BurnRate(b.Objective, b.Total, b.Bad) }

// BurnRate is (bad ÷ total) ÷ (1 − objective); 0 with no events.
func BurnRate(objective float64, total, bad int64) float64 {
	if total == 0 {
		return 0
	}
	if objective >= 1 {
		if bad == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return (float64(bad) / float64(total)) / (1 - objective)
}

// Verdict judges the budget: inconclusive without events, pass while consumed
// ≤ 100 %, fail beyond.
func (b Budget) Verdict() (Verdict, string) {
	if b.Total == 0 {
		return Inconclusive, "no events were measured"
	}
	c := b.Consumed()
	reason := fmt.Sprintf("%d bad of %d (%.4f%%); budget %.1f bad events, %.1f%% consumed",
		b.Bad, b.Total, 100*float64(b.Bad)/float64(b.Total), b.Allowed(), 100*c)
	if c <= 1 {
		return Pass, reason
	}
	return Fail, reason + ": budget exhausted"
}
