package slo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/chaosctl/chaosctl/internal/regularfile"
	"github.com/chaosctl/chaosctl/probes/workload"
)

// HistoryFormat names the format of a history file.
type HistoryFormat string

// History formats CheckFile recognises.
const (
	// FormatNDJSON is chaosctl's history.ndjson (written by chaosctl run).
	FormatNDJSON HistoryFormat = "chaosctl-ndjson"
	// FormatJepsenLog is the log of Jepsen's register tests, as in the
	// published etcd histories:
	//	INFO  jepsen.util - 2	:invoke	:cas	[3 0]
	FormatJepsenLog HistoryFormat = "jepsen-log"
	// FormatEmpty is a file with no content.
	FormatEmpty HistoryFormat = "empty"
)

// jepsenRegisterKey is the key the single register of a Jepsen log is
// checked under.
const jepsenRegisterKey = ""

// MaxHistorySize bounds the history file CheckFile reads: a run of a day
// at a few hundred operations a second stays well within it.
const MaxHistorySize = regularfile.GiB

// CheckFile reads the history at path, detecting its format (chaosctl's
// history.ndjson or a Jepsen register log), and checks it for
// linearizability within budget. An empty file is inconclusive. The NDJSON
// history is streamed, never read into memory whole. Only a regular file of
// at most MaxHistorySize is read: another (a FIFO, a device) or a larger
// one is a *regularfile.Error.
func CheckFile(path string, budget time.Duration) (LinearizabilityResult, error) {
	ops, format, err := ReadHistoryPath(path)
	if err != nil {
		return LinearizabilityResult{}, err
	}
	res := CheckLinearizable(ops, budget)
	res.Format = format
	return res, nil
}

// ReadHistoryPath reads the history at path as CheckFile does (the same
// formats and limits), for the other checkers.
func ReadHistoryPath(path string) ([]Op, HistoryFormat, error) {
	f, err := regularfile.OpenLimited(path, MaxHistorySize)
	if err != nil {
		return nil, "", fmt.Errorf("open history: %w", err)
	}
	defer f.Close()
	ops, format, err := ReadHistoryFile(f)
	if err != nil {
		return nil, format, fmt.Errorf("read history %s: %w", path, err)
	}
	return ops, format, nil
}

// ReadHistoryFile detects the format of r and reads its operations.
func ReadHistoryFile(r io.Reader) ([]Op, HistoryFormat, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	format, err := detectFormat(br)
	if err != nil {
		return nil, "", err
	}
	var ops []Op
	switch format {
	case FormatNDJSON:
		err = workload.ReadHistory(br, func(h workload.HistoryOp) error {
			ops = append(ops, OpFromHistory(h))
			return nil
		})
	case FormatJepsenLog:
		ops, err = ReadJepsenLog(br)
	}
	if err != nil {
		return nil, format, err
	}
	return ops, format, nil
}

// detectFormat looks at the first non-blank bytes without consuming them.
func detectFormat(br *bufio.Reader) (HistoryFormat, error) {
	for size := 512; ; size *= 2 {
		head, err := br.Peek(size)
		trimmed := bytes.TrimLeft(head, " \t\r\n")
		if len(trimmed) > 0 {
			line := trimmed
			if i := bytes.IndexByte(line, '\n'); i >= 0 {
				line = line[:i]
			}
			switch {
			case line[0] == '{' && bytes.Contains(line, []byte(`"`)):
				return FormatNDJSON, nil
			case bytes.Contains(line, []byte(":invoke")) || bytes.Contains(line, []byte("jepsen.util")):
				return FormatJepsenLog, nil
			case bytes.IndexByte(trimmed, '\n') >= 0 || err != nil:
				return "", fmt.Errorf("unknown history format: first line %q is neither a chaosctl history operation nor a Jepsen log line", truncate(string(line), 80))
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return FormatEmpty, nil
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				return "", fmt.Errorf("detect history format: %w", err)
			}
		}
		if size >= br.Size() {
			return "", errors.New("unknown history format: no line break in the first 64 KiB")
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// OpFromHistory converts one recorded operation for the checkers. An
// operation without a completion time gets an open end and an unknown outcome.
func OpFromHistory(h workload.HistoryOp) Op {
	op := Op{ID: h.ID, Client: h.Client, Key: h.Key, Value: h.Value, Expect: h.Expect,
		Invoke: h.Invoke, Outcome: Outcome(h.Outcome.String())}
	switch h.Op {
	case workload.OpGet:
		op.Kind = OpGet
	case workload.OpDelete:
		op.Kind = OpDelete
	case workload.OpCAS:
		op.Kind = OpCAS
	default:
		op.Kind = OpPut
	}
	if h.Complete != nil {
		op.Complete = *h.Complete
	} else {
		op.Complete = math.MaxInt64
		op.Outcome = OutcomeUnknown
	}
	return op
}

// ReadJepsenLog parses the log of a Jepsen register test (one register per
// file, the format of the published etcd histories):
//
//	INFO  jepsen.util - 0	:invoke	:read	nil
//	INFO  jepsen.util - 0	:ok	:read	3
//	INFO  jepsen.util - 2	:invoke	:cas	[3 0]
//	INFO  jepsen.util - 2	:fail	:cas	[3 0]
//	INFO  jepsen.util - 4	:info	:write	:timed-out
//
// Times are line numbers and an operation's ID is the line number of its
// invocation. :ok is a definite success; :info (and an invocation never
// completed) is an unknown outcome with an open end; :fail had no effect, and
// a failed cas also observed that the register did not hold the expected
// value (OutcomeRejected), as porcupine's own tests read these logs. Lines
// that are not operations are skipped.
func ReadJepsenLog(r io.Reader) ([]Op, error) {
	var ops []Op
	open := map[int]int{} // process → index in ops of its pending invocation
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		i := strings.Index(text, "jepsen.util - ")
		if i < 0 {
			continue
		}
		fields := strings.Fields(text[i+len("jepsen.util - "):])
		if len(fields) < 3 || !strings.HasPrefix(fields[1], ":") {
			continue
		}
		proc, err := strconv.Atoi(fields[0])
		if err != nil {
			continue // another jepsen.util message
		}
		typ, f, value := fields[1], fields[2], strings.Join(fields[3:], " ")
		if typ == ":invoke" {
			op, err := jepsenInvocation(f, value)
			if err != nil {
				return nil, fmt.Errorf("jepsen log line %d: %w", line, err)
			}
			if prev, ok := open[proc]; ok {
				ops[prev].Outcome, ops[prev].Complete = OutcomeUnknown, math.MaxInt64
			}
			op.ID, op.Client, op.Key, op.Invoke = uint64(line), proc, jepsenRegisterKey, int64(line)
			open[proc] = len(ops)
			ops = append(ops, op)
			continue
		}
		idx, ok := open[proc]
		if !ok {
			return nil, fmt.Errorf("jepsen log line %d: process %d completes %s without an invocation", line, proc, f)
		}
		delete(open, proc)
		op := &ops[idx]
		if f != ":"+jepsenFunction(op.Kind) {
			return nil, fmt.Errorf("jepsen log line %d: process %d completes %s but invoked %s", line, proc, f, jepsenFunction(op.Kind))
		}
		op.Complete = int64(line)
		switch typ {
		case ":ok":
			op.Outcome = OutcomeOK
			if op.Kind == OpGet {
				if op.Value, err = jepsenValue(value); err != nil {
					return nil, fmt.Errorf("jepsen log line %d: %w", line, err)
				}
			}
		case ":fail":
			op.Outcome = OutcomeFail
			if op.Kind == OpCAS {
				op.Outcome = OutcomeRejected
			}
		case ":info":
			op.Outcome, op.Complete = OutcomeUnknown, math.MaxInt64
		default:
			return nil, fmt.Errorf("jepsen log line %d: unknown operation type %s", line, typ)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read jepsen log after line %d: %w", line, err)
	}
	for _, idx := range open {
		ops[idx].Outcome, ops[idx].Complete = OutcomeUnknown, math.MaxInt64
	}
	return ops, nil
}

func jepsenFunction(k OpKind) string {
	switch k {
	case OpGet:
		return "read"
	case OpPut:
		return "write"
	}
	return string(k)
}

// jepsenInvocation builds the operation of an :invoke line.
func jepsenInvocation(f, value string) (Op, error) {
	switch f {
	case ":read":
		return Op{Kind: OpGet}, nil
	case ":write":
		v, err := jepsenValue(value)
		if err != nil || v == nil {
			return Op{}, fmt.Errorf("write of %q: want a value", value)
		}
		return Op{Kind: OpPut, Value: v}, nil
	case ":cas":
		inner, ok := strings.CutPrefix(value, "[")
		if inner, ok = strings.CutSuffix(inner, "]"); !ok {
			return Op{}, fmt.Errorf("cas of %q: want [old new]", value)
		}
		parts := strings.Fields(inner)
		if len(parts) != 2 {
			return Op{}, fmt.Errorf("cas of %q: want [old new]", value)
		}
		expect, err := jepsenValue(parts[0])
		if err != nil {
			return Op{}, fmt.Errorf("cas of %q: %w", value, err)
		}
		set, err := jepsenValue(parts[1])
		if err != nil || set == nil {
			return Op{}, fmt.Errorf("cas of %q: want a new value", value)
		}
		return Op{Kind: OpCAS, Expect: expect, Value: set}, nil
	}
	return Op{}, fmt.Errorf("unknown function %s (want :read, :write or :cas)", f)
}

// jepsenValue reads a register value: nil, or an EDN scalar kept as text.
func jepsenValue(s string) (*string, error) {
	switch {
	case s == "nil":
		return nil, nil
	case s == "" || strings.HasPrefix(s, ":") || strings.ContainsAny(s, "[]{}() "):
		return nil, fmt.Errorf("value %q is not a register value", s)
	}
	return &s, nil
}

// WriteVisualization writes porcupine's HTML visualisation of res to path.
// For a failed check it shows only the keys that cannot be linearized (their
// operations are checked again within res.Budget), so that the file stays
// small for long runs; otherwise it shows every key.
func WriteVisualization(res LinearizabilityResult, path string) error {
	info := res.Info
	if res.Verdict == Fail && len(res.BadKeys) > 0 && len(res.BadKeys) < res.Keys {
		bad := make(map[string]bool, len(res.BadKeys))
		for _, k := range res.BadKeys {
			bad[k] = true
		}
		var history []porcupine.Operation
		for _, op := range res.History {
			if bad[op.Input.(regInput).key] {
				history = append(history, op)
			}
		}
		_, info = porcupine.CheckOperationsVerbose(res.Model, history, res.Budget)
	}
	if err := porcupine.VisualizePath(res.Model, info, path); err != nil {
		return fmt.Errorf("write linearizability visualisation %s: %w", path, err)
	}
	return nil
}
