package resilience

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
)

func TestStalledSumsTheOverlapOfObservedStalls(t *testing.T) {
	d := NewStallDetector(nil)
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	d.Observe(at(0), at(1))     // 1 ms late: timer noise, not a stall
	d.Observe(at(10), at(60))   // 50 ms
	d.Observe(at(100), at(103)) // 3 ms
	d.Observe(at(200), at(400)) // 200 ms
	for _, c := range []struct {
		from, to int
		want     time.Duration
	}{
		{0, 5, 0},
		{0, 1000, 253 * time.Millisecond},
		{30, 110, 33 * time.Millisecond},
		{300, 350, 50 * time.Millisecond},
		{401, 900, 0},
	} {
		if got := d.Stalled(at(c.from), at(c.to)); got != c.want {
			t.Errorf("Stalled(%d ms, %d ms) = %s, want %s", c.from, c.to, got, c.want)
		}
	}
	// Stalls older than stallMemory are forgotten.
	d.Observe(at(100_000), at(100_010))
	if got := d.Stalled(at(0), at(1000)); got != 0 {
		t.Errorf("a stall %s old still counted: %s", 100*time.Second, got)
	}
}

// A caller that woke before the detector's own timer (both were due when
// the process ran again) still learns of the stall it just had.
func TestStalledCountsAStallTheTimerHasNotReportedYet(t *testing.T) {
	d := NewStallDetector(nil)
	t0 := time.Unix(1000, 0)
	d.setDue(t0.Add(StallTick))
	if got := d.Stalled(t0, t0.Add(StallTick+StallMin)); got != 0 {
		t.Errorf("on time: %s stalled", got)
	}
	if got := d.Stalled(t0, t0.Add(StallTick+300*time.Millisecond)); got != 300*time.Millisecond {
		t.Errorf("timer 300 ms overdue: Stalled = %s, want 300ms", got)
	}
}

// A real stall: the test's own process is stopped (SIGSTOP, from a shell
// that sends SIGCONT 300 ms later), and the running detector sees it.
func TestDetectorSeesItsProcessStopped(t *testing.T) {
	d := NewStallDetector(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	before := time.Now()
	if out, err := exec.Command("sh", "-c", "kill -STOP $PPID; sleep 0.3; kill -CONT $PPID").CombinedOutput(); err != nil {
		t.Fatalf("stop and continue this process: %v %s", err, out)
	}
	testkit.Eventually(t, 5*time.Second, "the stall seen", func() bool {
		return d.Stalled(before, time.Now()) >= 250*time.Millisecond
	})
}
