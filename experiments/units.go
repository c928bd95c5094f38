package experiments

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Percent is a share written as "99.5%" or as the fraction 0.995. It holds
// the fraction: 99.5% is Percent(0.995).
type Percent float64

// ParsePercent parses "99.5%" or "0.995". The result is not range checked:
// callers say which range their field allows.
func ParsePercent(s string) (Percent, error) {
	text := strings.TrimSpace(s)
	scale := 1.0
	if strings.HasSuffix(text, "%") {
		text = strings.TrimSpace(strings.TrimSuffix(text, "%"))
		scale = 100
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("bad percentage %q: write 99.5%% or 0.995", s)
	}
	return Percent(v / scale), nil
}

// Fraction returns the share as a number between 0 and 1.
func (p Percent) Fraction() float64 { return float64(p) }

// String formats the share as a percentage, "99.5%".
func (p Percent) String() string {
	// Round away the binary noise of v*100 (0.995*100 = 99.49999999999999).
	v := math.Round(float64(p)*100*1e9) / 1e9
	return strconv.FormatFloat(v, 'f', -1, 64) + "%"
}

// ByteSize is a number of bytes, written as 32, "512B", "64KiB" or "1MB".
type ByteSize int64

// ByteRate is a rate in bytes per second, written with a unit, "64KiB/s".
type ByteRate float64

// byteUnits lists the accepted size suffixes, longest first so "KiB" is
// tried before "B".
var byteUnits = []struct {
	suffix string
	bytes  float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"B", 1},
}

// parseBytes parses a number with an optional byte unit suffix.
func parseBytes(s string) (float64, bool) {
	text := strings.TrimSpace(s)
	scale := 1.0
	for _, u := range byteUnits {
		if strings.HasSuffix(text, u.suffix) {
			text = strings.TrimSpace(strings.TrimSuffix(text, u.suffix))
			scale = u.bytes
			break
		}
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v * scale, true
}

// ParseByteSize parses "32", "512B", "64KiB", "1MB". Fractions of a byte
// are rejected.
func ParseByteSize(s string) (ByteSize, error) {
	v, ok := parseBytes(s)
	if !ok || v != math.Trunc(v) || v > math.MaxInt64 || v < math.MinInt64 {
		return 0, fmt.Errorf("bad size %q: write a whole number of bytes, e.g. 32, 512B, 64KiB, 1MB", s)
	}
	return ByteSize(v), nil
}

// String formats the size with the largest binary unit that divides it.
func (b ByteSize) String() string {
	return formatBytes(float64(b)) + "B"
}

// ParseByteRate parses "64KiB/s", "1MB/s", "512B/s". The "/s" is required
// so a rate is never mistaken for a size.
func ParseByteRate(s string) (ByteRate, error) {
	text := strings.TrimSpace(s)
	bad := fmt.Errorf("bad rate %q: write bytes per second with a unit, e.g. 512B/s, 64KiB/s, 1MB/s", s)
	if !strings.HasSuffix(text, "/s") {
		return 0, bad
	}
	text = strings.TrimSuffix(text, "/s")
	if !strings.HasSuffix(text, "B") {
		return 0, bad
	}
	v, ok := parseBytes(text)
	if !ok {
		return 0, bad
	}
	return ByteRate(v), nil
}

// BytesPerSecond returns the rate as a number.
func (r ByteRate) BytesPerSecond() float64 { return float64(r) }

// String formats the rate, "64KiB/s".
func (r ByteRate) String() string { return formatBytes(float64(r)) + "B/s" }

// formatBytes returns v with the largest unit prefix ("Ki", "Mi", "Gi", or
// the decimal "k", "M", "G") that divides it exactly, else plain.
func formatBytes(v float64) string {
	for _, u := range []struct {
		prefix string
		scale  float64
	}{{"Gi", 1 << 30}, {"G", 1e9}, {"Mi", 1 << 20}, {"M", 1e6}, {"Ki", 1 << 10}, {"k", 1e3}} {
		if v != 0 && math.Abs(v) >= u.scale && math.Mod(v, u.scale) == 0 {
			return strconv.FormatFloat(v/u.scale, 'f', -1, 64) + u.prefix
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// ParseDuration parses a Go duration ("250ms", "2s", "1m30s"). A bare 0 is
// accepted; any other number without a unit is rejected because its unit
// would be a guess.
func ParseDuration(s string) (time.Duration, error) {
	text := strings.TrimSpace(s)
	if text == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		if _, numErr := strconv.ParseFloat(text, 64); numErr == nil {
			return 0, fmt.Errorf("bad duration %s: add a unit, e.g. %ss or %sms", text, text, text)
		}
		return 0, fmt.Errorf("bad duration %q: write a Go duration such as 250ms, 2s or 1m30s", s)
	}
	return d, nil
}

// ThresholdUnit says how a Threshold was written.
type ThresholdUnit int

const (
	// ThresholdNumber is a plain number: 0.01, 200.
	ThresholdNumber ThresholdUnit = iota
	// ThresholdPercent is a percentage; Value holds the fraction.
	ThresholdPercent
	// ThresholdDuration is a duration; Value holds seconds.
	ThresholdDuration
)

// Threshold is a probe bound as written in the file: a number (0.01), a
// percentage (1%) or a duration (150ms). Value is in the metric's own unit,
// as Prometheus uses: seconds for a duration, the fraction for a percentage.
type Threshold struct {
	Value float64
	Unit  ThresholdUnit
}

// ParseThreshold parses a probe bound: "0.01", "1%" or "150ms".
func ParseThreshold(s string) (Threshold, error) {
	text := strings.TrimSpace(s)
	if strings.HasSuffix(text, "%") {
		p, err := ParsePercent(text)
		if err != nil {
			return Threshold{}, err
		}
		return Threshold{Value: float64(p), Unit: ThresholdPercent}, nil
	}
	if v, err := strconv.ParseFloat(text, 64); err == nil {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Threshold{}, fmt.Errorf("bad bound %q: must be a finite number", s)
		}
		return Threshold{Value: v, Unit: ThresholdNumber}, nil
	}
	if d, err := time.ParseDuration(text); err == nil {
		return Threshold{Value: d.Seconds(), Unit: ThresholdDuration}, nil
	}
	return Threshold{}, fmt.Errorf("bad bound %q: write a number (0.01), a percentage (1%%) or a duration (150ms)", s)
}

// Duration returns the bound as a duration; meaningful when Unit is
// ThresholdDuration.
func (t Threshold) Duration() time.Duration {
	return time.Duration(math.Round(t.Value * float64(time.Second)))
}

// String formats the bound the way it was written.
func (t Threshold) String() string {
	switch t.Unit {
	case ThresholdPercent:
		return Percent(t.Value).String()
	case ThresholdDuration:
		return t.Duration().String()
	default:
		return strconv.FormatFloat(t.Value, 'f', -1, 64)
	}
}
