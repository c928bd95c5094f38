package stats

import (
	"math"
	"testing"
)

// The reference figures below were computed with R 4.2.2 (Debian's
// r-base-core): wilcox.test(x, y, conf.int = TRUE) unless a case says
// otherwise, printed with options(digits = 15).

// Hollander & Wolfe (1973), p. 69: permeability constants of the human
// chorioamnion at term (x) and at 12 to 26 weeks (y), the example of R's
// ?wilcox.test. No ties, both samples small: the exact test.
var (
	hwX = []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46}
	hwY = []float64{1.15, 0.88, 0.90, 0.74, 1.21}
)

// R's airquality data set, Ozone (ppb) in May and in August with the
// missing days left out (ozone5 <- with(airquality, Ozone[Month == 5 &
// !is.na(Ozone)])), also an example of ?wilcox.test: ties, so the normal
// approximation.
var (
	ozone5 = []float64{41, 36, 12, 18, 28, 23, 19, 8, 7, 16, 11, 14, 18, 14, 34, 6, 30, 11, 1, 11, 4, 32, 23, 45, 115, 37}
	ozone8 = []float64{39, 9, 16, 78, 35, 66, 122, 89, 110, 44, 28, 65, 22, 59, 23, 31, 44, 21, 9, 45, 168, 73, 76, 118, 84, 85}
)

// seq builds the deterministic samples given to R as
// ((1:n * mul) %% mod) / div + add.
func seq(n, mul, mod int, div, add float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(((i+1)*mul)%mod)/div + add
	}
	return out
}

func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func TestMannWhitneyAgainstR(t *testing.T) {
	for _, tc := range []struct {
		name  string
		x, y  []float64
		u, p  float64
		exact bool
	}{
		// W = 35, p-value = 0.2544 (exact; R's example with alternative =
		// "greater" gives half of it, 0.1272).
		{"Hollander-Wolfe", hwX, hwY, 35, 0.254412254412254, true},
		{"Hollander-Wolfe reversed", hwY, hwX, 15, 0.254412254412254, true},
		// W = 127.5, p-value = 0.0001208 (ties: normal approximation).
		{"ozone May vs August", ozone5, ozone8, 127.5, 0.000120807830768774, false},
		{"ozone August vs May", ozone8, ozone5, 548.5, 0.000120807830768774, false},
		// 20 vs 25 values, no ties: exact. c1 <- ((1:20*7) %% 29)/4;
		// c2 <- ((1:25*11) %% 31)/4 + 0.3.
		{"20 vs 25 exact", seq(20, 7, 29, 4, 0), seq(25, 11, 31, 4, 0.3), 229, 0.642802977317851, true},
		// 60 vs 70 values, no ties, at or above 50: normal approximation.
		// a <- ((1:60*37) %% 101)/10; b <- ((1:70*53) %% 103)/10 + 0.05.
		{"60 vs 70 normal", seq(60, 37, 101, 10, 0), seq(70, 53, 103, 10, 0.05), 2084, 0.942293737817525, false},
		{"60 vs 70 shifted by 2", shifted(seq(60, 37, 101, 10, 0), 2), seq(70, 53, 103, 10, 0.05), 2830, 0.000657122960664976, false},
		// Per-second error ratios are mostly 0: heavy ties.
		// e <- c(rep(0,40), (1:20 %% 7)/100); f <- c(rep(0,30), (1:30 %% 5)/50);
		// wilcox.test(f, e).
		{"mostly zeros", append(make([]float64, 30), seq(30, 1, 5, 50, 0)...), append(make([]float64, 40), seq(20, 1, 7, 100, 0)...), 2061, 0.108076349181947, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := MannWhitneyU(tc.x, tc.y)
			if err != nil {
				t.Fatal(err)
			}
			if mw.U != tc.u || !near(mw.P, tc.p, 1e-9) || mw.Exact != tc.exact {
				t.Fatalf("U %g p %.15g exact %v, want R's W %g p %.15g exact %v", mw.U, mw.P, mw.Exact, tc.u, tc.p, tc.exact)
			}
		})
	}
}

// wilcox.test(exact = FALSE, correct = TRUE) on the Hollander-Wolfe data:
// p-value = 0.2446, the normal approximation of a sample the exact test
// would take; the test itself only forces it past ExactBelow, so this
// checks the approximation's formula on small samples through uSigma.
func TestNormalApproximationAgainstR(t *testing.T) {
	mw, _ := MannWhitneyU(hwX, hwY)
	sigma := uSigma(10, 5, 0)
	z := (mw.U - 25 - 0.5) / sigma
	if p := 2 * (1 - normalCDF(z)); !near(p, 0.244623605126983, 1e-9) {
		t.Fatalf("p %.15g, want R's 0.244623605126983", p)
	}
	// correct = FALSE: 0.220671361919847.
	if p := 2 * (1 - normalCDF((mw.U-25)/sigma)); !near(p, 0.220671361919847, 1e-9) {
		t.Fatalf("p %.15g, want R's 0.220671361919847", p)
	}
}

func normalCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

func shifted(v []float64, by float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x + by
	}
	return out
}

// pwilcox(q, 4, 5) for q = 0..10 and qwilcox.
func TestExactDistributionAgainstR(t *testing.T) {
	want := []float64{0.00793650793650794, 0.0158730158730159, 0.0317460317460317, 0.0555555555555556,
		0.0952380952380952, 0.142857142857143, 0.206349206349206, 0.277777777777778, 0.365079365079365,
		0.452380952380952, 0.547619047619048}
	d := uDistribution(4, 5)
	for q, w := range want {
		if got := cdf(d, q); !near(got, w, 1e-12) {
			t.Errorf("P(U ≤ %d; 4, 5) = %.15g, want R's pwilcox %.15g", q, got, w)
		}
	}
	if q := quantile(uDistribution(10, 5), 0.025); q != 9 {
		t.Errorf("qwilcox(0.025, 10, 5) = %d, want 9", q)
	}
	d49 := uDistribution(49, 49)
	if q := quantile(d49, 0.025); q != 925 {
		t.Errorf("qwilcox(0.025, 49, 49) = %d, want 925", q)
	}
	if p := cdf(d49, 900); !near(p, 0.0163088635258742, 1e-10) {
		t.Errorf("pwilcox(900, 49, 49) = %.15g, want 0.0163088635258742", p)
	}
	var sum float64
	for _, p := range d49 {
		sum += p
	}
	if !near(sum, 1, 1e-12) {
		t.Errorf("the distribution sums to %.17g", sum)
	}
}

func TestHodgesLehmannAgainstR(t *testing.T) {
	for _, tc := range []struct {
		name                string
		x, y                []float64
		est, low, high, tol float64
		exact               bool
	}{
		// difference in location 0.305, 95 percent CI -0.15 0.76 (exact:
		// order statistics of the differences, to the last bit).
		{"Hollander-Wolfe", hwX, hwY, 0.305, -0.15, 0.76, 1e-12, true},
		// est -0.3, CI -1.55 1.2.
		{"20 vs 25 exact", seq(20, 7, 29, 4, 0), seq(25, 11, 31, 4, 0.3), -0.3, -1.55, 1.2, 1e-12, true},
		// Normal approximation: R finds the interval's ends by uniroot
		// (tol 1e-4) on the step function whose steps are the differences,
		// so it lands within about 1e-4 of the order statistic; its
		// estimate, the root at z = 0, likewise lands anywhere in the flat
		// middle step (median(outer(x, y, "-")) is the estimate here).
		// est -31.99996 (median -32), CI -52.99999 -14.99998.
		{"ozone", ozone5, ozone8, -32, -52.9999854162704, -14.9999789830252, 2e-4, false},
		// est -0.04998 (median -0.05), CI -1.14996 1.04998.
		{"60 vs 70", seq(60, 37, 101, 10, 0), seq(70, 53, 103, 10, 0.05), -0.05, -1.1499569369483, 1.04997660779643, 2e-4, false},
		// est 1.95002 (median 1.95), CI 0.85004 3.04998.
		{"60 vs 70 shifted by 2", shifted(seq(60, 37, 101, 10, 0), 2), seq(70, 53, 103, 10, 0.05), 1.95, 0.8500430630517, 3.04997660779643, 2e-4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := HodgesLehmann(tc.x, tc.y, 0.95)
			if err != nil {
				t.Fatal(err)
			}
			if !near(s.Estimate, tc.est, tc.tol) || !near(s.Low, tc.low, tc.tol) || !near(s.High, tc.high, tc.tol) || s.Exact != tc.exact {
				t.Fatalf("estimate %.15g CI %.15g..%.15g exact %v, want R's %g %g..%g exact %v",
					s.Estimate, s.Low, s.High, s.Exact, tc.est, tc.low, tc.high, tc.exact)
			}
		})
	}
}

// kthDiff finds every order statistic of the differences, as sorting all of
// them does.
func TestKthDiffMatchesSorting(t *testing.T) {
	xs := []float64{-3, -1, -1, 0, 2.5, 7, 1e-300}
	ys := []float64{-2, -0.0, 0, 1, 1, 4}
	sortF(xs)
	sortF(ys)
	var all []float64
	for _, x := range xs {
		for _, y := range ys {
			all = append(all, x-y)
		}
	}
	sortF(all)
	for k := 1; k <= len(all); k++ {
		if got := kthDiff(xs, ys, k); got != all[k-1] {
			t.Errorf("k=%d: %g, want %g", k, got, all[k-1])
		}
	}
}

func sortF(v []float64) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// Newcombe (1998), Table II, method 10 (hybrid score, no continuity
// correction), to the four decimals printed there; the full figures are
// R's, from prop.test(x, n, correct = FALSE)$conf.int combined by the
// method's formula.
func TestNewcombeAgainstPublishedTable(t *testing.T) {
	for _, tc := range []struct {
		x1, n1, x2, n2 int
		low, high      float64
	}{
		{56, 70, 48, 80, 0.0524314724023649, 0.333872654036906}, // 0.0524, 0.3339
		{9, 10, 3, 10, 0.170522723934503, 0.809017973535488},    // 0.1705, 0.8090
		{6, 7, 2, 7, 0.0582279274823123, 0.806249637524228},     // 0.0582, 0.8062
		{5, 56, 0, 29, -0.0381371479035369, 0.192560013855112},  // -0.0381, 0.1926
		{0, 10, 0, 20, -0.161125158052819, 0.277532799862889},   // -0.1611, 0.2775
		{0, 10, 0, 10, -0.277532799862889, 0.277532799862889},   // -0.2775, 0.2775
		{10, 10, 0, 20, 0.679086037141915, 1},                   // 0.6791, 1.0000
		{10, 10, 0, 10, 0.607509350430524, 1},                   // 0.6075, 1.0000
	} {
		d, iv := NewcombeDiff(tc.x1, tc.n1, tc.x2, tc.n2, 0.95)
		if want := float64(tc.x1)/float64(tc.n1) - float64(tc.x2)/float64(tc.n2); !near(d, want, 1e-15) {
			t.Errorf("%d/%d − %d/%d: difference %g, want %g", tc.x1, tc.n1, tc.x2, tc.n2, d, want)
		}
		if !near(iv.Low, tc.low, 1e-9) || !near(iv.High, tc.high, 1e-9) {
			t.Errorf("%d/%d − %d/%d: %.6f..%.6f, want %.6f..%.6f", tc.x1, tc.n1, tc.x2, tc.n2, iv.Low, iv.High, tc.low, tc.high)
		}
	}
}

// prop.test(56, 70, correct = FALSE) and prop.test(48, 80, correct = FALSE).
func TestWilsonAgainstR(t *testing.T) {
	for _, tc := range []struct {
		x, n      int
		low, high float64
	}{
		{56, 70, 0.691833555037469, 0.87695260751637},
		{48, 80, 0.490454650051604, 0.700381724041291},
	} {
		if iv := Wilson(tc.x, tc.n, 0.95); !near(iv.Low, tc.low, 1e-9) || !near(iv.High, tc.high, 1e-9) {
			t.Errorf("%d/%d: %v, want %g..%g", tc.x, tc.n, iv, tc.low, tc.high)
		}
	}
	if iv := Wilson(0, 0, 0.95); iv != (Interval{0, 1}) {
		t.Errorf("no trials: %v", iv)
	}
}

func TestRefusesBadInput(t *testing.T) {
	if _, err := MannWhitneyU(nil, []float64{1}); err != ErrNoData {
		t.Errorf("empty x: %v", err)
	}
	if _, err := HodgesLehmann([]float64{1}, []float64{math.NaN()}, 0.95); err == nil {
		t.Error("NaN accepted")
	}
	if _, err := HodgesLehmann([]float64{1}, []float64{2}, 1); err == nil {
		t.Error("confidence 1 accepted")
	}
	// All values equal: no evidence, p = 1, shift 0.
	mw, _ := MannWhitneyU([]float64{5, 5, 5, 5, 5, 5}, []float64{5, 5, 5, 5, 5, 5})
	s, _ := HodgesLehmann([]float64{5, 5, 5}, []float64{5, 5, 5}, 0.95)
	if mw.P != 1 || s.Estimate != 0 || s.Low != 0 || s.High != 0 {
		t.Errorf("equal samples: p %g, shift %+v", mw.P, s)
	}
}

// A day of seconds per run (86 400 values each): the order statistics of
// 7.5e9 differences without building them.
func BenchmarkHodgesLehmannDay(b *testing.B) {
	x, y := seq(86400, 7919, 104729, 1000, 0), seq(86400, 7907, 104723, 1000, 0.0005)
	b.ResetTimer()
	for b.Loop() {
		if _, err := HodgesLehmann(x, y, 0.95); err != nil {
			b.Fatal(err)
		}
	}
}
