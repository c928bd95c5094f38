package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// ExactBelow: a Mann-Whitney test of two samples that both have fewer
// values than this, and no ties, gets the exact p-value (as R's
// wilcox.test); larger samples or ties get the normal approximation.
const ExactBelow = 50

// MannWhitney is a two-sided Mann-Whitney U test of x against y.
type MannWhitney struct {
	// U counts the pairs (xᵢ, yⱼ) with xᵢ > yⱼ, a tie counting ½: R's W,
	// scipy's U1. U = N1·N2/2 when neither sample tends to be larger.
	U      float64
	N1, N2 int
	// P is the two-sided p-value.
	P float64
	// Exact says P comes from the exact distribution of U; otherwise from
	// the normal approximation, whose Z (continuity-corrected) is given.
	Exact bool
	Z     float64
	// Ties says some values occur more than once in x and y together.
	Ties bool
}

// ErrNoData is returned for an empty sample.
var ErrNoData = errors.New("a sample is empty")

// checkSamples refuses empty samples and values that are not finite.
func checkSamples(x, y []float64) error {
	if len(x) == 0 || len(y) == 0 {
		return ErrNoData
	}
	for _, s := range [][]float64{x, y} {
		for _, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("sample value %v is not a finite number", v)
			}
		}
	}
	return nil
}

// MannWhitneyU is the two-sided Mann-Whitney U (Wilcoxon rank-sum) test of
// x against y: exact when both have fewer than ExactBelow values and no
// value repeats, else the normal approximation with the tie-corrected
// variance and a continuity correction of ½. x and y are not changed.
func MannWhitneyU(x, y []float64) (MannWhitney, error) {
	if err := checkSamples(x, y); err != nil {
		return MannWhitney{}, err
	}
	n1, n2 := len(x), len(y)
	ranks, tieTerm := midRanks(x, y)
	var rx float64
	for _, r := range ranks[:n1] {
		rx += r
	}
	out := MannWhitney{N1: n1, N2: n2, U: rx - float64(n1)*float64(n1+1)/2, Ties: tieTerm > 0}
	mn := float64(n1) * float64(n2)
	if n1 < ExactBelow && n2 < ExactBelow && !out.Ties {
		d := uDistribution(n1, n2)
		u := int(math.Round(out.U))
		var p float64
		if out.U > mn/2 {
			p = 1 - cdf(d, u-1) // P(U ≥ u)
		} else {
			p = cdf(d, u) // P(U ≤ u)
		}
		out.P, out.Exact = min(1, 2*p), true
		return out, nil
	}
	sigma := uSigma(n1, n2, tieTerm)
	diff := out.U - mn/2
	if sigma == 0 {
		// Every value equal: no evidence either way.
		out.P = 1
		return out, nil
	}
	out.Z = (diff - 0.5*sign(diff)) / sigma
	out.P = min(1, 2*distuv.UnitNormal.CDF(-math.Abs(out.Z)))
	return out, nil
}

// uSigma is the standard deviation of U under the null hypothesis, with
// the tie correction: tieTerm is Σ(t³ − t) over the groups of t equal
// values.
func uSigma(n1, n2 int, tieTerm float64) float64 {
	n := float64(n1 + n2)
	v := float64(n1) * float64(n2) / 12 * ((n + 1) - tieTerm/(n*(n-1)))
	return math.Sqrt(max(v, 0))
}

func sign(f float64) float64 {
	switch {
	case f > 0:
		return 1
	case f < 0:
		return -1
	}
	return 0
}

// midRanks ranks x and y together (ties get the mean of their ranks) and
// returns the ranks, x's first, and Σ(t³ − t) over the groups of ties.
func midRanks(x, y []float64) (ranks []float64, tieTerm float64) {
	n := len(x) + len(y)
	idx := make([]int, n)
	val := func(i int) float64 {
		if i < len(x) {
			return x[i]
		}
		return y[i-len(x)]
	}
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		va, vb := val(a), val(b)
		switch {
		case va < vb:
			return -1
		case va > vb:
			return 1
		}
		return 0
	})
	ranks = make([]float64, n)
	for i := 0; i < n; {
		j := i + 1
		for j < n && val(idx[j]) == val(idx[i]) {
			j++
		}
		r := float64(i+j+1) / 2 // ranks i+1..j, their mean
		for k := i; k < j; k++ {
			ranks[idx[k]] = r
		}
		if t := float64(j - i); t > 1 {
			tieTerm += t*t*t - t
		}
		i = j
	}
	return ranks, tieTerm
}

// uDistribution is P(U = u), u = 0..m·n, for samples of m and n values
// without ties: the number of orderings with u pairs won, over all
// C(m+n, m) orderings. By the largest value, which is an x (it beats all n
// y's) or a y: c(m, n, u) = c(m−1, n, u−n) + c(m, n−1, u). Every step adds
// positive counts, so float64 keeps them to its relative precision (the
// largest, C(98, 49), is about 2.5e28).
func uDistribution(m, n int) []float64 {
	size := m*n + 1
	// c[i][u] = c(i, j, u) for the current j.
	c := make([][]float64, m+1)
	for i := range c {
		c[i] = make([]float64, size)
	}
	for i := range c {
		c[i][0] = 1 // j = 0: no y to beat
	}
	for j := 1; j <= n; j++ {
		// c(0, j, 0) = 1 stays; for i ≥ 1, in increasing i so that c[i-1]
		// already holds column j.
		for i := 1; i <= m; i++ {
			for u := size - 1; u >= 0; u-- {
				// c[i][u] still holds c(i, j−1, u).
				if u >= j {
					c[i][u] += c[i-1][u-j]
				}
			}
		}
	}
	counts := c[m]
	var total float64
	for _, v := range counts {
		total += v
	}
	p := make([]float64, size)
	for u, v := range counts {
		p[u] = v / total
	}
	return p
}

// cdf is P(U ≤ u) of a distribution from uDistribution.
func cdf(d []float64, u int) float64 {
	if u < 0 {
		return 0
	}
	if u >= len(d)-1 {
		return 1
	}
	var s float64
	for _, p := range d[:u+1] {
		s += p
	}
	return min(s, 1)
}

// quantile is the smallest u with P(U ≤ u) ≥ p, as R's qwilcox.
func quantile(d []float64, p float64) int {
	var s float64
	for u, q := range d {
		s += q
		// A relative slack keeps a sum that should equal p from missing it
		// by rounding.
		if s >= p*(1-64*epsilon) {
			return u
		}
	}
	return len(d) - 1
}

const epsilon = 2.220446049250313e-16
