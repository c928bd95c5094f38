package workload

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestReadHistory(t *testing.T) {
	t.Parallel()
	const design = `{"id": 17, "client": 3, "op": "put", "key": "k42", "value": "v-3-17", "expect": null, "invoke": 1234567, "complete": 1250000, "outcome": "ok"}`
	tests := []struct {
		name    string
		in      string
		wantOps int
		wantErr string // "" for no error
	}{
		{"documented example", design + "\n", 1, ""},
		{"no final newline, blank lines", "\n" + design + "\n\n" + design, 2, ""},
		{"open operation", `{"id":1,"client":0,"op":"put","key":"k1","value":"v","expect":null,"invoke":5,"complete":null,"outcome":"unknown"}`, 1, ""},
		{"unknown field is ignored", `{"id":1,"client":0,"op":"get","key":"k1","value":null,"invoke":5,"complete":6,"outcome":"ok","node":"n1"}`, 1, ""},
		{"cas", `{"id":1,"client":0,"op":"cas","key":"k1","value":"b","expect":"a","invoke":5,"complete":6,"outcome":"fail"}`, 1, ""},
		{"empty", "", 0, ""},
		{"not JSON", design + "\nnot json\n", 1, "history line 2: decode operation"},
		{"unknown op", `{"id":1,"client":0,"op":"read","key":"k1","invoke":5,"complete":6,"outcome":"ok"}`, 0, `unknown op "read"`},
		{"unknown outcome", `{"id":1,"client":0,"op":"get","key":"k1","invoke":5,"complete":6,"outcome":"info"}`, 0, `unknown outcome "info"`},
		{"missing id", `{"client":0,"op":"get","key":"k1","invoke":5,"complete":6,"outcome":"ok"}`, 0, `missing "id"`},
		{"missing key", `{"id":1,"client":0,"op":"get","invoke":5,"complete":6,"outcome":"ok"}`, 0, `missing "key"`},
		{"missing invoke", `{"id":1,"client":0,"op":"get","key":"k1","complete":6,"outcome":"ok"}`, 0, `missing "invoke"`},
		{"ok without complete", `{"id":1,"client":0,"op":"get","key":"k1","invoke":5,"outcome":"ok"}`, 0, `needs a "complete" time`},
		{"complete before invoke", `{"id":1,"client":0,"op":"get","key":"k1","invoke":5,"complete":4,"outcome":"ok"}`, 0, "before invoke"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ops []HistoryOp
			err := ReadHistory(strings.NewReader(tc.in), func(op HistoryOp) error {
				ops = append(ops, op)
				return nil
			})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("ReadHistory: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("ReadHistory: %v, want an error containing %q", err, tc.wantErr)
			}
			if len(ops) != tc.wantOps {
				t.Errorf("%d operations, want %d", len(ops), tc.wantOps)
			}
		})
	}
}

func TestReadHistoryDesignExampleFields(t *testing.T) {
	t.Parallel()
	in := `{"id": 17, "client": 3, "op": "put", "key": "k42", "value": "v-3-17", "expect": null, "invoke": 1234567, "complete": 1250000, "outcome": "ok"}`
	var got HistoryOp
	if err := ReadHistory(strings.NewReader(in), func(op HistoryOp) error { got = op; return nil }); err != nil {
		t.Fatalf("ReadHistory: %v", err)
	}
	if got.ID != 17 || got.Client != 3 || got.Op != OpPut || got.Key != "k42" || got.Value == nil || *got.Value != "v-3-17" ||
		got.Expect != nil || got.Invoke != 1234567 || got.Complete == nil || *got.Complete != 1250000 || got.Outcome != OutcomeOK {
		t.Errorf("parsed %+v", got)
	}
}

func TestReadHistoryCallbackErrors(t *testing.T) {
	t.Parallel()
	in := strings.Repeat(`{"id":1,"client":0,"op":"get","key":"k1","value":null,"invoke":5,"complete":6,"outcome":"ok"}`+"\n", 3)
	n := 0
	if err := ReadHistory(strings.NewReader(in), func(HistoryOp) error { n++; return ErrStopReading }); err != nil || n != 1 {
		t.Errorf("stop: err %v after %d operations, want nil after 1", err, n)
	}
	boom := errors.New("boom")
	err := ReadHistory(strings.NewReader(in), func(HistoryOp) error { return boom })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("callback error: %v, want boom at line 1", err)
	}
}

func TestHistoryRoundTrip(t *testing.T) {
	t.Parallel()
	v, corrupt, complete := "v-1-2-xx", string([]byte{0xff, 'a'}), int64(20)
	ops := []HistoryOp{
		{ID: 2, Client: 1, Op: OpPut, Key: "k1", Value: &v, Invoke: 10, Complete: &complete, Outcome: OutcomeOK},
		{ID: 3, Client: 1, Op: OpGet, Key: "k1", Value: &corrupt, Invoke: 10, Complete: &complete, Outcome: OutcomeOK},
		{ID: 4, Client: 2, Op: OpDelete, Key: `k"\`, Invoke: 10, Outcome: OutcomeUnknown},
	}
	var buf bytes.Buffer
	hw := newHistoryWriter(&buf)
	enc := newHistoryEncoder()
	for i := range ops {
		r := recordOf(&ops[i])
		line, err := enc.line(&r)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		hw.write(line)
	}
	if err := hw.flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	got := readHistoryOps(t, buf.Bytes())
	if len(got) != len(ops) {
		t.Fatalf("read %d operations, want %d", len(got), len(ops))
	}
	for i := range ops {
		want := ops[i]
		if i == 1 {
			// Invalid UTF-8 becomes U+FFFD: still unlike every written value.
			fixed := "\ufffda"
			want.Value = &fixed
		}
		g := got[i]
		if g.ID != want.ID || g.Op != want.Op || g.Key != want.Key || (g.Value == nil) != (want.Value == nil) ||
			(g.Value != nil && *g.Value != *want.Value) || (g.Complete == nil) != (want.Complete == nil) || g.Outcome != want.Outcome {
			t.Errorf("op %d: read %+v, want %+v", i, g, want)
		}
	}
}

func FuzzReadHistory(f *testing.F) {
	f.Add([]byte(`{"id":1,"client":0,"op":"get","key":"k1","value":null,"expect":null,"invoke":5,"complete":6,"outcome":"ok"}`))
	f.Add([]byte(`{"id":1,"client":0,"op":"put","key":"k1","value":"v","expect":null,"invoke":5,"complete":null,"outcome":"unknown"}` + "\n\n"))
	f.Add([]byte("{\n}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var ops []HistoryOp
		if err := ReadHistory(bytes.NewReader(in), func(op HistoryOp) error {
			ops = append(ops, op)
			return nil
		}); err != nil {
			return
		}
		// Whatever parses writes back and parses to the same operations.
		var buf bytes.Buffer
		enc := newHistoryEncoder()
		for i := range ops {
			r := recordOf(&ops[i])
			line, err := enc.line(&r)
			if err != nil {
				t.Fatalf("encode %+v: %v", ops[i], err)
			}
			buf.Write(line)
		}
		var again []HistoryOp
		if err := ReadHistory(&buf, func(op HistoryOp) error {
			again = append(again, op)
			return nil
		}); err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if len(again) != len(ops) {
			t.Fatalf("re-read %d operations, want %d", len(again), len(ops))
		}
		for i := range ops {
			if again[i].ID != ops[i].ID || again[i].Op != ops[i].Op || again[i].Outcome != ops[i].Outcome || again[i].Invoke != ops[i].Invoke {
				t.Fatalf("op %d changed: %+v → %+v", i, ops[i], again[i])
			}
		}
	})
}

// TestHistoryLineIsWhatEncodingJSONWrites: the direct writer of plain lines
// and the encoding/json path for the rest give the bytes encoding/json gives
// for every record, plain or not (seeded, with escapes, invalid UTF-8, nulls).
func TestHistoryLineIsWhatEncodingJSONWrites(t *testing.T) {
	t.Parallel()
	reference := func(r *historyRecord) string {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r.historyOp()); err != nil {
			return "error"
		}
		return buf.String()
	}
	records := []historyRecord{
		{id: 17, client: 3, op: OpPut, key: "k42", value: []byte("v-3-17-xxxx"), hasValue: true, invoke: 1234567, complete: 1250000, hasComplete: true, outcome: OutcomeOK},
		{id: 0, client: 0, op: OpGet, key: "k0", invoke: 0, outcome: OutcomeUnknown},
		{id: 1<<64 - 1, client: -1, op: OpDelete, key: "", invoke: -5, complete: 1 << 62, hasComplete: true, outcome: OutcomeFail},
		{id: 2, op: OpCAS, key: "k<&>", value: []byte("b"), hasValue: true, expect: []byte("a"), hasExpect: true, outcome: OutcomeOK},
		{id: 3, op: OpGet, key: `k"\`, value: []byte{}, hasValue: true, outcome: OutcomeOK},
		{id: 4, op: OpPut, key: "k\n\t\x00\x7f", value: []byte{0xff, 'a', 0xe2, 0x80, 0xa8}, hasValue: true, outcome: OutcomeOK},
		{id: 5, op: OpPut, key: "ключ", value: []byte("\u2029"), hasValue: true, outcome: OutcomeOK},
		{id: 6, op: OpKind(9), key: "k1", outcome: OutcomeOK},
		{id: 7, op: OpGet, key: "k1", outcome: Outcome(7)},
	}
	rng := rand.New(rand.NewPCG(22, 0))
	alphabet := []byte("kv-x09 \"\\<>&\n\x01\x7f\xff\xc3\xa9")
	randomBytes := func() []byte {
		b := make([]byte, rng.IntN(6))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return b
	}
	for i := range 2000 {
		r := historyRecord{id: rng.Uint64(), client: rng.IntN(1 << 20), op: OpKind(1 + rng.IntN(4)), key: string(randomBytes()),
			invoke: rng.Int64(), outcome: Outcome(rng.IntN(3))}
		if rng.IntN(2) == 0 {
			r.value, r.hasValue = randomBytes(), true
		}
		if rng.IntN(4) == 0 {
			r.expect, r.hasExpect = randomBytes(), true
		}
		if rng.IntN(3) > 0 {
			r.complete, r.hasComplete = rng.Int64(), true
		}
		if i%2 == 0 { // half of them plain, as the generator's are
			r.key = "k" + strconv.Itoa(rng.IntN(1000))
			r.value = MakeValue(r.client, r.id, rng.IntN(40))
		}
		records = append(records, r)
	}
	enc := newHistoryEncoder()
	plain := 0
	for i := range records {
		r := &records[i]
		want := reference(r)
		line, err := enc.line(r)
		got := string(line)
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Fatalf("record %d (%+v):\n got %q\nwant %q", i, *r, got, want)
		}
		if r.plain() {
			plain++
		}
	}
	if plain < 1000 || plain == len(records) {
		t.Errorf("%d of %d records plain: the test must cover both paths", plain, len(records))
	}
}
