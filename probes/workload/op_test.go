package workload

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func generate(t *testing.T, cfg Config, seed uint64, n int) []Op {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	g := NewOpGenerator(cfg, rand.New(rand.NewPCG(seed, 0)))
	ops := make([]Op, n)
	for i := range ops {
		ops[i] = g.Next()
	}
	return ops
}

func TestOpGeneratorIsDeterministic(t *testing.T) {
	t.Parallel()
	for _, dist := range []Distribution{DistributionUniform, DistributionZipf} {
		t.Run(string(dist), func(t *testing.T) {
			cfg := Config{Rate: 1, Duration: 1, ReadRatio: 0.6, DeleteRatio: 0.1, Distribution: dist}
			a, b, c := generate(t, cfg, 42, 1000), generate(t, cfg, 42, 1000), generate(t, cfg, 43, 1000)
			eq := func(x, y Op) bool { return x.ID == y.ID && x.Kind == y.Kind && x.Key == y.Key }
			if !slices.EqualFunc(a, b, eq) {
				t.Error("same seed, different sequences")
			}
			if slices.EqualFunc(a, c, eq) {
				t.Error("different seeds, same sequence")
			}
			for i, op := range a {
				if op.ID != uint64(i) {
					t.Fatalf("op %d has ID %d", i, op.ID)
				}
			}
		})
	}
}

func TestOpGeneratorMix(t *testing.T) {
	t.Parallel()
	const n = 100000
	tests := []struct {
		name                      string
		cfg                       Config
		wantGet, wantPut, wantDel float64
		wantHottest               float64 // share of the most drawn key
	}{
		{"uniform 90% reads", Config{ReadRatio: 0.9, Keys: 100}, 0.9, 0.1, 0, 0.01},
		{"writes only", Config{ReadRatio: 0, Keys: 100}, 0, 1, 0, 0.01},
		{"reads only", Config{ReadRatio: 1, Keys: 100}, 1, 0, 0, 0.01},
		{"deletes", Config{ReadRatio: 0.5, DeleteRatio: 0.2, Keys: 100}, 0.5, 0.3, 0.2, 0.01},
		// P(k0) = 1 / sum_{k<1000} (1+k)^-1.1 ≈ 0.179.
		{"zipf defaults", Config{ReadRatio: 0.5, Keys: 1000, Distribution: DistributionZipf}, 0.5, 0.5, 0, 0.179},
		{"one key zipf", Config{ReadRatio: 0.5, Keys: 1, Distribution: DistributionZipf}, 0.5, 0.5, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.cfg.Rate, tc.cfg.Duration = 1, 1
			kinds := map[OpKind]float64{}
			keys := map[string]float64{}
			for _, op := range generate(t, tc.cfg, 1, n) {
				kinds[op.Kind]++
				keys[op.Key]++
				if !strings.HasPrefix(op.Key, "k") || op.Value != nil || op.Client != 0 {
					t.Fatalf("op %+v: want key kN, no value, no client", op)
				}
			}
			for kind, want := range map[OpKind]float64{OpGet: tc.wantGet, OpPut: tc.wantPut, OpDelete: tc.wantDel} {
				if got := kinds[kind] / n; math.Abs(got-want) > 0.01 {
					t.Errorf("%s share %.3f, want %.3f", kind, got, want)
				}
			}
			if len(keys) > tc.cfg.Keys {
				t.Errorf("%d distinct keys, want at most %d", len(keys), tc.cfg.Keys)
			}
			hottest := 0.0
			for _, c := range keys {
				hottest = max(hottest, c/n)
			}
			if math.Abs(hottest-tc.wantHottest) > 0.01+tc.wantHottest*0.1 {
				t.Errorf("hottest key share %.4f, want about %.4f", hottest, tc.wantHottest)
			}
			if tc.cfg.Distribution == DistributionZipf && keys["k0"]/n != hottest {
				t.Errorf("k0 share %.4f is not the hottest %.4f", keys["k0"]/n, hottest)
			}
		})
	}
}

func TestMakeValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		client int
		id     uint64
		size   int
		want   string
	}{
		{3, 17, 12, "v-3-17-xxxxx"},
		{3, 17, 7, "v-3-17-"},
		{3, 17, 1, "v-3-17-"}, // the unique prefix wins over the size
		{0, 0, 4, "v-0-0-"},
	}
	for _, tc := range tests {
		if got := string(MakeValue(tc.client, tc.id, tc.size)); got != tc.want {
			t.Errorf("MakeValue(%d, %d, %d) = %q, want %q", tc.client, tc.id, tc.size, got, tc.want)
		}
	}
}

func TestOpKindAndOutcomeText(t *testing.T) {
	t.Parallel()
	for _, k := range []OpKind{OpGet, OpPut, OpDelete, OpCAS} {
		b, err := json.Marshal(k)
		if err != nil {
			t.Fatalf("marshal %s: %v", k, err)
		}
		var back OpKind
		if err := json.Unmarshal(b, &back); err != nil || back != k {
			t.Errorf("round trip of %s: %v, %v", k, back, err)
		}
	}
	for _, o := range []Outcome{OutcomeOK, OutcomeFail, OutcomeUnknown} {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatalf("marshal %s: %v", o, err)
		}
		var back Outcome
		if err := json.Unmarshal(b, &back); err != nil || back != o {
			t.Errorf("round trip of %s: %v, %v", o, back, err)
		}
	}
	if _, err := json.Marshal(OpKind(0)); err == nil {
		t.Error("marshal of kind 0: no error")
	}
	var k OpKind
	if err := json.Unmarshal([]byte(`"read"`), &k); err == nil {
		t.Error(`unmarshal of "read": no error`)
	}
	if OpPut.IsWrite() != true || OpGet.IsWrite() != false {
		t.Error("IsWrite")
	}
	names := map[ErrorClass]string{ClassNone: "none", ClassServerError: "5xx", ClassRateLimited: "429",
		ClassTimeout: "timeout", ClassTransport: "transport", ClassUnexpected: "unexpected"}
	for c, want := range names {
		if c.String() != want {
			t.Errorf("class %d: %q, want %q", c, c.String(), want)
		}
	}
}

// MissRatio sends that share of gets to keys no operation writes, and leaves
// the sequence of a config without it as it was: same kinds, same keys.
func TestOpGeneratorMissRatio(t *testing.T) {
	t.Parallel()
	const n = 50000
	base := Config{Rate: 1, Duration: 1, ReadRatio: 0.8, DeleteRatio: 0.05, Keys: 100}
	withMisses := base
	withMisses.MissRatio = 0.5
	plain, missing := generate(t, base, 7, n), generate(t, withMisses, 7, n)
	gets, misses := 0.0, 0.0
	for i, op := range missing {
		if op.Kind != plain[i].Kind {
			t.Fatalf("op %d: kind %s with missRatio, %s without: the kind sequence moved", i, op.Kind, plain[i].Kind)
		}
		isMissing := strings.HasPrefix(op.Key, "missing-")
		switch {
		case isMissing && op.Kind != OpGet:
			t.Fatalf("op %d: a %s of the missing key %s; only gets may ask for missing keys", i, op.Kind, op.Key)
		case isMissing && op.Key != "missing-"+plain[i].Key:
			t.Fatalf("op %d: missing key %q, want missing-%s (the key drawn without missRatio)", i, op.Key, plain[i].Key)
		case !isMissing && op.Key != plain[i].Key:
			t.Fatalf("op %d: key %s with missRatio, %s without", i, op.Key, plain[i].Key)
		}
		if op.Kind == OpGet {
			gets++
			if isMissing {
				misses++
			}
		}
	}
	if share := misses / gets; math.Abs(share-0.5) > 0.02 {
		t.Fatalf("%.3f of gets asked for missing keys, want about 0.5", share)
	}
	bad := base
	bad.MissRatio = 1.5
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "missRatio") {
		t.Fatalf("Validate(missRatio 1.5) = %v, want a missRatio error", err)
	}
}
