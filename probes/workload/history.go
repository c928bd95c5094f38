package workload

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// HistoryOp is one line of history.ndjson:
//
//	{"id":17,"client":3,"op":"put","key":"k42","value":"v-3-17-xxxx","expect":null,
//	 "invoke":1234567,"complete":1250000,"outcome":"ok"}
//
// Times are nanoseconds since the workload start; Invoke is the actual send time
// (not the intended one). Value is the value written by a put, or the value read
// by a get (null when the key was not found or the get failed); a delete has
// null. Expect is a cas's expected old value, null otherwise.
//
// Complete is when the client stopped waiting, or null for an operation that was
// still open when the run ended. An "unknown" outcome means the operation may
// take effect at any time after Invoke, also after Complete: a checker must treat
// it as possibly concurrent with everything that follows.
//
// Lines are written in completion order, not ID order. Values are written as
// JSON strings; bytes that are not valid UTF-8 (a corrupted value) are written
// as U+FFFD, which still differs from every value that was written.
type HistoryOp struct {
	ID       uint64  `json:"id"`
	Client   int     `json:"client"`
	Op       OpKind  `json:"op"`
	Key      string  `json:"key"`
	Value    *string `json:"value"`
	Expect   *string `json:"expect"`
	Invoke   int64   `json:"invoke"`
	Complete *int64  `json:"complete"`
	Outcome  Outcome `json:"outcome"`
	// CRDT is the type of the CRDT value an operation of a counter or set
	// workload acts on (counter, set); absent for the key-value API. A get
	// of a CRDT value records what it read as Value (the JSON the API
	// answered).
	CRDT string `json:"crdt,omitempty"`
	// Delta is what an incr added to its counter.
	Delta *int64 `json:"delta,omitempty"`
	// Element is what an add or remove added to or removed from its set.
	Element *string `json:"element,omitempty"`
}

// historyEncoder turns operations into lines. Each worker has its own, so that
// encoding happens outside the workload's lock.
type historyEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newHistoryEncoder() *historyEncoder {
	e := &historyEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}

// line encodes op as one JSON line (with its newline). The slice is valid until
// the next call.
func (e *historyEncoder) line(op *HistoryOp) ([]byte, error) {
	e.buf.Reset()
	if err := e.enc.Encode(op); err != nil {
		return nil, fmt.Errorf("encode history operation %d: %w", op.ID, err)
	}
	return e.buf.Bytes(), nil
}

// historyWriter streams lines to an io.Writer through a buffer. The first write
// error sticks; later lines are discarded. Not safe for concurrent use.
type historyWriter struct {
	bw  *bufio.Writer
	err error
}

func newHistoryWriter(w io.Writer) *historyWriter {
	return &historyWriter{bw: bufio.NewWriterSize(w, 64<<10)}
}

func (h *historyWriter) write(line []byte) {
	if h.err != nil {
		return
	}
	if _, err := h.bw.Write(line); err != nil {
		h.err = fmt.Errorf("write history: %w", err)
	}
}

func (h *historyWriter) flush() error {
	if h.err != nil {
		return h.err
	}
	if err := h.bw.Flush(); err != nil {
		h.err = fmt.Errorf("flush history: %w", err)
	}
	return h.err
}

// rawHistoryOp has pointers so that missing fields can be told from zeros.
type rawHistoryOp struct {
	ID       *uint64  `json:"id"`
	Client   *int     `json:"client"`
	Op       *OpKind  `json:"op"`
	Key      *string  `json:"key"`
	Value    *string  `json:"value"`
	Expect   *string  `json:"expect"`
	Invoke   *int64   `json:"invoke"`
	Complete *int64   `json:"complete"`
	Outcome  *Outcome `json:"outcome"`
	CRDT     string   `json:"crdt"`
	Delta    *int64   `json:"delta"`
	Element  *string  `json:"element"`
}

// ErrStopReading may be returned by a ReadHistory callback to stop early without
// an error.
var ErrStopReading = errors.New("stop reading history")

// ReadHistory streams a history written by a workload (or any file in the same
// format) and calls fn for every operation, in file order. Blank lines are
// skipped; unknown fields are ignored, so that later versions may add fields.
// Errors name the line. fn may return ErrStopReading to stop without error.
func ReadHistory(r io.Reader, fn func(HistoryOp) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		b, readErr := br.ReadBytes('\n')
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return fmt.Errorf("read history line %d: %w", line, readErr)
		}
		if b = bytes.TrimSpace(b); len(b) > 0 {
			op, err := parseHistoryLine(b)
			if err != nil {
				return fmt.Errorf("history line %d: %w", line, err)
			}
			if err := fn(op); err != nil {
				if errors.Is(err, ErrStopReading) {
					return nil
				}
				return fmt.Errorf("history line %d: %w", line, err)
			}
		}
		if readErr != nil {
			return nil
		}
	}
}

func parseHistoryLine(b []byte) (HistoryOp, error) {
	var raw rawHistoryOp
	if err := json.Unmarshal(b, &raw); err != nil {
		return HistoryOp{}, fmt.Errorf("decode operation: %w", err)
	}
	switch {
	case raw.ID == nil:
		return HistoryOp{}, errors.New(`missing "id"`)
	case raw.Client == nil:
		return HistoryOp{}, errors.New(`missing "client"`)
	case raw.Op == nil:
		return HistoryOp{}, errors.New(`missing "op"`)
	case raw.Key == nil:
		return HistoryOp{}, errors.New(`missing "key"`)
	case raw.Invoke == nil:
		return HistoryOp{}, errors.New(`missing "invoke"`)
	case raw.Outcome == nil:
		return HistoryOp{}, errors.New(`missing "outcome"`)
	case raw.Complete == nil && *raw.Outcome != OutcomeUnknown:
		return HistoryOp{}, fmt.Errorf(`operation %d: outcome %q needs a "complete" time`, *raw.ID, *raw.Outcome)
	case raw.Complete != nil && *raw.Complete < *raw.Invoke:
		return HistoryOp{}, fmt.Errorf("operation %d: complete %d is before invoke %d", *raw.ID, *raw.Complete, *raw.Invoke)
	case *raw.Op == OpIncr && raw.Delta == nil:
		return HistoryOp{}, fmt.Errorf(`operation %d: an incr needs a "delta"`, *raw.ID)
	case (*raw.Op == OpAdd || *raw.Op == OpRemove) && raw.Element == nil:
		return HistoryOp{}, fmt.Errorf(`operation %d: an %s needs an "element"`, *raw.ID, *raw.Op)
	}
	return HistoryOp{
		ID: *raw.ID, Client: *raw.Client, Op: *raw.Op, Key: *raw.Key,
		Value: raw.Value, Expect: raw.Expect,
		Invoke: *raw.Invoke, Complete: raw.Complete, Outcome: *raw.Outcome,
		CRDT: raw.CRDT, Delta: raw.Delta, Element: raw.Element,
	}, nil
}
