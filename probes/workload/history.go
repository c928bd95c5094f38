package workload

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
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
// The lock workload adds, on its lines only: lock (the lock's name) and
// token on acquire, renew and release (the token granted, renewed or given
// back) and on its puts to the protected resource (the token the client held
// when it wrote, whether or not it sent it), fenced on those puts (the token
// went in X-Fencing-Token), and lease (nanoseconds) on acquire and renew.
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
	// The lock workload's fields (see above); absent elsewhere.
	Lock   string `json:"lock,omitempty"`
	Token  *int64 `json:"token,omitempty"`
	Fenced bool   `json:"fenced,omitempty"`
	Lease  int64  `json:"lease,omitempty"`
}

// historyRecord is one operation as the workload writes it: a HistoryOp
// without pointers, so that writing the common line allocates nothing.
type historyRecord struct {
	id                  uint64
	client              int
	op                  OpKind
	key                 string
	value, expect       []byte // written when hasValue, hasExpect; else null
	hasValue, hasExpect bool
	invoke, complete    int64 // complete written when hasComplete; else null
	hasComplete         bool
	outcome             Outcome
	// A CRDT workload's fields (HistoryOp's CRDT, Delta, Element); a line
	// with them is written by encoding/json.
	crdt    string
	delta   *int64
	element *string
}

// recordOf is h as a historyRecord.
func recordOf(h *HistoryOp) historyRecord {
	r := historyRecord{id: h.ID, client: h.Client, op: h.Op, key: h.Key, invoke: h.Invoke, outcome: h.Outcome,
		crdt: h.CRDT, delta: h.Delta, element: h.Element}
	if h.Value != nil {
		r.value, r.hasValue = []byte(*h.Value), true
	}
	if h.Expect != nil {
		r.expect, r.hasExpect = []byte(*h.Expect), true
	}
	if h.Complete != nil {
		r.complete, r.hasComplete = *h.Complete, true
	}
	return r
}

// historyOp is r as a HistoryOp.
func (r *historyRecord) historyOp() *HistoryOp {
	h := &HistoryOp{ID: r.id, Client: r.client, Op: r.op, Key: r.key, Invoke: r.invoke, Outcome: r.outcome,
		CRDT: r.crdt, Delta: r.delta, Element: r.element}
	if r.hasValue {
		v := string(r.value)
		h.Value = &v
	}
	if r.hasExpect {
		e := string(r.expect)
		h.Expect = &e
	}
	if r.hasComplete {
		c := r.complete
		h.Complete = &c
	}
	return h
}

// plain reports whether r's line can be written without encoding/json: its
// kind and outcome are valid and its strings need no escaping.
func (r *historyRecord) plain() bool {
	return r.op >= OpGet && r.op <= OpCAS && r.crdt == "" && r.outcome <= OutcomeFail &&
		plainJSON(r.key) && (!r.hasValue || plainJSON(r.value)) && (!r.hasExpect || plainJSON(r.expect))
}

// plainJSON reports whether encoding/json writes s as its bytes between
// quotes: printable ASCII other than '"' and '\\' (with HTML escaping off,
// '<', '>' and '&' are written as they are).
func plainJSON[S string | []byte](s S) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// appendPlainLine appends r's line, byte for byte what encoding/json writes
// for r.historyOp(), to b. r must be plain.
func appendPlainLine(b []byte, r *historyRecord) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, r.id, 10)
	b = append(b, `,"client":`...)
	b = strconv.AppendInt(b, int64(r.client), 10)
	b = append(b, `,"op":"`...)
	b = append(b, r.op.String()...)
	b = append(b, `","key":"`...)
	b = append(b, r.key...)
	b = append(b, `","value":`...)
	b = appendPlainOrNull(b, r.value, r.hasValue)
	b = append(b, `,"expect":`...)
	b = appendPlainOrNull(b, r.expect, r.hasExpect)
	b = append(b, `,"invoke":`...)
	b = strconv.AppendInt(b, r.invoke, 10)
	b = append(b, `,"complete":`...)
	if r.hasComplete {
		b = strconv.AppendInt(b, r.complete, 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"outcome":"`...)
	b = append(b, r.outcome.String()...)
	return append(b, "\"}\n"...)
}

func appendPlainOrNull(b, s []byte, ok bool) []byte {
	if !ok {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// historyEncoder turns operations into lines. Each worker has its own, so that
// encoding happens outside the workload's lock. Lines whose strings need
// escaping go through encoding/json; the rest (every line the generator's own
// keys and values make) are appended directly, the same bytes without the
// reflection and the allocations.
type historyEncoder struct {
	out []byte
	buf bytes.Buffer
	enc *json.Encoder // made on first use
}

func newHistoryEncoder() *historyEncoder { return &historyEncoder{} }

// line encodes r as one JSON line (with its newline). The slice is valid until
// the next call.
func (e *historyEncoder) line(r *historyRecord) ([]byte, error) {
	if r.plain() {
		e.out = appendPlainLine(e.out[:0], r)
		return e.out, nil
	}
	return e.encode(r.historyOp())
}

// encode encodes op with encoding/json.
func (e *historyEncoder) encode(op *HistoryOp) ([]byte, error) {
	if e.enc == nil {
		e.enc = json.NewEncoder(&e.buf)
		e.enc.SetEscapeHTML(false)
	}
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
	Lock     string   `json:"lock"`
	Token    *int64   `json:"token"`
	Fenced   bool     `json:"fenced"`
	Lease    int64    `json:"lease"`
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
		Lock: raw.Lock, Token: raw.Token, Fenced: raw.Fenced, Lease: raw.Lease,
		CRDT: raw.CRDT, Delta: raw.Delta, Element: raw.Element,
	}, nil
}
