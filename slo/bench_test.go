package slo

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The benchmarks time the checker against porcupine on the unreduced
// history (what CheckLinearizable did before the reductions) in one run,
// each within the 30 s budget of a run, and report the ratio:
//
//	go test -run '^$' -bench . -benchtime 1x ./slo/
//
// "unreduced" reports timed-out=1 when porcupine gave up (inconclusive); the
// "reduced" sub-benchmark reports x-faster, the unreduced time over its own.
const benchBudget = 30 * time.Second

// hardSim is cpSim with the keys chosen by a zipf law, so that the hot keys
// collect dozens of unknown writes each: the shape that leaves porcupine
// inconclusive.
func hardSim() simConfig {
	cfg := cpSim(2900)
	cfg.zipf = true
	return cfg
}

// benchUnreducedVsReduced times both checks of ops and expects verdict from
// the reduced one (the unreduced one may run out of budget).
func benchUnreducedVsReduced(b *testing.B, ops []Op, want Verdict) {
	var unreduced time.Duration
	b.Run("unreduced", func(b *testing.B) {
		keys := map[string]bool{}
		for _, op := range ops {
			keys[op.Key] = true
		}
		for b.Loop() {
			res := checkHistory(ToPorcupine(ops), len(keys), benchBudget)
			if res.Verdict != want && res.Verdict != Inconclusive {
				b.Fatalf("unreduced: %s, want %s (%s)", res.Verdict, want, res.Detail)
			}
			timedOut := 0.0
			if res.Verdict == Inconclusive {
				timedOut = 1
			}
			b.ReportMetric(timedOut, "timed-out")
		}
		unreduced = b.Elapsed() / time.Duration(b.N)
	})
	b.Run("reduced", func(b *testing.B) {
		for b.Loop() {
			res := CheckLinearizable(ops, benchBudget)
			if res.Verdict != want {
				b.Fatalf("reduced: %s, want %s (%s)", res.Verdict, want, res.Detail)
			}
		}
		if reduced := b.Elapsed() / time.Duration(b.N); unreduced > 0 && reduced > 0 {
			b.ReportMetric(float64(unreduced)/float64(reduced), "x-faster")
		}
	})
}

// BenchmarkCheckLinearizableHard checks CP-shaped histories (30 keys,
// 2,900 operations, about 20 % unknown, unknown writes landing late or
// never): a correct one, and the same with one late read answered from the
// past.
func BenchmarkCheckLinearizableHard(b *testing.B) {
	run := simulate(rand.New(rand.NewPCG(0, 7)), hardSim())
	unknown := 0
	for _, op := range run.ops {
		if op.Outcome == OutcomeUnknown {
			unknown++
		}
	}
	b.Logf("%d operations on 30 keys, %d (%.0f %%) unknown", len(run.ops), unknown, 100*float64(unknown)/float64(len(run.ops)))
	b.Run("correct", func(b *testing.B) { benchUnreducedVsReduced(b, run.ops, Pass) })
	stale := append([]Op(nil), run.ops...)
	if corruptRead(stale) < 0 {
		b.Fatal("no read to corrupt")
	}
	b.Run("stale-read", func(b *testing.B) { benchUnreducedVsReduced(b, stale, Fail) })
}

// BenchmarkCheckLinearizable100k checks 100,000-operation histories over
// 1,000 keys from 32 concurrent clients in one call (the aim is ≤ 5 s): the
// reference-model shape (2 % unknown) and the CP shape (about 20 %).
func BenchmarkCheckLinearizable100k(b *testing.B) {
	basic := simulatedHistory(rand.New(rand.NewPCG(42, 1)), 100_000, 1000, 32)
	b.Run("basic", func(b *testing.B) { benchUnreducedVsReduced(b, basic, Pass) })
	cfg := cpSim(100_000)
	cfg.keys, cfg.clients = 1000, 32
	cp := simulate(rand.New(rand.NewPCG(42, 2)), cfg).ops
	b.Run("cp", func(b *testing.B) { benchUnreducedVsReduced(b, cp, Pass) })
}

// BenchmarkCheckLinearizableJepsenEtcd checks the 102 non-empty Jepsen etcd
// histories that ship with porcupine, one after the other.
func BenchmarkCheckLinearizableJepsenEtcd(b *testing.B) {
	dir := porcupineJepsenDir(b)
	var histories [][]Op
	for n := 0; n <= 102; n++ {
		f, err := os.Open(filepath.Join(dir, fmt.Sprintf("etcd_%03d.log", n)))
		if err != nil {
			b.Fatal(err)
		}
		ops, _, err := ReadHistoryFile(f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if len(ops) > 0 {
			histories = append(histories, ops)
		}
	}
	var unreduced time.Duration
	b.Run("unreduced", func(b *testing.B) {
		for b.Loop() {
			for _, ops := range histories {
				if res := checkHistory(ToPorcupine(ops), 1, benchBudget); res.Verdict == Inconclusive {
					b.Fatalf("unreduced: %s", res.Detail)
				}
			}
		}
		unreduced = b.Elapsed() / time.Duration(b.N)
	})
	b.Run("reduced", func(b *testing.B) {
		var red Reduced
		for b.Loop() {
			red = Reduced{}
			for _, ops := range histories {
				res := CheckLinearizable(ops, benchBudget)
				if res.Verdict == Inconclusive {
					b.Fatalf("reduced: %s", res.Detail)
				}
				red.Unobserved += res.Reduced.Unobserved
				red.Closed += res.Reduced.Closed
			}
		}
		b.ReportMetric(float64(red.Unobserved), "left-out")
		b.ReportMetric(float64(red.Closed), "closed")
		if reduced := b.Elapsed() / time.Duration(b.N); unreduced > 0 && reduced > 0 {
			b.ReportMetric(float64(unreduced)/float64(reduced), "x-faster")
		}
	})
}
