package workload

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func sequentialConfig(t *testing.T, keys int, dist Distribution) Config {
	t.Helper()
	cfg := Config{Rate: 100, Duration: time.Second, Keys: keys, Distribution: dist, ReadRatio: 0.5, KeyPattern: KeyPatternSequential}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return cfg
}

// Every put writes the next key, in byte order, and wraps after keys puts;
// reads and deletes take one of the RecentKeys newest written keys.
func TestSequentialPattern(t *testing.T) {
	for _, dist := range []Distribution{DistributionUniform, DistributionZipf} {
		t.Run(string(dist), func(t *testing.T) {
			const keys = 500
			cfg := sequentialConfig(t, keys, dist)
			g := NewOpGenerator(cfg, rand.New(rand.NewPCG(7, 8)))
			var written []string
			for range 3000 {
				op := g.Next()
				if op.Kind == OpPut {
					if n := len(written); n%keys != 0 && op.Key <= written[n-1] {
						t.Fatalf("put %d wrote %q, not above the previous %q", n, op.Key, written[n-1])
					}
					if want := written; len(want) >= keys && op.Key != want[len(want)-keys] {
						t.Fatalf("put %d wrote %q; after %d puts the sequence starts again (%q)", len(want), op.Key, keys, want[len(want)-keys])
					}
					written = append(written, op.Key)
					continue
				}
				if len(written) == 0 {
					if op.Key != "k000" {
						t.Fatalf("a read before any put reads %q, want k000", op.Key)
					}
					continue
				}
				recent := written[max(0, len(written)-RecentKeys):]
				if !slices.Contains(recent, op.Key) {
					t.Fatalf("%v of %q is not among the %d newest keys %v", op.Kind, op.Key, len(recent), recent[max(0, len(recent)-5):])
				}
			}
			if len(written) < keys {
				t.Fatalf("only %d puts; the test wants the sequence to wrap", len(written))
			}
		})
	}
}

func TestSequentialPatternIsSeeded(t *testing.T) {
	cfg := sequentialConfig(t, 1000, DistributionUniform)
	draw := func(seed uint64) []string {
		g := NewOpGenerator(cfg, rand.New(rand.NewPCG(seed, 1)))
		ops := make([]string, 500)
		for i := range ops {
			op := g.Next()
			ops[i] = op.Kind.String() + " " + op.Key
		}
		return ops
	}
	if a, b := draw(1), draw(1); !slices.Equal(a, b) {
		t.Fatal("the same seed drew different operations")
	}
	if a, b := draw(1), draw(2); slices.Equal(a, b) {
		t.Fatal("different seeds drew the same operations")
	}
	// The kinds are those of the random pattern with the same seed.
	random := cfg
	random.KeyPattern = KeyPatternRandom
	g := NewOpGenerator(random, rand.New(rand.NewPCG(1, 1)))
	for i, op := range draw(1) {
		if r := g.Next(); !strings.HasPrefix(op, r.Kind.String()+" ") {
			t.Fatalf("op %d: %s, the random pattern draws a %v", i, op, r.Kind)
		}
	}
}

func TestKeyPatternValidation(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Rate: 1, Duration: time.Second, KeyPattern: "monotonic"}, `keyPattern must be random or sequential, got "monotonic"`},
		{Config{Rate: 1, Duration: time.Second, KeyPattern: KeyPatternSequential, Kind: KindCounter}, "keyPattern sequential needs kind kv"},
	} {
		if err := tt.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}
