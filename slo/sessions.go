package slo

import (
	"fmt"
	"sort"
)

// Session guarantees (Terry et al., "Session Guarantees for Weakly
// Consistent Replicated Data", 1994), judged per client session over a
// recorded history.
//
// A session is a Client of the history: the workload's logical client, which
// runs one operation at a time and is retired (its worker takes a new number)
// after an operation of unknown outcome. Within a session, operation a is
// before operation b when a completed before b was invoked.
//
// "Older" is decided by real time and the values' identity: every put writes
// a value no other write writes (the workload's MakeValue), so a value read
// names the write that produced it, its source. Write s is older than write w
// when s was acknowledged and completed before w was invoked: every order of
// the writes that respects real time puts s first. Writes whose intervals
// overlap are concurrent, and neither is older; a write of unknown outcome
// may take effect at any time after its invocation, so it is never older
// than anything. A delete writes no value, so a read that finds a key absent
// is explained by any delete that may have taken effect while the read ran,
// or by the key's initial absence.
//
// The checks are sound: a violation is reported only when every explanation
// of the read is older than what the session already wrote or read. What they
// cannot decide is counted as Undecided, never as a violation: a read of a
// value no write of the history wrote (a phantom: the no-lost-writes check's
// business), a read of a value written by a write that reported a definite
// failure (resurrected: when it took effect is unknown). For monotonic reads
// an absent read sets no floor for later reads: deletes write no value, so
// which delete (or the initial absence, seen by a replica that is behind) it
// saw is unknown, and any value read after it may be newer.

// Session-guarantee checks.
const (
	// SessionReadYourWrites: a read in a session returns a value at least
	// as new as the session's last acknowledged write to that key.
	SessionReadYourWrites = "read-your-writes"
	// SessionMonotonicReads: a session never reads a value older than one
	// it read before from that key.
	SessionMonotonicReads = "monotonic-reads"
)

// SessionAnomaly is one read that breaks a session guarantee: Read returned
// Found (written by Source, 0 when the key was absent), which is older than
// the value of Floor — the session's earlier write (read-your-writes), or the
// source of its earlier read (monotonic reads), whose value is FloorValue
// ("" for a delete).
type SessionAnomaly struct {
	Session    int    `json:"session"`
	Key        string `json:"key"`
	Read       uint64 `json:"read"`
	Found      string `json:"found"`
	Source     uint64 `json:"source"`
	Floor      uint64 `json:"floor"`
	FloorValue string `json:"floorValue"`
}

// String renders the anomaly for a report line.
func (a SessionAnomaly) String() string {
	found := fmt.Sprintf("%q (op %d)", a.Found, a.Source)
	if a.Source == 0 {
		found = "absent"
	}
	floor := fmt.Sprintf("%q", a.FloorValue)
	if a.FloorValue == "" {
		floor = "a delete"
	}
	return fmt.Sprintf("session %d key %s: read op %d found %s, older than op %d's %s", a.Session, a.Key, a.Read, found, a.Floor, floor)
}

// SessionResult is the verdict of CheckReadYourWrites or CheckMonotonicReads.
type SessionResult struct {
	Check    string
	Verdict  Verdict
	Sessions int // sessions with at least one judged read
	// Judged counts the reads that had a floor (an earlier acknowledged
	// write, or an earlier read, of the same key in the same session) and
	// were decided; Undecided those that had one and could not be.
	Judged     int
	Undecided  int
	Violations int
	Anomalies  []SessionAnomaly // the first MaxListed
	Detail     string
}

// CheckReadYourWrites judges every successful read of every session against
// the session's acknowledged writes to the same key that completed before
// the read was invoked: the read must not return a value whose write is older
// than one of them, nor find the key absent when every delete that could
// explain the absence is older than the session's last put.
func CheckReadYourWrites(ops []Op) SessionResult {
	return checkSessions(SessionReadYourWrites, ops)
}

// CheckMonotonicReads judges every successful read of every session against
// the session's earlier successful reads of the same key (completed before it
// was invoked): it must not return a value whose write is older than the
// source of one of them, nor find the key absent when every delete that could
// explain the absence is older than such a source.
func CheckMonotonicReads(ops []Op) SessionResult {
	return checkSessions(SessionMonotonicReads, ops)
}

// floor is the newest thing a session has seen of one key: the op whose
// invocation is the latest (the most demanding bound: write s is older than
// any of them exactly when it completed before the latest invocation).
type floor struct {
	set    bool
	invoke int64
	op     uint64
	value  string
	// The latest put or cas among them, which an absent read must beat.
	putInv int64
	putOp  uint64
	putVal string
	hasPut bool
}

func (f *floor) raise(invoke int64, op uint64, value *string) {
	if !f.set || invoke > f.invoke {
		f.set, f.invoke, f.op, f.value = true, invoke, op, deref(value)
	}
	if value != nil && (!f.hasPut || invoke > f.putInv) {
		f.hasPut, f.putInv, f.putOp, f.putVal = true, invoke, op, *value
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func checkSessions(check string, ops []Op) SessionResult {
	res := SessionResult{Check: check}
	// The source of every value, and the deletes of every key.
	sources := map[string]map[string]Op{}
	deletes := map[string][]Op{}
	bySession := map[int][]Op{}
	for _, op := range ops {
		switch op.Kind {
		case OpPut, OpCAS:
			if op.Value == nil {
				continue
			}
			m := sources[op.Key]
			if m == nil {
				m = map[string]Op{}
				sources[op.Key] = m
			}
			if prev, ok := m[*op.Value]; !ok || moreLenient(op, prev) {
				m[*op.Value] = op
			}
		case OpDelete:
			if mayTakeEffect(op) {
				deletes[op.Key] = append(deletes[op.Key], op)
			}
		}
		bySession[op.Client] = append(bySession[op.Client], op)
	}
	sessions := make([]int, 0, len(bySession))
	for c := range bySession {
		sessions = append(sessions, c)
	}
	sort.Ints(sessions)

	for _, c := range sessions {
		sops := bySession[c]
		// What raises the floor, by completion; the reads, by invocation.
		var raisers, reads []Op
		for _, op := range sops {
			switch {
			case op.Kind == OpGet && op.Outcome == OutcomeOK:
				reads = append(reads, op)
				if check == SessionMonotonicReads {
					raisers = append(raisers, op)
				}
			case check == SessionReadYourWrites && op.Kind != OpGet && op.Outcome == OutcomeOK:
				raisers = append(raisers, op)
			}
		}
		sort.SliceStable(raisers, func(i, j int) bool { return raisers[i].Complete < raisers[j].Complete })
		sort.SliceStable(reads, func(i, j int) bool { return reads[i].Invoke < reads[j].Invoke })
		floors := map[string]*floor{}
		judged := false
		next := 0
		for _, r := range reads {
			for ; next < len(raisers) && raisers[next].Complete < r.Invoke; next++ {
				x := raisers[next]
				f := floors[x.Key]
				if f == nil {
					f = &floor{}
					floors[x.Key] = f
				}
				if check == SessionReadYourWrites {
					f.raise(x.Invoke, x.ID, x.Value)
					continue
				}
				// Monotonic reads: the floor is the source of what was read;
				// an absent read raises nothing (see the package comment).
				if x.Value == nil {
					continue
				}
				src, ok := sources[x.Key][*x.Value]
				if !ok {
					continue // a phantom: no bound known
				}
				f.raise(src.Invoke, src.ID, src.Value)
			}
			f := floors[r.Key]
			if f == nil || !f.set {
				continue
			}
			judged = true
			a, decided := judgeRead(r, f, sources[r.Key], deletes[r.Key])
			if !decided {
				res.Undecided++
				continue
			}
			res.Judged++
			if a != nil {
				a.Session = c
				res.Violations++
				if len(res.Anomalies) < MaxListed {
					res.Anomalies = append(res.Anomalies, *a)
				}
			}
		}
		if judged {
			res.Sessions++
		}
	}
	switch {
	case res.Violations > 0:
		res.Verdict = Fail
		res.Detail = fmt.Sprintf("%d of %d judged reads in %d sessions return a value older than the session's floor", res.Violations, res.Judged, res.Sessions)
	case res.Judged == 0:
		res.Verdict = Inconclusive
		res.Detail = "no read followed a " + map[string]string{SessionReadYourWrites: "write", SessionMonotonicReads: "read"}[check] + " of the same key in the same session"
		if res.Undecided > 0 {
			res.Detail += fmt.Sprintf(" and could be decided (%d undecided)", res.Undecided)
		}
	default:
		res.Verdict = Pass
		res.Detail = fmt.Sprintf("all %d judged reads in %d sessions are at least as new as the session's floor", res.Judged, res.Sessions)
	}
	if res.Undecided > 0 && res.Judged > 0 {
		res.Detail += fmt.Sprintf(" (%d reads undecided: phantom or resurrected values)", res.Undecided)
	}
	return res
}

// judgeRead decides whether read r is older than floor f. decided is false
// when r's value cannot be placed (see the package comment).
func judgeRead(r Op, f *floor, sources map[string]Op, deletes []Op) (a *SessionAnomaly, decided bool) {
	if r.Value != nil {
		src, ok := sources[*r.Value]
		if !ok || !mayTakeEffect(src) {
			return nil, false // phantom or resurrected
		}
		// Older: acknowledged and completed before the floor's write began.
		if src.Outcome == OutcomeOK && src.ID != f.op && src.Complete < f.invoke {
			return &SessionAnomaly{Key: r.Key, Read: r.ID, Found: *r.Value, Source: src.ID, Floor: f.op, FloorValue: f.value}, true
		}
		return nil, true
	}
	// Absent: older than the floor's latest put when no delete that may have
	// taken effect by the read's end can have done so at or after that put
	// began (the initial absence is older than everything).
	if !f.hasPut {
		return nil, true
	}
	for _, d := range deletes {
		if d.Invoke <= r.Complete && writeEnd(d) >= f.putInv {
			return nil, true
		}
	}
	return &SessionAnomaly{Key: r.Key, Read: r.ID, Floor: f.putOp, FloorValue: f.putVal}, true
}

// moreLenient reports whether a is the better source of a repeated value: one
// that may have taken effect, then the latest end (as finalSource).
func moreLenient(a, b Op) bool {
	if mayTakeEffect(a) != mayTakeEffect(b) {
		return mayTakeEffect(a)
	}
	return writeEnd(a) > writeEnd(b)
}
