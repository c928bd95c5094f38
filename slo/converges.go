package slo

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/chaosctl/chaosctl/internal/regularfile"
	"github.com/chaosctl/chaosctl/probes/workload"
)

// Anomaly kinds of the converges check.
const (
	// AnomalyDiverged: the home replicas of a CRDT value hold different
	// states after the cluster settled.
	AnomalyDiverged = "diverged"
	// AnomalyCounterOutOfRange: a counter's value is not the sum of the
	// acknowledged deltas plus some of the deltas of unknown outcome.
	AnomalyCounterOutOfRange = "counter-out-of-range"
	// AnomalyLostAdd: an acknowledged add of a set element is gone although
	// no remove of the element could have observed it.
	AnomalyLostAdd = "lost-add"
	// AnomalyPhantomElement: a set holds an element that no add which may
	// have taken effect added.
	AnomalyPhantomElement = "phantom-element"
)

// CRDTReplica is what one home replica of a CRDT value holds after the run.
type CRDTReplica struct {
	Node     string   `json:"node"`
	Value    int64    `json:"value,omitempty"`    // a counter's value
	Elements []string `json:"elements,omitempty"` // a set's elements, sorted
	Err      string   `json:"error,omitempty"`    // why the replica could not be read; "" when it was
}

// CRDTFinal is every home replica's copy of one CRDT value after the run.
type CRDTFinal struct {
	Type     string        `json:"type"` // counter or set
	Key      string        `json:"key"`
	Replicas []CRDTReplica `json:"replicas"`
}

// CRDTFinalFile is the file a run writes beside its history.ndjson with the
// read-back of the converges check, for `chaosctl check`.
const CRDTFinalFile = "crdt-final.json"

// CheckConvergesFile runs CheckConverges on a run's history.ndjson and the
// CRDTFinalFile beside it. crdt is false when the history updates no CRDT
// value (a key-value history: check it with CheckFile). Without the
// read-back file the verdict is inconclusive.
func CheckConvergesFile(path string) (res ConvergesResult, crdt bool, err error) {
	f, err := regularfile.OpenLimited(path, MaxHistorySize)
	if err != nil {
		return res, false, fmt.Errorf("open history: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if format, err := detectFormat(br); err != nil || format != FormatNDJSON {
		return res, false, nil // CheckFile reports what it is
	}
	var ops []workload.HistoryOp
	if err := workload.ReadHistory(br, func(h workload.HistoryOp) error {
		crdt = crdt || h.CRDT != ""
		ops = append(ops, h)
		return nil
	}); err != nil || !crdt {
		return res, false, nil
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(path), CRDTFinalFile))
	if err != nil {
		res = CheckConverges(ops, nil)
		res.Verdict = Inconclusive
		res.Detail = fmt.Sprintf("converges needs the read-back of the run, %s beside the history: %v", CRDTFinalFile, err)
		return res, true, nil
	}
	var finals []CRDTFinal
	if err := json.Unmarshal(b, &finals); err != nil {
		return res, true, fmt.Errorf("read %s: %w", CRDTFinalFile, err)
	}
	return CheckConverges(ops, finals), true, nil
}

// CRDTAnomaly is one thing the converges check flags.
type CRDTAnomaly struct {
	Kind   string `json:"kind"`
	Type   string `json:"type"`
	Key    string `json:"key"`
	Detail string `json:"detail"`
}

func (a CRDTAnomaly) String() string {
	return fmt.Sprintf("%s: %s %s: %s", a.Kind, a.Type, a.Key, a.Detail)
}

// ConvergesResult is the verdict of CheckConverges.
type ConvergesResult struct {
	Verdict      Verdict
	Values       int // CRDT values updated by the history
	Acknowledged int // updates acknowledged as ok
	Unknown      int // updates of unknown outcome
	Unread       int // values some home replica of which could not be read
	ByKind       map[string]int
	Anomalies    []CRDTAnomaly // the first MaxListed
	Detail       string
}

// CheckConverges judges the CRDT values a counter or set workload updated
// (ops: its history; incr, add and remove operations) against every home
// replica's copy of each, read after the faults were reverted and the
// cluster settled (finals). It fails when:
//
//   - two home replicas of a value hold different states (diverged);
//   - a counter's value is outside [A + U⁻, A + U⁺], where A is the sum of
//     the acknowledged deltas and U⁻ and U⁺ the sums of the negative and
//     positive deltas of unknown outcome (each may or may not have taken
//     effect; a failed update has none);
//   - a set lacks an element e although some acknowledged add of e was not
//     possibly observed by any remove of e: an OR-set's remove deletes only
//     the adds its coordinator saw, which it can have seen only if the add
//     began before the remove ended, and only if the remove may have taken
//     effect (ok or unknown) (lost-add);
//   - a set holds an element that no add of outcome ok or unknown added
//     (phantom-element).
//
// An element present although an acknowledged remove followed every add is
// NOT a failure: in the eventual mode a remove reads one replica, which may
// not yet hold the adds. A value with a home replica that could not be read,
// or not read back at all, makes the check inconclusive unless something
// else fails it. Reads are not judged.
func CheckConverges(ops []workload.HistoryOp, finals []CRDTFinal) ConvergesResult {
	type id struct{ typ, key string }
	updates := map[id][]workload.HistoryOp{}
	res := ConvergesResult{ByKind: map[string]int{}}
	for _, op := range ops {
		if op.CRDT == "" || !op.Op.IsWrite() {
			continue
		}
		k := id{op.CRDT, op.Key}
		updates[k] = append(updates[k], op)
		switch op.Outcome {
		case workload.OutcomeOK:
			res.Acknowledged++
		case workload.OutcomeUnknown:
			res.Unknown++
		}
	}
	byID := map[id]CRDTFinal{}
	for _, f := range finals {
		byID[id{f.Type, f.Key}] = f
	}
	ids := make([]id, 0, len(updates))
	for k := range updates {
		ids = append(ids, k)
	}
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].typ != ids[j].typ {
			return ids[i].typ < ids[j].typ
		}
		return ids[i].key < ids[j].key
	})
	res.Values = len(ids)
	flag := func(kind string, k id, format string, args ...any) {
		res.ByKind[kind]++
		if len(res.Anomalies) < MaxListed {
			res.Anomalies = append(res.Anomalies, CRDTAnomaly{Kind: kind, Type: k.typ, Key: k.key, Detail: fmt.Sprintf(format, args...)})
		}
	}
	for _, k := range ids {
		f, ok := byID[k]
		if !ok || len(f.Replicas) == 0 || slices.ContainsFunc(f.Replicas, func(r CRDTReplica) bool { return r.Err != "" }) {
			res.Unread++
			continue
		}
		if states := replicaStates(k.typ, f.Replicas); len(states) > 1 {
			flag(AnomalyDiverged, k, "the home replicas hold %s", strings.Join(states, "; "))
			continue
		}
		first := f.Replicas[0]
		switch k.typ {
		case "counter", "lww-counter":
			judgeCounter(updates[k], first.Value, func(format string, args ...any) { flag(AnomalyCounterOutOfRange, k, format, args...) })
		case "set":
			judgeSet(updates[k], first.Elements, func(kind, format string, args ...any) { flag(kind, k, format, args...) })
		}
	}
	anomalies := 0
	for _, n := range res.ByKind {
		anomalies += n
	}
	switch {
	case anomalies > 0:
		res.Verdict = Fail
		res.Detail = fmt.Sprintf("%d anomalies in %d CRDT values (%d acknowledged updates, %d unknown)", anomalies, res.Values, res.Acknowledged, res.Unknown)
	case res.Values == 0:
		res.Verdict, res.Detail = Inconclusive, "no CRDT value was updated"
	case res.Unread > 0:
		res.Verdict = Inconclusive
		res.Detail = fmt.Sprintf("%d of %d CRDT values could not be read on every home replica", res.Unread, res.Values)
	default:
		res.Verdict = Pass
		res.Detail = fmt.Sprintf("%d CRDT values converged on every home replica to the effect of %d acknowledged updates (%d of unknown outcome)", res.Values, res.Acknowledged, res.Unknown)
	}
	return res
}

// replicaStates lists the distinct states of the replicas ("node: state").
func replicaStates(typ string, replicas []CRDTReplica) []string {
	byState := map[string][]string{}
	for _, r := range replicas {
		s := fmt.Sprint(r.Value)
		if typ == "set" {
			s = "[" + strings.Join(r.Elements, " ") + "]"
		}
		byState[s] = append(byState[s], r.Node)
	}
	if len(byState) == 1 {
		return nil
	}
	var out []string
	for s, nodes := range byState {
		out = append(out, strings.Join(nodes, ",")+": "+s)
	}
	sort.Strings(out)
	return out
}

func judgeCounter(ups []workload.HistoryOp, value int64, flag func(string, ...any)) {
	var acked, lo, hi int64
	for _, op := range ups {
		if op.Op != workload.OpIncr || op.Delta == nil {
			continue
		}
		d := *op.Delta
		switch op.Outcome {
		case workload.OutcomeOK:
			acked += d
		case workload.OutcomeUnknown:
			if d < 0 {
				lo += d
			} else {
				hi += d
			}
		}
	}
	if value < acked+lo || value > acked+hi {
		flag("value %d; the acknowledged deltas sum to %d and those of unknown outcome allow [%d, %d]", value, acked, acked+lo, acked+hi)
	}
}

func judgeSet(ups []workload.HistoryOp, elements []string, flag func(kind, format string, args ...any)) {
	present := map[string]bool{}
	for _, e := range elements {
		present[e] = true
	}
	adds, removes := map[string][]workload.HistoryOp{}, map[string][]workload.HistoryOp{}
	for _, op := range ups {
		if op.Element == nil || op.Outcome == workload.OutcomeFail {
			continue
		}
		switch op.Op {
		case workload.OpAdd:
			adds[*op.Element] = append(adds[*op.Element], op)
		case workload.OpRemove:
			removes[*op.Element] = append(removes[*op.Element], op)
		}
	}
	for _, e := range elements {
		if len(adds[e]) == 0 {
			flag(AnomalyPhantomElement, "holds %q, which no add that may have taken effect added", e)
		}
	}
	elems := make([]string, 0, len(adds))
	for e := range adds {
		elems = append(elems, e)
	}
	sort.Strings(elems)
	for _, e := range elems {
		if present[e] {
			continue
		}
		for _, a := range adds[e] {
			if a.Outcome != workload.OutcomeOK {
				continue
			}
			observed := slices.ContainsFunc(removes[e], func(r workload.HistoryOp) bool {
				return completeOf(r) > a.Invoke
			})
			if !observed {
				flag(AnomalyLostAdd, "lacks %q, acknowledged by add op %d, which no remove of %q can have observed", e, a.ID, e)
				break
			}
		}
	}
}

// completeOf is when an operation ended, +∞ for one of unknown outcome.
func completeOf(op workload.HistoryOp) int64 {
	if op.Complete == nil || op.Outcome == workload.OutcomeUnknown {
		return math.MaxInt64
	}
	return *op.Complete
}
