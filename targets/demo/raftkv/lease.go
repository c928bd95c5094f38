package raftkv

import (
	"sync"
	"time"
)

// lease is a leader's read lease (ReadLease mode), judged on the node's own
// clock, the skewable one (Config.Now): a quorum that acknowledged the
// leader in a round that started at s will not elect another leader before
// s plus the followers' election timeout, so until s + dur (dur shorter
// than that timeout) the leader may answer reads from its own state without
// asking anyone. That holds only while the leader's clock runs true: a
// clock set back (or a process paused) makes it trust an expired lease.
//
// The mechanism: renew records the clock reading at the start of each
// successful quorum round (VerifyLeader); valid says whether now is before
// that reading plus dur. revoke drops the lease (a leadership transfer,
// which elects the next leader at once, without waiting for the timeout);
// a round that started before a revoke does not renew.
type lease struct {
	dur time.Duration

	mu    sync.Mutex
	start time.Time // clock reading at the start of the last acknowledged round
	held  bool
	gen   uint64 // bumped by revoke
}

// begin returns the generation a round started in.
func (l *lease) begin() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

// renew records a quorum round acknowledged that started at start in
// generation gen; a revoke since then, or a newer round, wins.
func (l *lease) renew(gen uint64, start time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if gen != l.gen || (l.held && start.Before(l.start)) {
		return
	}
	l.start, l.held = start, true
}

// revoke drops the lease.
func (l *lease) revoke() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held = false
	l.gen++
}

// valid says whether the lease holds at now (a reading of the node's clock).
func (l *lease) valid(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held && now.Before(l.start.Add(l.dur))
}
