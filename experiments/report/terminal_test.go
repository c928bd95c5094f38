package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The terminal summary places every fault, and the stop condition, at the
// run's one origin (t = 0 at the end of warmup) with its UTC time, states
// that origin once, and names the burn rate's window.
func TestTerminalOneClock(t *testing.T) {
	r := *loadFixture(t, fixtureFail).Result
	at := r.MeasuredStart.Add(7500 * time.Millisecond)
	r.StopCondition = &StopCondition{Reason: "SLO availability: burn rate (last 5s) 20.0 above abort.burnRate 14.4", At: at, SLO: "availability", Burn: 20, Window: "last 5s"}
	var buf bytes.Buffer
	if err := Terminal(&buf, &r, false); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"clock      started 2026-11-26 22:04:59.464 UTC (t = -2.16 s), t = 0 (end of warmup) at 22:05:01.623 UTC, ended 22:05:26.933 UTC (t = 25.31 s)\n",
		"BURN RATE (WHOLE RUN)",
		"isolate-one  partition  n1,n2,n3  t = 4.04 s (22:05:05.660 UTC)   t = 9.01 s (22:05:10.636 UTC)",
		"stopped: SLO availability: burn rate (last 5s) 20.0 above abort.burnRate 14.4 at t = 7.5 s (22:05:09.123 UTC)",
		OriginText,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the terminal summary lacks %q:\n%s", want, out)
		}
	}

	// A result from before measuredStart: offsets from the run start, said so.
	r.MeasuredStart = nil
	buf.Reset()
	if err := Terminal(&buf, &r, false); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "+6.197s from the run start (22:05:05.660 UTC)") || strings.Contains(out, OriginText) {
		t.Errorf("without measuredStart:\n%s", out)
	}
}
