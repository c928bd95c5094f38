package slo

import (
	"fmt"
	"math"
	"sort"
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
)

// Outcome is what the client learned of an operation.
type Outcome string

// Outcomes. Fail is definite (no effect); Unknown may have taken effect.
const (
	OutcomeOK      Outcome = "ok"
	OutcomeFail    Outcome = "fail"
	OutcomeUnknown Outcome = "unknown"
)

// Op is one operation of a key-value history. Times are nanoseconds on one
// monotonic clock; Value is the value written, or for a get the value read
// (nil: not found).
type Op struct {
	ID       uint64
	Client   int
	Kind     OpKind
	Key      string
	Value    *string
	Invoke   int64
	Complete int64
	Outcome  Outcome
}

// LinearizabilityResult is the verdict of CheckLinearizable with its figures.
type LinearizabilityResult struct {
	Verdict    Verdict
	Operations int      // operations given to the checker
	Keys       int      // distinct keys
	Took       time.Duration
	BadKeys    []string // keys whose history cannot be linearized
	Detail     string
	Info       porcupine.LinearizationInfo
	Model      porcupine.Model
	History    []porcupine.Operation
}

type regInput struct {
	kind  OpKind
	key   string
	value string
}

type regOutput struct {
	found bool
	value string
}

type regState struct {
	found bool
	value string
}

// RegisterModel is the porcupine model of a key-value store where every key is
// an independent register supporting put, get and delete.
var RegisterModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(regInput).key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return regState{} },
	Step: func(state, input, output any) (bool, any) {
		s, in := state.(regState), input.(regInput)
		switch in.kind {
		case OpPut:
			return true, regState{found: true, value: in.value}
		case OpDelete:
			return true, regState{}
		default:
			out := output.(regOutput)
			return out.found == s.found && (!s.found || out.value == s.value), s
		}
	},
	Equal: func(a, b any) bool { return a.(regState) == b.(regState) },
	DescribeOperation: func(input, output any) string {
		in := input.(regInput)
		switch in.kind {
		case OpPut:
			return fmt.Sprintf("put(%s, %q)", in.key, in.value)
		case OpDelete:
			return fmt.Sprintf("delete(%s)", in.key)
		}
		out, _ := output.(regOutput)
		if !out.found {
			return fmt.Sprintf("get(%s) → not found", in.key)
		}
		return fmt.Sprintf("get(%s) → %q", in.key, out.value)
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
// observed nothing), writes of unknown outcome get an open end.
func ToPorcupine(ops []Op) []porcupine.Operation {
	out := make([]porcupine.Operation, 0, len(ops))
	for _, op := range ops {
		if op.Outcome == OutcomeFail || (op.Kind == OpGet && op.Outcome != OutcomeOK) {
			continue
		}
		in := regInput{kind: op.Kind, key: op.Key}
		var o regOutput
		if op.Value != nil {
			if op.Kind == OpGet {
				o = regOutput{found: true, value: *op.Value}
			} else {
				in.value = *op.Value
			}
		}
		ret := op.Complete
		if op.Outcome == OutcomeUnknown {
			ret = math.MaxInt64
		}
		out = append(out, porcupine.Operation{ClientId: op.Client, Input: in, Call: op.Invoke, Output: o, Return: ret})
	}
	return out
}

// CheckLinearizable checks ops against the register model within budget. A
// check that runs out of time is inconclusive; a history with no operations
// is inconclusive.
func CheckLinearizable(ops []Op, budget time.Duration) LinearizabilityResult {
	history := ToPorcupine(ops)
	keys := map[string]bool{}
	for _, op := range ops {
		keys[op.Key] = true
	}
	res := LinearizabilityResult{Operations: len(history), Keys: len(keys), Model: RegisterModel, History: history}
	if len(history) == 0 {
		res.Verdict, res.Detail = Inconclusive, "no operations to check"
		return res
	}
	start := time.Now()
	check, info := porcupine.CheckOperationsVerbose(RegisterModel, history, budget)
	res.Took, res.Info = time.Since(start), info
	switch check {
	case porcupine.Ok:
		res.Verdict = Pass
		res.Detail = fmt.Sprintf("%d operations on %d keys are linearizable", res.Operations, res.Keys)
	case porcupine.Illegal:
		res.Verdict = Fail
		res.BadKeys = illegalKeys(history, budget)
		res.Detail = fmt.Sprintf("not linearizable: keys %v have no valid order of operations", res.BadKeys)
	default:
		res.Verdict = Inconclusive
		res.Detail = fmt.Sprintf("check did not finish within %s", budget)
	}
	return res
}

// illegalKeys checks each key on its own to name the ones that fail.
func illegalKeys(history []porcupine.Operation, budget time.Duration) []string {
	var bad []string
	for _, part := range RegisterModel.Partition(history) {
		single := RegisterModel
		single.Partition = nil
		if porcupine.CheckOperationsTimeout(single, part, budget) == porcupine.Illegal {
			bad = append(bad, part[0].Input.(regInput).key)
		}
		if len(bad) >= 20 {
			break
		}
	}
	return bad
}
