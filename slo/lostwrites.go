package slo

import (
	"fmt"
	"math"
	"sort"
)

// Anomaly kinds of the no-lost-writes check (Jepsen set-checker style).
const (
	// AnomalyLost: an acknowledged write is gone and nothing explains it
	// (the key is absent, or holds a value no write that may have taken
	// effect produced).
	AnomalyLost = "lost"
	// AnomalyStale: the key holds a value older than an acknowledged write:
	// written by an operation that had completed before the acknowledged one
	// began.
	AnomalyStale = "stale"
	// AnomalyResurrected: a write reported as failed (a definite failure,
	// or a rejected cas, both promised to have no effect) is visible.
	AnomalyResurrected = "resurrected"
	// AnomalyPhantom: the key holds a value that no write of the history
	// wrote, whatever its outcome: the store made it up (or kept it from
	// before the run, which the checkers treat as starting from absent
	// keys). Reported once per key, with Op 0, whether or not the key had
	// acknowledged writes; those are reported as lost as well.
	AnomalyPhantom = "phantom"
)

// WriteAnomaly is one write the check flags.
type WriteAnomaly struct {
	Kind  string `json:"kind"`
	Key   string `json:"key"`
	Op    uint64 `json:"op"`    // the write's operation id (0 for a phantom)
	Value string `json:"value"` // what it wrote ("" for a delete or a phantom)
	Found string `json:"found"` // what the final read returned ("" absent)
}

// LostWritesResult is the verdict of CheckNoLostWrites.
type LostWritesResult struct {
	Verdict      Verdict
	Keys         int // keys written (or holding a phantom value) and read back
	Acknowledged int // writes acknowledged as ok
	Unread       int // keys whose final read failed
	ByKind       map[string]int
	Anomalies    []WriteAnomaly // the first MaxListed
	Detail       string
}

// MaxListed bounds the anomalies a result lists.
const MaxListed = 20

// CheckNoLostWrites judges the final state of every written key against the
// writes of a history: every write acknowledged as ok must be the value read
// or be superseded by a write of the same key that may have taken effect
// after it, no write that definitely failed may be visible, and every value
// read must have been written. final maps each key to the value read after
// the run (nil: absent); a key missing from final could not be read and
// makes the check inconclusive for that key.
//
// Writes are puts, deletes and cas operations (a cas writes its Value when
// it swaps). A write of unknown outcome may take effect at any time after
// its invocation, long after the client gave up on it, or never: its end is
// open, as in the linearizability checker. So a value written by an unknown
// write never counts as stale, and it supersedes every acknowledged write.
// Values are unique per run (the workload's MakeValue); should one repeat,
// the write most able to explain the read is taken as its source.
func CheckNoLostWrites(ops []Op, final map[string]*string) LostWritesResult {
	writes := map[string][]Op{}
	for _, op := range ops {
		if op.Kind == OpPut || op.Kind == OpDelete || op.Kind == OpCAS {
			writes[op.Key] = append(writes[op.Key], op)
		}
	}
	// A key nobody wrote that holds a value is a phantom too.
	for k, v := range final {
		if _, ok := writes[k]; !ok && v != nil {
			writes[k] = nil
		}
	}
	res := LostWritesResult{ByKind: map[string]int{AnomalyLost: 0, AnomalyStale: 0, AnomalyResurrected: 0, AnomalyPhantom: 0}}
	keys := make([]string, 0, len(writes))
	for k := range writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	add := func(a WriteAnomaly) {
		res.ByKind[a.Kind]++
		if len(res.Anomalies) < MaxListed {
			res.Anomalies = append(res.Anomalies, a)
		}
	}
	for _, key := range keys {
		ws := writes[key]
		for _, w := range ws {
			if w.Outcome == OutcomeOK {
				res.Acknowledged++
			}
		}
		got, read := final[key]
		if !read {
			res.Unread++
			continue
		}
		res.Keys++
		found := ""
		if got != nil {
			found = *got
		}
		src := finalSource(ws, got)
		switch {
		case got != nil && src < 0:
			add(WriteAnomaly{Kind: AnomalyPhantom, Key: key, Found: found})
		case got != nil && !mayTakeEffect(ws[src]):
			add(WriteAnomaly{Kind: AnomalyResurrected, Key: key, Op: ws[src].ID, Value: *ws[src].Value, Found: found})
		}
		// latest is the open-most end of a write that can have produced
		// the final state; none: no write can.
		const none = math.MinInt64
		latest := int64(none)
		switch {
		case got != nil && src >= 0 && mayTakeEffect(ws[src]):
			latest = writeEnd(ws[src])
		case got == nil:
			for _, w := range ws {
				if w.Kind == OpDelete && mayTakeEffect(w) {
					latest = max(latest, writeEnd(w))
				}
			}
		}
		for i, w := range ws {
			if w.Outcome != OutcomeOK || i == src || (got == nil && w.Kind == OpDelete) {
				continue
			}
			// Superseded: the final state's source can have taken effect
			// after w did (its effect lies in [Invoke, end], w's in
			// [w.Invoke, w.Complete]).
			if latest >= w.Invoke {
				continue
			}
			a := WriteAnomaly{Kind: AnomalyLost, Key: key, Op: w.ID, Found: found}
			if w.Value != nil && w.Kind != OpDelete {
				a.Value = *w.Value
			}
			if latest != none && got != nil {
				a.Kind = AnomalyStale // the source ended before w began
			}
			add(a)
		}
	}
	total := 0
	for _, n := range res.ByKind {
		total += n
	}
	switch {
	case total > 0:
		res.Verdict = Fail
		res.Detail = fmt.Sprintf("%d lost, %d stale, %d resurrected writes among %d acknowledged on %d keys",
			res.ByKind[AnomalyLost], res.ByKind[AnomalyStale], res.ByKind[AnomalyResurrected], res.Acknowledged, res.Keys)
		if n := res.ByKind[AnomalyPhantom]; n > 0 {
			res.Detail += fmt.Sprintf("; %d keys hold a value no write wrote", n)
		}
	case res.Keys == 0:
		res.Verdict, res.Detail = Inconclusive, "no written key could be read back"
	case res.Unread > 0:
		res.Verdict = Inconclusive
		res.Detail = fmt.Sprintf("%d of %d written keys could not be read back", res.Unread, res.Unread+res.Keys)
	default:
		res.Verdict = Pass
		res.Detail = fmt.Sprintf("all %d acknowledged writes on %d keys are present or superseded", res.Acknowledged, res.Keys)
	}
	return res
}

// finalSource is the index in ws of the write of the value got, -1 if none
// (or got is nil). Should values repeat, a write that may have taken effect
// is preferred, then the one with the latest end: the most lenient source.
func finalSource(ws []Op, got *string) int {
	best := -1
	if got == nil {
		return best
	}
	for i, w := range ws {
		if w.Kind == OpDelete || w.Value == nil || *w.Value != *got {
			continue
		}
		if best < 0 || !mayTakeEffect(ws[best]) && mayTakeEffect(w) ||
			mayTakeEffect(ws[best]) == mayTakeEffect(w) && writeEnd(w) > writeEnd(ws[best]) {
			best = i
		}
	}
	return best
}

// mayTakeEffect: acknowledged or unknown. A definite failure and a rejected
// cas promise no effect.
func mayTakeEffect(w Op) bool { return w.Outcome == OutcomeOK || w.Outcome == OutcomeUnknown }

// writeEnd is the latest instant w can take effect: its completion if
// acknowledged, never bounded if its outcome is unknown.
func writeEnd(w Op) int64 {
	if w.Outcome == OutcomeUnknown {
		return math.MaxInt64
	}
	return w.Complete
}
