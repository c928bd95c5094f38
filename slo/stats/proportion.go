package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// z is the two-sided normal quantile of confidence: 1.96 at 0.95.
func z(confidence float64) float64 {
	return distuv.UnitNormal.Quantile(1 - (1-confidence)/2)
}

// Wilson is the Wilson score interval of the proportion successes/n at
// the given confidence (0 < confidence < 1): unlike the normal
// approximation it stays inside [0, 1] and is not empty at 0 or n
// successes. With n = 0 it is the whole [0, 1]. (R: prop.test(successes,
// n, correct = FALSE)$conf.int.)
func Wilson(successes, n int, confidence float64) Interval {
	if n <= 0 {
		return Interval{0, 1}
	}
	z := z(confidence)
	nf, p := float64(n), float64(successes)/float64(n)
	z2 := z * z
	centre := (p + z2/(2*nf)) / (1 + z2/nf)
	half := z / (1 + z2/nf) * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	iv := Interval{max(0, centre-half), min(1, centre+half)}
	// Exact at the ends, where rounding would leave 1e-17 of slack.
	if successes <= 0 {
		iv.Low = 0
	}
	if successes >= n {
		iv.High = 1
	}
	return iv
}

// NewcombeDiff is the difference x1/n1 − x2/n2 of two independent
// proportions and its hybrid score interval (Newcombe 1998, method 10):
// from the Wilson intervals (l₁, u₁) and (l₂, u₂) of the two,
//
//	low  = d − √((p₁ − l₁)² + (u₂ − p₂)²)
//	high = d + √((u₁ − p₁)² + (p₂ − l₂)²)
//
// It stays inside [−1, 1], is not degenerate at 0 or n events, and keeps
// close to its nominal coverage where the normal (Wald) interval does
// not. A proportion of no trials counts as 0 with the interval [0, 1].
func NewcombeDiff(x1, n1, x2, n2 int, confidence float64) (float64, Interval) {
	p1, p2 := ratio(x1, n1), ratio(x2, n2)
	w1, w2 := Wilson(x1, n1, confidence), Wilson(x2, n2, confidence)
	d := p1 - p2
	return d, Interval{
		Low:  d - math.Hypot(p1-w1.Low, w2.High-p2),
		High: d + math.Hypot(w1.High-p1, p2-w2.Low),
	}
}

func ratio(x, n int) float64 {
	if n <= 0 {
		return 0
	}
	return float64(x) / float64(n)
}
