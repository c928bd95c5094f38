package workload

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	valid := func(mod func(*Config)) Config {
		c := Config{Rate: 200, Duration: 40 * time.Second, ReadRatio: 0.9}
		mod(&c)
		return c
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" for valid
	}{
		{"defaults", valid(func(*Config) {}), ""},
		{"zero rate", valid(func(c *Config) { c.Rate = 0 }), "rate"},
		{"NaN rate", valid(func(c *Config) { c.Rate = math.NaN() }), "rate"},
		{"huge rate", valid(func(c *Config) { c.Rate = 2e6 }), "rate"},
		{"no duration", valid(func(c *Config) { c.Duration = 0 }), "duration"},
		{"negative warmup", valid(func(c *Config) { c.Warmup = -time.Second }), "warmup"},
		{"negative keys", valid(func(c *Config) { c.Keys = -1 }), "keys"},
		{"bad distribution", valid(func(c *Config) { c.Distribution = "pareto" }), "distribution"},
		{"zipf s 1", valid(func(c *Config) { c.ZipfS = 1 }), "zipf s"},
		{"zipf v 0.5", valid(func(c *Config) { c.ZipfV = 0.5 }), "zipf v"},
		{"read ratio above 1", valid(func(c *Config) { c.ReadRatio = 1.5 }), "readRatio"},
		{"negative read ratio", valid(func(c *Config) { c.ReadRatio = -0.1 }), "readRatio"},
		{"ratios above 1", valid(func(c *Config) { c.DeleteRatio = 0.2 }), "deleteRatio"},
		{"writes only", valid(func(c *Config) { c.ReadRatio = 0 }), ""},
		{"huge value", valid(func(c *Config) { c.ValueSize = MaxValueSize + 1 }), "valueSize"},
		{"negative timeout", valid(func(c *Config) { c.Timeout = -time.Second }), "timeout"},
		{"negative lateness", valid(func(c *Config) { c.MaxLateness = -time.Second }), "maxLateness"},
		{"negative in-flight", valid(func(c *Config) { c.MaxInFlight = -1 }), "maxInFlight"},
		{"zero threshold", valid(func(c *Config) { c.LatencyThresholds = []time.Duration{time.Second, 0} }), "latencyThresholds[1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate: %v, want an error naming %q", err, tc.wantErr)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c := Config{Rate: 200, Duration: time.Second}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := Config{Rate: 200, Duration: time.Second, Keys: DefaultKeys, Distribution: DistributionUniform,
		ZipfS: DefaultZipfS, ZipfV: DefaultZipfV, ValueSize: DefaultValueSize, Timeout: DefaultTimeout,
		MaxInFlight: 800, MaxLateness: DefaultMaxLateness}
	if c.Keys != want.Keys || c.Distribution != want.Distribution || c.ZipfS != want.ZipfS || c.ZipfV != want.ZipfV ||
		c.ValueSize != want.ValueSize || c.Timeout != want.Timeout || c.MaxInFlight != want.MaxInFlight ||
		c.MaxLateness != want.MaxLateness || c.ReadRatio != 0 {
		t.Errorf("defaults %+v, want %+v", c, want)
	}
}

func TestDefaultMaxInFlight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rate    float64
		timeout time.Duration
		want    int
	}{
		{200, time.Second, 800},
		{1, time.Second, MinMaxInFlight},
		{50000, time.Second, MaxMaxInFlight},
		{1000, 250 * time.Millisecond, 1000},
	}
	for _, tc := range tests {
		if got := DefaultMaxInFlight(tc.rate, tc.timeout); got != tc.want {
			t.Errorf("DefaultMaxInFlight(%g, %s) = %d, want %d", tc.rate, tc.timeout, got, tc.want)
		}
	}
}
