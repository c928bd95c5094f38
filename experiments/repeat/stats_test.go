package repeat

import (
	"math"
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// The reference values were computed independently (Python's
// statistics.NormalDist for z, the score formula by hand) and the four
// larger cases are Newcombe's (Statistics in Medicine 17, 1998, Table I,
// method 3).
func TestWilsonMatchesReferenceValues(t *testing.T) {
	for _, tc := range []struct {
		passed, runs int
		low, high    float64
	}{
		{9, 10, 0.5958, 0.9821},
		{0, 10, 0, 0.2775},
		{10, 10, 0.7225, 1},
		{5, 10, 0.2366, 0.7634},
		{1, 2, 0.0945, 0.9055},
		{19, 20, 0.7639, 0.9911},
		{0, 1, 0, 0.7935},
		{1, 1, 0.2065, 1},
		{99, 100, 0.9455, 0.9982},
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0, 0.1611},
		{1, 29, 0.0061, 0.1718},
		{0, 0, 0, 1}, // no runs: nothing is known
	} {
		got := Wilson(tc.passed, tc.runs, 0.95)
		if math.Abs(got.Low-tc.low) > 5e-5 || math.Abs(got.High-tc.high) > 5e-5 {
			t.Errorf("Wilson(%d/%d) = %.4f–%.4f, want %.4f–%.4f", tc.passed, tc.runs, got.Low, got.High, tc.low, tc.high)
		}
		if got.Low < 0 || got.High > 1 || got.Low > got.High {
			t.Errorf("Wilson(%d/%d) = %v outside [0, 1]", tc.passed, tc.runs, got)
		}
	}
	if z := math.Sqrt2 * math.Erfinv(0.95); math.Abs(z-1.959963984540054) > 1e-12 {
		t.Errorf("z(95 %%) = %v", z)
	}
}

func TestSpreadOf(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []float64
		want   report.Spread
	}{
		{"none", nil, report.Spread{}},
		{"one", []float64{0.3}, report.Spread{Median: 0.3, Min: 0.3, Max: 0.3}},
		{"odd", []float64{0.9, 0.1, 0.5}, report.Spread{Median: 0.5, Min: 0.1, Max: 0.9}},
		{"even: the mean of the middle two", []float64{4, 1, 3, 2}, report.Spread{Median: 2.5, Min: 1, Max: 4}},
		{"zero budgets do not overflow", []float64{math.MaxFloat64, math.MaxFloat64}, report.Spread{Median: math.MaxFloat64, Min: math.MaxFloat64, Max: math.MaxFloat64}},
	} {
		in := append([]float64(nil), tc.values...)
		if got := SpreadOf(tc.values); got != tc.want {
			t.Errorf("%s: SpreadOf(%v) = %+v, want %+v", tc.name, tc.values, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.values[i] {
				t.Errorf("%s: SpreadOf changed its input", tc.name)
			}
		}
	}
}

func TestFlaky(t *testing.T) {
	for _, tc := range []struct {
		verdicts []string
		want     bool
	}{
		{nil, false},
		{[]string{report.Pass}, false},
		{[]string{report.Pass, report.Pass, report.Pass}, false},
		{[]string{report.Fail, report.Fail}, false},
		{[]string{report.Pass, report.Fail, report.Pass}, true},
		{[]string{report.Pass, report.Inconclusive}, true},
	} {
		if got := Flaky(tc.verdicts); got != tc.want {
			t.Errorf("Flaky(%v) = %v, want %v", tc.verdicts, got, tc.want)
		}
	}
}

func TestParsePassRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  string
	}{
		{"1", 1, ""},
		{"1.0", 1, ""},
		{"0.95", 0.95, ""},
		{"95%", 0.95, ""},
		{"99.5 %", 0.995, ""},
		{"100%", 1, ""},
		{"0", 0, "above 0 up to 1"},
		{"0%", 0, "above 0 up to 1"},
		{"-0.5", 0, "above 0 up to 1"},
		{"101%", 0, "above 0 up to 1"},
		{"95", 0, "write 95% for a percentage"},
		{"1.5", 0, "write 1.5% for a percentage"},
		{"abc", 0, "want a fraction"},
		{"NaN", 0, "want a fraction"},
		{"", 0, "want a fraction"},
	} {
		got, err := ParsePassRate(tc.in)
		switch {
		case tc.err == "" && (err != nil || math.Abs(got-tc.want) > 1e-12):
			t.Errorf("ParsePassRate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParsePassRate(%q) = %v, %v; want an error saying %q", tc.in, got, err, tc.err)
		}
	}
}

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name     string
		c        Counts
		required float64
		verdict  string
		rule     string
	}{
		{"every run passed", Counts{10, 10, 0, 0}, 1, report.Pass,
			"pass rate 10/10 = 100 % (95 % CI 72–100 %) meets the required 100 %"},
		{"one failure against 100 %", Counts{10, 9, 1, 0}, 1, report.Fail,
			"pass rate 9/10 = 90 % (95 % CI 60–98 %) below the required 100 %"},
		{"one failure against 90 %", Counts{10, 9, 1, 0}, 0.9, report.Pass,
			"pass rate 9/10 = 90 % (95 % CI 60–98 %) meets the required 90 %"},
		{"95 % of 20", Counts{20, 19, 1, 0}, 0.95, report.Pass, "pass rate 19/20 = 95 %"},
		{"all failed", Counts{10, 0, 10, 0}, 0.5, report.Fail,
			"pass rate 0/10 = 0 % (95 % CI 0–28 %) below the required 50 %"},
		{"an inconclusive run cannot rescue a failure", Counts{10, 8, 1, 1}, 1, report.Fail,
			"pass rate 8/10 = 80 % (95 % CI 49–94 %) below the required 100 %, even if the 1 inconclusive run had passed"},
		{"an inconclusive run could decide it", Counts{10, 8, 1, 1}, 0.9, report.Inconclusive,
			"pass rate 8/10 = 80 % (95 % CI 49–94 %): the required 90 % needs 9 passes, and the 1 inconclusive run could decide it either way"},
		{"inconclusive, no failure, against 100 %", Counts{3, 2, 0, 1}, 1, report.Inconclusive, "could decide it either way"},
		{"passes enough whatever the inconclusive run", Counts{10, 9, 0, 1}, 0.9, report.Pass,
			"9 passes meet the required 90 % whatever the 1 inconclusive run"},
		{"interrupted after a failure against 100 %", Counts{10, 2, 1, 0}, 1, report.Fail,
			"pass rate 2/3 = 67 % (95 % CI 21–94 %) below the required 100 % of 10 runs, even if the 7 runs not made or interrupted had passed"},
		{"interrupted, undecided", Counts{10, 3, 0, 0}, 1, report.Inconclusive,
			"the required 100 % of 10 runs needs 10 passes, and the 7 runs not made or interrupted could decide it either way"},
		{"interrupted before any run", Counts{5, 0, 0, 0}, 1, report.Inconclusive, "no run was judged"},
		{"a fractional requirement", Counts{3, 2, 1, 0}, 0.6, report.Pass, "meets the required 60 %"},
	} {
		d := Decide(tc.c, tc.required)
		if d.Verdict != tc.verdict || !strings.Contains(d.Rule, tc.rule) {
			t.Errorf("%s: Decide(%+v, %v) = %s: %q; want %s: %q", tc.name, tc.c, tc.required, d.Verdict, d.Rule, tc.verdict, tc.rule)
		}
	}
}
