package slo

import (
	"fmt"
	"sort"

	"github.com/chaosctl/chaosctl/internal/regularfile"
	"github.com/chaosctl/chaosctl/probes/workload"
)

// Anomaly kinds of the mutual-exclusion check.
const (
	// AnomalyStaleWrite: the protected resource accepted a write made under
	// an older fencing token after it had accepted a write under a newer
	// one: a client whose lock had been taken over still changed the
	// resource, inside the next holder's critical section.
	AnomalyStaleWrite = "stale-write"
	// AnomalyTokenReused: the lock service granted one token to two
	// acquisitions of one lock.
	AnomalyTokenReused = "token-reused"
)

// MutexAnomaly is one violation of mutual exclusion.
type MutexAnomaly struct {
	Kind   string `json:"kind"`
	Key    string `json:"key"`    // the resource, or the lock for token-reused
	Op     uint64 `json:"op"`     // the offending write (or the second acquire)
	Client int    `json:"client"` // its client
	Token  int64  `json:"token"`
	// Before is the operation that makes Op a violation: the accepted
	// write under the newer token that had completed before Op was
	// invoked (or the first acquire of the token).
	Before       uint64 `json:"before"`
	BeforeClient int    `json:"beforeClient"`
	BeforeToken  int64  `json:"beforeToken"`
}

// MutexResult is the verdict of CheckMutualExclusion.
type MutexResult struct {
	Verdict      Verdict
	Acquisitions int            // acquires that succeeded
	Writes       int            // resource writes that succeeded (the evidence)
	Refused      int            // resource writes that failed (a fenced resource's refusals among them)
	Anomalies    []MutexAnomaly // the first MaxListed
	Total        int            // anomalies, listed or not
	ByKind       map[string]int // anomalies by kind, listed or not
	Detail       string
}

// CheckMutualExclusion judges a lock workload's history: no two holders'
// critical sections may overlap in their effect on the protected resource.
//
// The rule, on the resource writes that succeeded (put with a token, outcome
// ok; each carries the token its client held, sent or not): if a write A
// under token a had completed before a write B under token b < a was invoked,
// B is a stale write and a violation. A's holder got its token after B's (the
// lock service grants increasing tokens), and A's effect was in the resource
// before B began, so B changed the resource inside a later holder's critical
// section: the two sections overlapped in their effect. Writes whose
// intervals overlap are not ordered by the history and never count; writes
// of unknown outcome may not have happened and never count either. So every
// anomaly reported is certain; a violation hidden in concurrency is missed.
//
// What the rule does not ask: that a holder write only while its lease runs.
// A fenced resource may accept a lapsed holder's write as long as no newer
// token has reached it: the writes are still ordered as whole critical
// sections (token order), which is what fencing promises. A second check: no
// token is granted to two successful acquisitions of one lock.
//
// No successful resource write with a token is no evidence: inconclusive.
func CheckMutualExclusion(ops []workload.HistoryOp) MutexResult {
	var res MutexResult
	byKey := map[string][]workload.HistoryOp{}
	granted := map[string]map[int64]workload.HistoryOp{}
	for _, op := range ops {
		switch {
		case op.Op == workload.OpAcquire && op.Outcome == workload.OutcomeOK && op.Token != nil:
			res.Acquisitions++
			g := granted[op.Lock]
			if g == nil {
				g = map[int64]workload.HistoryOp{}
				granted[op.Lock] = g
			}
			if first, dup := g[*op.Token]; dup {
				res.add(MutexAnomaly{Kind: AnomalyTokenReused, Key: op.Lock, Op: op.ID, Client: op.Client, Token: *op.Token,
					Before: first.ID, BeforeClient: first.Client, BeforeToken: *first.Token})
			} else {
				g[*op.Token] = op
			}
		case op.Op == workload.OpPut && op.Token != nil && op.Outcome == workload.OutcomeOK && op.Complete != nil:
			res.Writes++
			byKey[op.Key] = append(byKey[op.Key], op)
		case op.Op == workload.OpPut && op.Token != nil && op.Outcome == workload.OutcomeFail:
			res.Refused++
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, a := range staleWrites(byKey[k]) {
			res.add(a)
		}
	}
	switch {
	case res.Total > 0:
		res.Verdict = Fail
		a := res.Anomalies[0]
		res.Detail = fmt.Sprintf("%d violations of mutual exclusion in %d accepted writes; first: %s on %s by client %d (op %d, token %d) after client %d's write under token %d (op %d) had completed",
			res.Total, res.Writes, a.Kind, a.Key, a.Client, a.Op, a.Token, a.BeforeClient, a.BeforeToken, a.Before)
	case res.Writes == 0:
		res.Verdict = Inconclusive
		res.Detail = fmt.Sprintf("no resource write with a token succeeded (%d acquisitions, %d writes refused): no evidence", res.Acquisitions, res.Refused)
	default:
		res.Verdict = Pass
		res.Detail = fmt.Sprintf("%d accepted writes under %d acquisitions never went back to an older token (%d writes refused)", res.Writes, res.Acquisitions, res.Refused)
	}
	return res
}

func (r *MutexResult) add(a MutexAnomaly) {
	r.Total++
	if r.ByKind == nil {
		r.ByKind = map[string]int{}
	}
	r.ByKind[a.Kind]++
	if len(r.Anomalies) < MaxListed {
		r.Anomalies = append(r.Anomalies, a)
	}
}

// staleWrites finds, for each write of one resource, the newest token among
// the writes completed before it was invoked, and reports the write when its
// own token is older (a sweep over both orders, n log n).
func staleWrites(ws []workload.HistoryOp) []MutexAnomaly {
	byComplete := append([]workload.HistoryOp(nil), ws...)
	sort.SliceStable(byComplete, func(i, j int) bool { return *byComplete[i].Complete < *byComplete[j].Complete })
	byInvoke := append([]workload.HistoryOp(nil), ws...)
	sort.SliceStable(byInvoke, func(i, j int) bool { return byInvoke[i].Invoke < byInvoke[j].Invoke })
	var (
		out    []MutexAnomaly
		newest *workload.HistoryOp
		next   int
	)
	for _, w := range byInvoke {
		for next < len(byComplete) && *byComplete[next].Complete < w.Invoke {
			if c := &byComplete[next]; newest == nil || *c.Token > *newest.Token {
				newest = c
			}
			next++
		}
		if newest != nil && *w.Token < *newest.Token {
			out = append(out, MutexAnomaly{Kind: AnomalyStaleWrite, Key: w.Key, Op: w.ID, Client: w.Client, Token: *w.Token,
				Before: newest.ID, BeforeClient: newest.Client, BeforeToken: *newest.Token})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Op < out[j].Op })
	return out
}

// CheckMutualExclusionFile reads a lock workload's history.ndjson at path
// and checks it with CheckMutualExclusion. The file rules are CheckFile's.
func CheckMutualExclusionFile(path string) (MutexResult, error) {
	f, err := regularfile.OpenLimited(path, MaxHistorySize)
	if err != nil {
		return MutexResult{}, fmt.Errorf("open history: %w", err)
	}
	defer f.Close()
	var ops []workload.HistoryOp
	if err := workload.ReadHistory(f, func(h workload.HistoryOp) error { ops = append(ops, h); return nil }); err != nil {
		return MutexResult{}, fmt.Errorf("read history %s: %w", path, err)
	}
	return CheckMutualExclusion(ops), nil
}
