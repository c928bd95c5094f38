package report

import (
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
)

func TestTSecs(t *testing.T) {
	for in, want := range map[float64]string{4.0369: "4.04", -2: "-2", 12.1: "12.1", -0.001: "0", 0: "0", 25.3099: "25.31"} {
		if got := tSecs(in); got != want {
			t.Errorf("tSecs(%g) = %q, want %q", in, got, want)
		}
	}
}

// A receipt's body says when it was measured in UTC and at t.
func TestReceiptBodyAtT(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 23, 41, 5, 0, time.UTC)
	r := &injectors.Receipt{Verified: true, Summary: "ok", Took: "5ms", At: t0.Add(4500 * time.Millisecond)}
	if got := receiptBody(r, runClock{t0: t0}); !strings.Contains(got, "measured at 2026-12-06T23:41:09.500Z (t = 4.5 s) in 5ms") {
		t.Errorf("receipt body %q", got)
	}
	if got := receiptBody(r, runClock{started: t0}); !strings.Contains(got, "measured at 2026-12-06T23:41:09.500Z in 5ms") {
		t.Errorf("receipt body without an origin %q", got)
	}
}
