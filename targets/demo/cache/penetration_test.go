package cache

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/internal/demotest"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
)

// The filter answers absent only when it is trusted: seeded from the store and
// its owner the only writer. Otherwise a key it never saw is unverified (the
// caller asks the store); a key added is maybe either way.
func TestKeyFilterTrustRule(t *testing.T) {
	tests := []struct {
		soleWriter, seeded bool
		wantUnseen         FilterAnswer
	}{
		{false, false, FilterUnverified},
		{false, true, FilterUnverified},
		{true, false, FilterUnverified},
		{true, true, FilterAbsent},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("soleWriter=%v,seeded=%v", tt.soleWriter, tt.seeded), func(t *testing.T) {
			m := metrics.New("g1")
			f := NewKeyFilter(100, 0.01, tt.soleWriter, m)
			f.Add("written")
			if tt.seeded {
				f.Seed([]string{"listed"})
			}
			if got := f.Check("never-seen"); got != tt.wantUnseen {
				t.Fatalf("Check(never-seen) = %s, want %s", got, tt.wantUnseen)
			}
			if got := f.Check("written"); got != FilterMaybe {
				t.Fatalf("Check(written) = %s, want maybe", got)
			}
			if tt.seeded {
				if got := f.Check("listed"); got != FilterMaybe {
					t.Fatalf("Check(listed) = %s, want maybe", got)
				}
			}
			f.Learn("found-by-a-read")
			if got := f.Check("found-by-a-read"); got != FilterMaybe {
				t.Fatalf("Check of a learnt key = %s, want maybe", got)
			}
			if got, want := demotest.Value(t, m.BloomTrusted), map[bool]float64{false: 0, true: 1}[tt.soleWriter && tt.seeded]; got != want {
				t.Fatalf("chaosdemo_bloom_trusted = %v, want %v", got, want)
			}
		})
	}
}

// No key added is ever absent (no false negatives), and the measured false
// positive rate of keys never added stays near the rate the filter was sized
// for, and grows when it holds more keys than it was sized for.
func TestKeyFilterFalsePositiveRate(t *testing.T) {
	for _, tt := range []struct {
		capacity, added int
		fp, maxRate     float64
	}{
		{capacity: 2000, added: 2000, fp: 0.01, maxRate: 0.02},
		{capacity: 2000, added: 2000, fp: 0.001, maxRate: 0.003},
		{capacity: 2000, added: 8000, fp: 0.01, maxRate: 1},
	} {
		t.Run(fmt.Sprintf("fp=%v,added=%d/%d", tt.fp, tt.added, tt.capacity), func(t *testing.T) {
			f := NewKeyFilter(tt.capacity, tt.fp, true, nil)
			for i := range tt.added {
				f.Add(fmt.Sprintf("key-%d", i))
			}
			f.Seed(nil)
			for i := range tt.added {
				if got := f.Check(fmt.Sprintf("key-%d", i)); got != FilterMaybe {
					t.Fatalf("key-%d was added but the filter says %s", i, got)
				}
			}
			const probes = 50000
			fps := 0
			for i := range probes {
				if f.Check(fmt.Sprintf("missing-%d", i)) == FilterMaybe {
					fps++
				}
			}
			rate := float64(fps) / probes
			est := f.EstimatedFalsePositiveRate(tt.added)
			t.Logf("measured %.4f, estimated %.4f", rate, est)
			if rate > tt.maxRate || rate > 2*est+0.001 || rate < est/3 {
				t.Fatalf("measured false positive rate %.4f; estimate %.4f, bound %.4f", rate, est, tt.maxRate)
			}
			if tt.added > tt.capacity && rate < 5*tt.fp {
				t.Fatalf("a filter holding %d keys for %d measured %.4f; overfilling should raise it well above %v", tt.added, tt.capacity, rate, tt.fp)
			}
		})
	}
}

func TestConfigPenetration(t *testing.T) {
	tests := []struct {
		cfg     Config
		want    Penetration
		wantErr string
	}{
		{cfg: Config{}, want: PenetrationNone},
		{cfg: Config{NegativeTTL: time.Second}, want: PenetrationNegative},
		{cfg: Config{Penetration: "BLOOM"}, want: PenetrationBloom},
		{cfg: Config{Penetration: "cuckoo"}, wantErr: `cache penetration "cuckoo" is unknown (valid: bloom, negative, none)`},
		{cfg: Config{Penetration: PenetrationNegative}, wantErr: "penetration negative needs negativeTTL above 0"},
		{cfg: Config{Penetration: PenetrationBloom, NegativeTTL: time.Second}, wantErr: "not-found answers are cached only with penetration negative"},
		{cfg: Config{Penetration: PenetrationBloom, BloomFalsePositive: 1}, wantErr: "bloomFalsePositive 1 is outside (0, 1)"},
		{cfg: Config{Penetration: PenetrationBloom, BloomCapacity: -1}, wantErr: "bloomCapacity -1 is negative"},
	}
	for _, tt := range tests {
		got, err := tt.cfg.Validate()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate(%+v) error = %v, want %q", tt.cfg, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.Penetration != tt.want {
			t.Errorf("Validate(%+v) = %s, %v; want %s", tt.cfg, got.Penetration, err, tt.want)
		}
		if got.Penetration == PenetrationBloom && (got.BloomFalsePositive != DefaultBloomFalsePositive || got.BloomCapacity != DefaultBloomCapacity) {
			t.Errorf("bloom defaults not filled: %+v", got)
		}
	}
}
