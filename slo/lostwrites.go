package slo

import (
	"fmt"
	"sort"
)

// Anomaly kinds of the no-lost-writes check (Jepsen set-checker style).
const (
	// AnomalyLost: an acknowledged write is gone and nothing explains it
	// (the key is absent, or holds a value no write produced).
	AnomalyLost = "lost"
	// AnomalyStale: the key holds a value older than an acknowledged write:
	// written by an operation that had completed before the acknowledged one
	// began.
	AnomalyStale = "stale"
	// AnomalyResurrected: a write reported as failed (a definite failure,
	// promised to have no effect) is visible.
	AnomalyResurrected = "resurrected"
)

// WriteAnomaly is one write the check flags.
type WriteAnomaly struct {
	Kind  string `json:"kind"`
	Key   string `json:"key"`
	Op    uint64 `json:"op"`    // the write's operation id
	Value string `json:"value"` // what it wrote ("" for a delete)
	Found string `json:"found"` // what the final read returned ("" absent)
}

// LostWritesResult is the verdict of CheckNoLostWrites.
type LostWritesResult struct {
	Verdict      Verdict
	Keys         int // keys written and read back
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
// or be superseded by a later (or concurrent) write of the same key, and no
// write that definitely failed may be visible. final maps each key to the
// value read after the run (nil: absent); a key missing from final could not
// be read and makes the check inconclusive for that key.
func CheckNoLostWrites(ops []Op, final map[string]*string) LostWritesResult {
	writes := map[string][]Op{}
	for _, op := range ops {
		if op.Kind == OpPut || op.Kind == OpDelete {
			writes[op.Key] = append(writes[op.Key], op)
		}
	}
	res := LostWritesResult{ByKind: map[string]int{AnomalyLost: 0, AnomalyStale: 0, AnomalyResurrected: 0}}
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
		// The write that produced the final state: the put of that value
		// (values are unique), or for an absent key nothing (a delete or
		// never written).
		var source *Op
		for i := range ws {
			if got != nil && ws[i].Kind == OpPut && ws[i].Value != nil && *ws[i].Value == *got {
				source = &ws[i]
			}
		}
		if source != nil && source.Outcome == OutcomeFail {
			add(WriteAnomaly{Kind: AnomalyResurrected, Key: key, Op: source.ID, Value: *source.Value, Found: found})
		}
		for _, w := range ws {
			if w.Outcome != OutcomeOK || (source != nil && w.ID == source.ID) {
				continue
			}
			// Superseded: another write that may have taken effect and was
			// not over before w began could be the last one.
			superseded := false
			for _, o := range ws {
				if o.ID != w.ID && o.Outcome != OutcomeFail && o.Complete >= w.Invoke && o.Kind == explainKind(got) {
					if got == nil || (source != nil && o.ID == source.ID) {
						superseded = true
						break
					}
				}
			}
			if superseded {
				continue
			}
			a := WriteAnomaly{Key: key, Op: w.ID, Found: found}
			if w.Value != nil {
				a.Value = *w.Value
			}
			switch {
			case got == nil && w.Kind == OpDelete:
				continue // the delete's effect is what was read
			case source != nil && source.Complete < w.Invoke:
				a.Kind = AnomalyStale
			default:
				a.Kind = AnomalyLost
			}
			add(a)
		}
	}
	total := res.ByKind[AnomalyLost] + res.ByKind[AnomalyStale] + res.ByKind[AnomalyResurrected]
	switch {
	case total > 0:
		res.Verdict = Fail
		res.Detail = fmt.Sprintf("%d lost, %d stale, %d resurrected writes among %d acknowledged on %d keys",
			res.ByKind[AnomalyLost], res.ByKind[AnomalyStale], res.ByKind[AnomalyResurrected], res.Acknowledged, res.Keys)
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

// explainKind is the kind of write that can produce a final state.
func explainKind(got *string) OpKind {
	if got == nil {
		return OpDelete
	}
	return OpPut
}
