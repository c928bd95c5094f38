package runner

import (
	"testing"
	"time"
)

// The progress line counts time at the run's one origin: t = 0 at the end
// of warmup, as a fault's `at` in the experiment file.
func TestProgressClock(t *testing.T) {
	tests := []struct {
		elapsed  time.Duration
		inWarmup bool
		want     string
	}{
		{500 * time.Millisecond, true, "t=-2s warmup"},
		{1600 * time.Millisecond, true, "t=-1s warmup"},
		{2 * time.Second, false, "t=0s of 20s"},
		{8200 * time.Millisecond, false, "t=6s of 20s"},
	}
	for _, tt := range tests {
		if got := progressClock(tt.elapsed, 2*time.Second, 20*time.Second, tt.inWarmup); got != tt.want {
			t.Errorf("progressClock(%s) = %q, want %q", tt.elapsed, got, tt.want)
		}
	}
}
