package resilience

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Stall detection. A caller whose own process did not run for a while (the
// machine was busy, the process was descheduled or paused, a long GC) sees
// every call it had in flight time out, and a breaker that counts those
// timeouts against the peers opens to all of them at once: a stall of the
// caller becomes an outage of everything it calls. A timeout says nothing
// about a peer when the caller itself was not running for a good part of
// the call's budget. The same reasoning makes failure detectors discount a
// node's own pauses (Cassandra's GC pause warnings, the lease checks of
// etcd's leader "failed to send out heartbeat on time"): a timer that fires
// late measures the observer, not the observed.

// Stall detector defaults.
const (
	// StallTick is how often the detector's timer is meant to fire.
	StallTick = 5 * time.Millisecond
	// StallMin is the lateness of a tick that counts as a stall: below it,
	// timer slack and scheduling noise.
	StallMin = 2 * time.Millisecond
	// stallMemory bounds how far back stalls are kept.
	stallMemory = 30 * time.Second
)

// stallSpan is an interval in which the process did not run.
type stallSpan struct{ from, to time.Time }

// StallDetector notices its own process's stalls: a timer meant to fire
// every StallTick that fires late by more than StallMin marks the time in
// between as a stall. Stalled reports how much of an interval was stalled.
// Safe for concurrent use.
type StallDetector struct {
	seconds prometheus.Counter // nil: not exported

	mu    sync.Mutex
	spans []stallSpan // in time order, none older than stallMemory
	// due is when Run's next tick is due (zero when Run is not running): a
	// caller that asks long after it has a stall the timer has not reported
	// yet.
	due time.Time
}

// NewStallDetector returns a detector; seconds, when not nil, counts the
// stalled time (chaosdemo_stall_seconds_total). Run starts it.
func NewStallDetector(seconds prometheus.Counter) *StallDetector {
	return &StallDetector{seconds: seconds}
}

// Run watches for stalls until ctx ends.
func (d *StallDetector) Run(ctx context.Context) {
	t := time.NewTimer(StallTick)
	defer t.Stop()
	d.setDue(time.Now().Add(StallTick))
	defer d.setDue(time.Time{})
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := time.Now()
			d.mu.Lock()
			due := d.due
			d.mu.Unlock()
			d.Observe(due, now)
			d.setDue(now.Add(StallTick))
			t.Reset(StallTick)
		}
	}
}

func (d *StallDetector) setDue(t time.Time) {
	d.mu.Lock()
	d.due = t
	d.mu.Unlock()
}

// Observe records that a tick due at due fired at woke: a stall of woke−due
// when that exceeds StallMin. Run calls it; tests call it with made-up times.
func (d *StallDetector) Observe(due, woke time.Time) {
	late := woke.Sub(due)
	if late <= StallMin {
		return
	}
	if d.seconds != nil {
		d.seconds.Add(late.Seconds())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.spans = append(d.spans, stallSpan{from: due, to: woke})
	cut := 0
	for cut < len(d.spans) && woke.Sub(d.spans[cut].to) > stallMemory {
		cut++
	}
	d.spans = d.spans[cut:]
}

// Stalled returns how much of [from, to] the process spent stalled. The
// caller is running when it asks, so a stall has ended; when it woke before
// the detector's timer (both were due), the time since the tick was due is
// counted as the stall the timer is about to report.
func (d *StallDetector) Stalled(from, to time.Time) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	var sum time.Duration
	if !d.due.IsZero() && to.Sub(d.due) > StallMin {
		sum += overlap(d.due, to, from, to)
	}
	for i := len(d.spans) - 1; i >= 0; i-- {
		s := d.spans[i]
		if !s.to.After(from) {
			break
		}
		sum += overlap(s.from, s.to, from, to)
	}
	return sum
}

// overlap is the length of [a, b] ∩ [from, to].
func overlap(a, b, from, to time.Time) time.Duration {
	if a.Before(from) {
		a = from
	}
	if b.After(to) {
		b = to
	}
	if b.After(a) {
		return b.Sub(a)
	}
	return 0
}
