package experiments

import (
	"testing"
	"time"
)

func TestParsePercent(t *testing.T) {
	tests := []struct {
		in      string
		want    Percent
		str     string
		wantErr bool
	}{
		{in: "99.5%", want: 0.995, str: "99.5%"},
		{in: "0.995", want: 0.995, str: "99.5%"},
		{in: "1", want: 1, str: "100%"},
		{in: "0", want: 0, str: "0%"},
		{in: "10 %", want: 0.1, str: "10%"},
		{in: "99.99%", want: 0.9999, str: "99.99%"},
		{in: "ninety%", wantErr: true},
		{in: "", wantErr: true},
		{in: "NaN", wantErr: true},
		{in: "Inf%", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePercent(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParsePercent(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePercent(%q): %v", tt.in, err)
			}
			if diff := float64(got - tt.want); diff > 1e-12 || diff < -1e-12 {
				t.Errorf("ParsePercent(%q) = %v, want %v", tt.in, float64(got), float64(tt.want))
			}
			if got.String() != tt.str {
				t.Errorf("String() = %q, want %q", got.String(), tt.str)
			}
		})
	}
}

func TestParseByteRate(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteRate
		str     string
		wantErr bool
	}{
		{in: "64KiB/s", want: 64 * 1024, str: "64KiB/s"},
		{in: "1MB/s", want: 1e6, str: "1MB/s"},
		{in: "1MiB/s", want: 1 << 20, str: "1MiB/s"},
		{in: "512B/s", want: 512, str: "512B/s"},
		{in: "1.5kB/s", want: 1500, str: "1500B/s"},
		{in: "2GiB/s", want: 2 << 30, str: "2GiB/s"},
		{in: "64KiB", wantErr: true}, // a size, not a rate
		{in: "64/s", wantErr: true},  // no byte unit
		{in: "64Kb/s", wantErr: true},
		{in: "fast/s", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseByteRate(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseByteRate(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseByteRate(%q): %v", tt.in, err)
			}
			if got != tt.want || got.String() != tt.str {
				t.Errorf("ParseByteRate(%q) = %v (%s), want %v (%s)", tt.in, float64(got), got, float64(tt.want), tt.str)
			}
		})
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr bool
	}{
		{in: "32", want: 32},
		{in: "32B", want: 32},
		{in: "64KiB", want: 64 << 10},
		{in: "1MB", want: 1e6},
		{in: "0.5KiB", want: 512},
		{in: "0.5B", wantErr: true},
		{in: "big", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseByteSize(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseByteSize(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseByteSize(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "1m30s", want: 90 * time.Second},
		{in: "0", want: 0},
		{in: "-2s", want: -2 * time.Second},
		{in: "10", wantErr: "bad duration 10: add a unit, e.g. 10s or 10ms"},
		{in: "10 s", wantErr: `bad duration "10 s": write a Go duration such as 250ms, 2s or 1m30s`},
		{in: "2d", wantErr: `bad duration "2d"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.wantErr != "" {
				if err == nil || !startsWith(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDuration(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func startsWith(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		in      string
		want    Threshold
		str     string
		wantErr bool
	}{
		{in: "0.01", want: Threshold{Value: 0.01, Unit: ThresholdNumber}, str: "0.01"},
		{in: "1%", want: Threshold{Value: 0.01, Unit: ThresholdPercent}, str: "1%"},
		{in: "150ms", want: Threshold{Value: 0.15, Unit: ThresholdDuration}, str: "150ms"},
		{in: "200", want: Threshold{Value: 200, Unit: ThresholdNumber}, str: "200"},
		{in: "soon", wantErr: true},
		{in: "NaN", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseThreshold(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseThreshold(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want || got.String() != tt.str {
				t.Errorf("ParseThreshold(%q) = %+v (%s), %v; want %+v (%s)", tt.in, got, got, err, tt.want, tt.str)
			}
		})
	}
	if d := (Threshold{Value: 0.15, Unit: ThresholdDuration}).Duration(); d != 150*time.Millisecond {
		t.Errorf("Duration() = %v, want 150ms", d)
	}
}
