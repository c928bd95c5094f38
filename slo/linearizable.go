package slo

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Verdict is the three-valued result of a judgement.
type Verdict string

// Verdicts. "No data" is inconclusive, never pass.
const (
	Pass         Verdict = "pass"
	Fail         Verdict = "fail"
	Inconclusive Verdict = "inconclusive"
)

// OpKind is what an operation did.
type OpKind string

// Operation kinds of the key-value register.
const (
	OpGet    OpKind = "get"
	OpPut    OpKind = "put"
	OpDelete OpKind = "delete"
	// OpCAS sets the key to Value if it holds Expect (nil Expect: absent).
	OpCAS OpKind = "cas"
)

// Outcome is what the client learned of an operation.
type Outcome string

// Outcomes. Fail is definite (no effect); Unknown may have taken effect.
const (
	OutcomeOK      Outcome = "ok"
	OutcomeFail    Outcome = "fail"
	OutcomeUnknown Outcome = "unknown"
	// OutcomeRejected is a cas that completed and reported that the key did
	// not hold the expected value: no effect, but an observation of the state
	// (Jepsen's `:fail :cas` in the etcd register logs).
	OutcomeRejected Outcome = "rejected"
)

// Op is one operation of a key-value history. Times are nanoseconds on one
// monotonic clock (or any other increasing counter, such as line numbers);
// Value is the value written, or for a get the value read (nil: not found).
// Expect is a cas's expected old value (nil: absent).
type Op struct {
	ID       uint64
	Client   int
	Kind     OpKind
	Key      string
	Value    *string
	Expect   *string
	Invoke   int64
	Complete int64
	Outcome  Outcome
}

// LinearizabilityResult is the verdict of CheckLinearizable with its figures.
type LinearizabilityResult struct {
	Verdict    Verdict
	Format     HistoryFormat // set by CheckFile
	Operations int           // operations given to the checker
	Keys       int           // distinct keys
	// Reduced counts what the checker left out of the search, or
	// constrained, before it began (see Reduced); History holds the
	// reduced history.
	Reduced Reduced
	Took    time.Duration
	Budget  time.Duration
	BadKeys []string // keys whose history cannot be linearized (the first MaxListed)
	// Violations explains the first MaxListed bad keys, in the order of
	// BadKeys.
	Violations []Violation
	Detail     string
	Info       porcupine.LinearizationInfo
	Model      porcupine.Model
	History    []porcupine.Operation
}

// Violation is where the operations of one key stop having a legal order:
// the longest order porcupine found covers Linearized of KeyOperations
// operations, leaving the key in State; Stuck is the first operation (by
// completion) that cannot come next, and Window holds it, the operations
// still unordered that were invoked before it completed (the candidates that
// could have come next) and the last ordered operation (which produced State),
// sorted by invocation.
type Violation struct {
	Key           string
	KeyOperations int
	Linearized    int
	State         string
	Stuck         WindowOp
	Window        []WindowOp
}

// WindowOp is one operation of a violation window.
type WindowOp struct {
	ID          uint64 // the operation's id (for Jepsen logs: the invoke's line number)
	Client      int
	Invoke      int64
	Complete    int64 // math.MaxInt64: never completed (unknown outcome)
	Description string
	Linearized  bool // part of the longest legal order found
}

// String renders the operation for a report line.
func (w WindowOp) String() string {
	end := fmt.Sprint(w.Complete)
	if w.Complete == math.MaxInt64 {
		end = "open"
	}
	return fmt.Sprintf("op %d client %d [%d, %s] %s", w.ID, w.Client, w.Invoke, end, w.Description)
}

// maxWindow bounds the operations a violation window lists.
const maxWindow = 12

type regInput struct {
	kind        OpKind
	key         string
	value       string
	expect      string
	expectFound bool
}

type regOutput struct {
	found bool
	value string
	// cas: swapped (ok), rejected (neither), or unknown.
	swapped bool
	unknown bool
}

type regState struct {
	found bool
	value string
}

// opMeta travels with each porcupine operation so that windows can name it;
// closed marks an unknown write whose end closeObserved set.
type opMeta struct {
	id     uint64
	closed bool
}

// partitionByKey splits a history by key, keys in sorted order, each part in
// history order. It sizes every part first: histories of 100k operations are
// partitioned several times per check.
func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	index := map[string]int{}
	var keys []string
	var sizes []int
	for _, op := range history {
		k := op.Input.(regInput).key
		i, ok := index[k]
		if !ok {
			i = len(keys)
			index[k] = i
			keys = append(keys, k)
			sizes = append(sizes, 0)
		}
		sizes[i]++
	}
	parts := make([][]porcupine.Operation, len(keys))
	for i, n := range sizes {
		parts[i] = make([]porcupine.Operation, 0, n)
	}
	for _, op := range history {
		i := index[op.Input.(regInput).key]
		parts[i] = append(parts[i], op)
	}
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return keys[order[a]] < keys[order[b]] })
	out := make([][]porcupine.Operation, len(keys))
	for i, j := range order {
		out[i] = parts[j]
	}
	return out
}

// RegisterModel is the porcupine model of a key-value store where every key is
// an independent register supporting put, get, delete and cas.
var RegisterModel = porcupine.Model{
	Partition: partitionByKey,
	Init:      func() any { return regState{} },
	Step: func(state, input, output any) (bool, any) {
		s, in := state.(regState), input.(regInput)
		switch in.kind {
		case OpPut:
			return true, regState{found: true, value: in.value}
		case OpDelete:
			return true, regState{}
		case OpCAS:
			out := output.(regOutput)
			match := s.found == in.expectFound && (!s.found || s.value == in.expect)
			next := s
			if match {
				next = regState{found: true, value: in.value}
			}
			switch {
			case out.unknown:
				return true, next
			case out.swapped:
				return match, next
			default:
				return !match, s
			}
		default:
			out := output.(regOutput)
			return out.found == s.found && (!s.found || out.value == s.value), s
		}
	},
	Equal: func(a, b any) bool { return a.(regState) == b.(regState) },
	DescribeOperation: func(input, output any) string {
		in := input.(regInput)
		out, _ := output.(regOutput)
		key := in.key
		if key != "" {
			key += ", "
		}
		switch in.kind {
		case OpPut:
			return fmt.Sprintf("put(%s%q)", key, in.value)
		case OpDelete:
			return fmt.Sprintf("delete(%s)", in.key)
		case OpCAS:
			expect := "∅"
			if in.expectFound {
				expect = fmt.Sprintf("%q", in.expect)
			}
			result := "rejected"
			switch {
			case out.unknown:
				result = "unknown"
			case out.swapped:
				result = "ok"
			}
			return fmt.Sprintf("cas(%s%s → %q) → %s", key, expect, in.value, result)
		}
		if !out.found {
			return fmt.Sprintf("get(%s) → not found", in.key)
		}
		return fmt.Sprintf("get(%s) → %q", in.key, out.value)
	},
	DescribeOperationMetadata: func(info any) string {
		if m, ok := info.(opMeta); ok {
			if m.closed {
				return fmt.Sprintf("op %d (unknown outcome; end set to its first observer's)", m.id)
			}
			return fmt.Sprintf("op %d", m.id)
		}
		return ""
	},
	DescribeState: func(state any) string {
		s := state.(regState)
		if !s.found {
			return "∅"
		}
		return fmt.Sprintf("%q", s.value)
	},
}

// ToPorcupine converts a history for the register model: failed operations are
// dropped (they had no effect), reads of unknown outcome are dropped (they
// observed nothing), writes of unknown outcome get an open end (they may take
// effect at any time after their invocation). A rejected cas is kept: it
// observed that the key did not hold the expected value.
func ToPorcupine(ops []Op) []porcupine.Operation {
	out := make([]porcupine.Operation, 0, len(ops))
	for _, op := range ops {
		if op.Outcome == OutcomeFail || (op.Kind == OpGet && op.Outcome != OutcomeOK) {
			continue
		}
		in := regInput{kind: op.Kind, key: op.Key}
		var o regOutput
		switch op.Kind {
		case OpGet:
			if op.Value != nil {
				o = regOutput{found: true, value: *op.Value}
			}
		case OpCAS:
			if op.Expect != nil {
				in.expect, in.expectFound = *op.Expect, true
			}
			o.swapped = op.Outcome == OutcomeOK
			o.unknown = op.Outcome == OutcomeUnknown
		}
		if op.Kind != OpGet && op.Value != nil {
			in.value = *op.Value
		}
		ret := op.Complete
		if op.Outcome == OutcomeUnknown {
			ret = math.MaxInt64
		}
		out = append(out, porcupine.Operation{ClientId: op.Client, Input: in, Call: op.Invoke,
			Output: o, Return: ret, Metadata: opMeta{id: op.ID}})
	}
	return out
}

// CheckLinearizable checks ops against the register model within budget. A
// check that runs out of time is inconclusive; a history with no operations
// is inconclusive. On a violation the result names the bad keys and explains
// each in Violations. Operations counts the operations that carry
// information (all but failed writes and unanswered reads); the search runs
// on fewer (Reduced.Searched), see Reduced.
func CheckLinearizable(ops []Op, budget time.Duration) LinearizabilityResult {
	history := ToPorcupine(ops)
	keys := map[string]struct{}{}
	var red Reduced
	for _, op := range ops {
		keys[op.Key] = struct{}{}
		switch {
		case op.Kind == OpGet && op.Outcome != OutcomeOK:
			red.UnansweredReads++
		case op.Kind != OpGet && op.Outcome == OutcomeFail:
			red.FailedWrites++
		}
	}
	operations := len(history)
	if operations == 0 {
		return LinearizabilityResult{Verdict: Inconclusive, Detail: "no operations to check", Keys: len(keys),
			Model: RegisterModel, Budget: budget, Reduced: red}
	}
	// The reduced history may be empty (only unknown writes nobody
	// observed): as linearizable as the original, so it passes.
	res := checkHistory(reduce(history, &red), len(keys), budget)
	res.Operations, res.Reduced = operations, red
	switch res.Verdict {
	case Pass:
		res.Detail = fmt.Sprintf("%d operations on %d keys are linearizable (%s)", res.Operations, res.Keys, red)
	case Inconclusive:
		res.Detail = fmt.Sprintf("check of %d operations on %d keys did not finish within %s (%s)", res.Operations, res.Keys, budget, red)
	}
	return res
}

// checkHistory runs porcupine on history within budget.
func checkHistory(history []porcupine.Operation, keys int, budget time.Duration) LinearizabilityResult {
	res := LinearizabilityResult{Operations: len(history), Keys: keys, Model: RegisterModel, History: history, Budget: budget}
	start := time.Now()
	check, info := porcupine.CheckOperationsVerbose(RegisterModel, history, budget)
	res.Took, res.Info = time.Since(start), info
	switch check {
	case porcupine.Ok:
		res.Verdict = Pass
		res.Detail = fmt.Sprintf("%d operations on %d keys are linearizable", res.Operations, res.Keys)
	case porcupine.Illegal:
		res.Verdict = Fail
		res.Violations = violations(RegisterModel.Partition(history), info.PartialLinearizations())
		for _, v := range res.Violations {
			res.BadKeys = append(res.BadKeys, v.Key)
		}
		res.Detail = "not linearizable"
		if len(res.Violations) > 0 {
			res.Detail = fmt.Sprintf("not linearizable: %d of %d keys have no valid order of operations; %s",
				len(res.BadKeys), res.Keys, res.Violations[0].String())
		}
	default:
		res.Verdict = Inconclusive
		res.Detail = fmt.Sprintf("check of %d operations on %d keys did not finish within %s", res.Operations, res.Keys, budget)
	}
	return res
}

// String explains the violation in one paragraph.
func (v Violation) String() string {
	var b strings.Builder
	key := fmt.Sprintf("key %q", v.Key)
	if v.Key == "" {
		key = "the register"
	}
	fmt.Fprintf(&b, "%s: the longest legal order covers %d of %d operations, leaving %s; %s cannot come next",
		key, v.Linearized, v.KeyOperations, v.State, v.Stuck)
	var others []string
	for _, w := range v.Window {
		if w.ID != v.Stuck.ID {
			others = append(others, w.String())
		}
	}
	if len(others) > 0 {
		fmt.Fprintf(&b, "; window: %s", strings.Join(others, "; "))
	}
	return b.String()
}

// violations explains every partition whose longest partial linearization
// does not cover it, up to MaxListed.
func violations(parts [][]porcupine.Operation, partials [][][]int) []Violation {
	var out []Violation
	for i, part := range parts {
		if i >= len(partials) {
			break
		}
		longest := longestPartial(partials[i])
		if len(longest) >= len(part) {
			continue
		}
		out = append(out, explain(part, longest))
		if len(out) >= MaxListed {
			break
		}
	}
	return out
}

// longestPartial picks the longest partial linearization, ties broken by the
// smaller sequence so that the choice does not depend on map order.
func longestPartial(partials [][]int) []int {
	var best []int
	for _, p := range partials {
		if len(p) > len(best) || (len(p) == len(best) && lessInts(p, best)) {
			best = p
		}
	}
	return best
}

func lessInts(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// explain builds the violation window of one key from its longest partial
// linearization.
func explain(part []porcupine.Operation, longest []int) Violation {
	in := make([]bool, len(part))
	state := RegisterModel.Init()
	for _, id := range longest {
		in[id] = true
		_, state = RegisterModel.Step(state, part[id].Input, part[id].Output)
	}
	windowOp := func(id int) WindowOp {
		op := part[id]
		m, _ := op.Metadata.(opMeta)
		desc := RegisterModel.DescribeOperation(op.Input, op.Output)
		if m.closed {
			desc += " (unknown outcome; its value was read, so it ends with the first read of it)"
		}
		return WindowOp{ID: m.id, Client: op.ClientId, Invoke: op.Call, Complete: op.Return,
			Description: desc, Linearized: in[id]}
	}
	stuck := -1
	for id, op := range part {
		if in[id] {
			continue
		}
		if stuck < 0 || op.Return < part[stuck].Return || (op.Return == part[stuck].Return && op.Call < part[stuck].Call) {
			stuck = id
		}
	}
	v := Violation{Key: part[0].Input.(regInput).key, KeyOperations: len(part), Linearized: len(longest),
		State: RegisterModel.DescribeState(state)}
	if stuck < 0 {
		return v
	}
	v.Stuck = windowOp(stuck)
	ids := []int{stuck}
	seen := map[int]bool{stuck: true}
	add := func(id int) {
		if !seen[id] && len(ids) < maxWindow {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	// The last ordered operations, which produced the state.
	for i := len(longest) - 1; i >= 0 && i >= len(longest)-3; i-- {
		add(longest[i])
	}
	// For a read (or a rejected cas), the latest writes of the value it saw:
	// why they cannot be the last write before it.
	if in, out := part[stuck].Input.(regInput), part[stuck].Output.(regOutput); in.kind == OpGet && out.found {
		var writers []int
		for id, op := range part {
			w := op.Input.(regInput)
			if (w.kind == OpPut || w.kind == OpCAS) && w.value == out.value && op.Call <= part[stuck].Return {
				writers = append(writers, id)
			}
		}
		sort.Slice(writers, func(a, b int) bool { return part[writers[a]].Call > part[writers[b]].Call })
		for i := 0; i < len(writers) && i < 2; i++ {
			add(writers[i])
		}
	}
	// The other candidates for the next place, closest to the stuck
	// operation first.
	var candidates []int
	for id, op := range part {
		if !in[id] && id != stuck && op.Call <= part[stuck].Return {
			candidates = append(candidates, id)
		}
	}
	sort.Slice(candidates, func(a, b int) bool { return part[candidates[a]].Call > part[candidates[b]].Call })
	for _, id := range candidates {
		add(id)
	}
	sort.Slice(ids, func(a, b int) bool { return part[ids[a]].Call < part[ids[b]].Call })
	for _, id := range ids {
		v.Window = append(v.Window, windowOp(id))
	}
	return v
}
