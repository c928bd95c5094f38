package raftkv

import (
	"testing"
	"time"
)

// fakeClock is a node's clock: a true time plus a skew offset, as the
// clock-skew fault sets it.
type fakeClock struct {
	real   time.Time
	offset time.Duration
}

func (c *fakeClock) now() time.Time { return c.real.Add(c.offset) }

func TestLeaseHoldsForItsDurationFromTheRoundStart(t *testing.T) {
	c := &fakeClock{real: time.Unix(1000, 0)}
	l := lease{dur: 900 * time.Millisecond}
	if l.valid(c.now()) {
		t.Fatal("a lease never renewed holds")
	}
	gen, start := l.begin(), c.now()
	c.real = c.real.Add(200 * time.Millisecond) // the round's round trip
	l.renew(gen, start)
	for _, tc := range []struct {
		after time.Duration // since the round started
		want  bool
	}{{0, true}, {899 * time.Millisecond, true}, {900 * time.Millisecond, false}, {5 * time.Second, false}} {
		if got := l.valid(start.Add(tc.after)); got != tc.want {
			t.Errorf("%s after the round started: valid %v, want %v", tc.after, got, tc.want)
		}
	}
}

// The danger lease reads carry: the quorum stops answering (a partition),
// so the lease is no longer renewed, and the node's clock is set back. By
// the true time the lease ran out long ago; by the node's clock it holds
// for as long as the clock was set back.
func TestLeaseTrustsAClockSetBack(t *testing.T) {
	c := &fakeClock{real: time.Unix(1000, 0)}
	l := lease{dur: 900 * time.Millisecond}
	gen, start := l.begin(), c.now()
	l.renew(gen, start)
	c.real = c.real.Add(2 * time.Second) // cut off: no renewal since
	if l.valid(c.now()) {
		t.Fatal("lease holds 2 s after its last round on a true clock")
	}
	c.offset = -30 * time.Second
	if !l.valid(c.now()) {
		t.Fatal("lease does not hold on a clock set back 30 s; the danger the mode shows is gone")
	}
	c.real = c.real.Add(28 * time.Second)
	if !l.valid(c.now()) {
		t.Fatal("lease does not hold 30 s (true) after its round on a clock 30 s behind")
	}
	c.real = c.real.Add(time.Second)
	if l.valid(c.now()) {
		t.Fatal("lease still holds once the clock, set back, passed its end")
	}
}

func TestLeaseRevokeWinsOverARoundStartedBefore(t *testing.T) {
	c := &fakeClock{real: time.Unix(1000, 0)}
	l := lease{dur: 900 * time.Millisecond}
	gen, start := l.begin(), c.now()
	l.revoke() // a leadership transfer while the round was out
	l.renew(gen, start)
	if l.valid(c.now()) {
		t.Fatal("a round started before a revoke renewed the lease")
	}
	gen, start = l.begin(), c.now()
	l.renew(gen, start)
	if !l.valid(c.now()) {
		t.Fatal("a round started after the revoke did not renew the lease")
	}
	// An older round that completes late does not shorten the lease.
	l.renew(gen, start.Add(-500*time.Millisecond))
	if !l.valid(start.Add(850 * time.Millisecond)) {
		t.Fatal("an older round moved the lease's start back")
	}
}

func TestSettingsLeaseDuration(t *testing.T) {
	s := Settings{}
	if err := s.validate(); err != nil {
		t.Fatal(err)
	}
	if want := DefaultHeartbeatTimeout * 9 / 10; s.LeaseDuration != want {
		t.Fatalf("default lease %s, want %s (the heartbeat timeout less the 10%% drift bound)", s.LeaseDuration, want)
	}
	s = Settings{LeaseDuration: 2 * time.Second}
	if err := s.validate(); err == nil {
		t.Fatal("a lease longer than the heartbeat timeout was accepted")
	}
	s = Settings{Reads: "stale"}
	if err := s.validate(); err == nil {
		t.Fatal("read mode stale accepted")
	}
}
