package slo

import (
	"fmt"
	"math"
	"strings"

	"github.com/anishathalye/porcupine"
)

// Reduced counts the operations the linearizability checker leaves out of
// porcupine's search, or constrains, before it starts. Each reduction keeps
// the verdict: the reduced history is linearizable if and only if the
// original is (the proofs are at the functions that apply them). Without
// them, every write of unknown outcome stays a candidate for every later
// place in the order, and a history with a few dozen of them on one key can
// take porcupine longer than any budget (porcupine issues #3 and #6).
type Reduced struct {
	// FailedWrites: writes that definitely failed; they had no effect.
	FailedWrites int
	// UnansweredReads: gets that failed or ended unknown; they observed
	// nothing.
	UnansweredReads int
	// Unobserved: writes of unknown outcome whose effect no later
	// operation observed; the search treats them as never applied.
	Unobserved int
	// Closed: writes of unknown outcome whose (unique) value was read: they
	// must take effect before the first operation that observed it ended,
	// which becomes their end instead of an open one.
	Closed int
	// RepeatedKeys: keys with an unknown write where a value was written
	// twice, on which Closed does not apply (it needs to know which write a
	// read saw).
	RepeatedKeys int
	// Searched: operations left for porcupine.
	Searched int
}

// String summarises the reductions for a report line.
func (r Reduced) String() string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(r.Unobserved, "unknown writes nobody observed left out")
	add(r.Closed, "unknown writes closed at their first observer")
	add(r.FailedWrites, "failed writes")
	add(r.UnansweredReads, "unanswered reads left out")
	add(r.RepeatedKeys, "keys with repeated values not closed")
	if len(parts) == 0 {
		return fmt.Sprintf("searched %d operations", r.Searched)
	}
	return fmt.Sprintf("searched %d operations; %s", r.Searched, strings.Join(parts, ", "))
}

// reduce applies the reductions that need no conversion (dropUnobserved,
// then closeObserved) to every key of a history converted by ToPorcupine
// with an unknown write, and returns the reduced history in its order. It
// works on indexes so as not to copy the operations of large histories
// more than once.
func reduce(history []porcupine.Operation, red *Reduced) []porcupine.Operation {
	byKey := map[string][]int{}
	open := map[string]bool{}
	var openKeys []string
	for i, op := range history {
		k := op.Input.(regInput).key
		if isOpen(op) && !open[k] {
			open[k] = true
			openKeys = append(openKeys, k)
		}
		byKey[k] = append(byKey[k], i)
	}
	if len(openKeys) == 0 {
		red.Searched = len(history)
		return history
	}
	out := make([]porcupine.Operation, len(history))
	copy(out, history)
	dropped := make([]bool, len(history))
	for _, k := range openKeys {
		closeObserved(out, dropUnobserved(out, byKey[k], dropped, red), red)
	}
	kept := out[:0]
	for i := range out {
		if !dropped[i] {
			kept = append(kept, out[i])
		}
	}
	red.Searched = len(kept)
	return kept
}

// isOpen reports whether op is a write of unknown outcome: put, delete or
// cas with an open end.
func isOpen(op porcupine.Operation) bool {
	return op.Return == math.MaxInt64 && op.Input.(regInput).kind != OpGet
}

// effect is the state a write leaves when it applies.
func effect(in regInput) regState {
	if in.kind == OpDelete {
		return regState{}
	}
	return regState{found: true, value: in.value}
}

// dropUnobserved removes from one key's operations every write u of
// unknown outcome whose effect e (its value, or absence for a delete) no
// operation x that may come after it observes: x not over before u began
// (x.Return >= u.Call; porcupine orders x before u only if x.Return <
// u.Call) is neither a get returning e, nor a cas expecting e, nor a
// rejected cas (which observes "not what I expected" and may need u to be
// true). It repeats until nothing more can go, as dropping an unknown cas
// removes an observer. It does not rely on unique values.
//
// Proof that H (one key) is linearizable iff H∖{u} is. If L′ linearizes
// H∖{u}, L′·u linearizes H: u's end is open, so no operation must follow
// it, and an unknown write is legal in any state. Conversely let L = A·u·B
// linearize H. If u left the state unchanged (a cas that did not match),
// A·B·u does too. Otherwise u set the state to e. Write B = C·w·D where w
// is the first put, delete or swapping cas of B (C = B if there is none).
// Every operation of C ran in state e and may come after u, so it is no get
// (it would return e), no rejected cas and no cas expecting e: C holds only
// unknown cas operations that did not match, so the state stays e through
// C. w is no swapping cas (it would expect e), so it is a put or a delete,
// legal in any state and leaving the state it left in L; D then runs as in
// L. So A·w·D·C·u is legal; it moved only operations with open ends later,
// which breaks no real-time order; and u at its very end changes nothing
// before it, so A·w·D·C linearizes H∖{u}. ∎
//
// part holds the indexes in ops of the key's operations; dropUnobserved
// marks those it drops in dropped and returns the others.
func dropUnobserved(ops []porcupine.Operation, part []int, dropped []bool, red *Reduced) []int {
	for {
		// Index the observers: for each observed state, the latest end of
		// an operation observing it; and the latest end of a rejected cas.
		observed := map[regState]int64{}
		rejected := int64(math.MinInt64)
		note := func(s regState, end int64) {
			if e, ok := observed[s]; !ok || end > e {
				observed[s] = end
			}
		}
		for _, i := range part {
			op := ops[i]
			in, out := op.Input.(regInput), op.Output.(regOutput)
			switch in.kind {
			case OpGet:
				note(regState{found: out.found, value: out.value}, op.Return)
			case OpCAS:
				note(regState{found: in.expectFound, value: in.expect}, op.Return)
				if !out.swapped && !out.unknown {
					rejected = max(rejected, op.Return)
				}
			}
		}
		kept := part[:0:0]
		n := 0
		for _, i := range part {
			if op := ops[i]; isOpen(op) && rejected < op.Call {
				e := effect(op.Input.(regInput))
				if end, ok := observed[e]; !ok || end < op.Call {
					dropped[i] = true
					n++
					continue
				}
			}
			kept = append(kept, i)
		}
		// (An unknown cas that expects the value it writes observes its
		// own effect and so stays: conservative, never unsound.)
		red.Unobserved += n
		part = kept
		if n == 0 {
			return part
		}
	}
}

// closeObserved gives each write u of unknown outcome whose value v some
// operation observed the end R of the first observer to end (a get returning
// v or a swapping cas expecting v), when v is written by no other operation
// of the key and R is not before u began. On a key where a value is written
// twice it does nothing (counted in RepeatedKeys). Unknown deletes keep
// their open end: absence is no unique value, any later read of it may be
// theirs, so no earlier end can be proved.
//
// Proof that H is linearizable iff H′ (u ending at R) is. A linearization of
// H′ is one of H: a later end only lifts real-time constraints. Conversely
// let L linearize H. Every observer o of v runs in state v; the register
// starts absent and only u writes v, so u precedes o in L. The end R adds
// only the constraints "u before y" for each y invoked after R; such a y
// follows the observer o* that ended at R in real time, so in L it follows
// o*, which follows u. So L linearizes H′. ∎
//
// part holds the indexes in ops of the key's operations; closeObserved sets
// the ends in ops.
func closeObserved(ops []porcupine.Operation, part []int, red *Reduced) {
	writers := map[string]int{}
	for _, i := range part {
		in := ops[i].Input.(regInput)
		if in.kind == OpPut || in.kind == OpCAS {
			writers[in.value]++
		}
	}
	for _, n := range writers {
		if n > 1 {
			red.RepeatedKeys++
			return
		}
	}
	first := map[string]int64{}
	note := func(v string, end int64) {
		if e, ok := first[v]; !ok || end < e {
			first[v] = end
		}
	}
	for _, i := range part {
		op := ops[i]
		in, out := op.Input.(regInput), op.Output.(regOutput)
		switch {
		case in.kind == OpGet && out.found:
			note(out.value, op.Return)
		case in.kind == OpCAS && out.swapped && in.expectFound:
			note(in.expect, op.Return)
		}
	}
	for _, i := range part {
		op := ops[i]
		in := op.Input.(regInput)
		if !isOpen(op) || in.kind == OpDelete {
			continue
		}
		if r, ok := first[in.value]; ok && r >= op.Call {
			ops[i].Return = r
			m, _ := op.Metadata.(opMeta)
			m.closed = true
			ops[i].Metadata = m
			red.Closed++
		}
	}
}
