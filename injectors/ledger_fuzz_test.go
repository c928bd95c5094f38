package injectors_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/chaosctl/chaosctl/injectors"
)

// validLedgerLine is a record that must be read whatever comes before it.
const validLedgerLine = `{"time":"2026-01-01T00:00:00Z","type":"fault-intent","run":"r","fault":{"name":"f","kind":"latency","delay":5000000},"faultName":"f","processes":[{"id":"n1","pid":7,"start":9}]}`

func TestParseLedgerSkipsTornAndDamagedLines(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantTypes []injectors.RecordType
		wantLines []int // of the skipped lines
	}{
		{"empty", "", nil, nil},
		{"blank lines", "\n \n\t\n", nil, nil},
		{"torn last line", `{"type":"run-start"}` + "\n" + `{"type":"fault-in`, []injectors.RecordType{"run-start"}, []int{2}},
		{"bad middle line", `{"type":"run-start"}` + "\nxx\n" + `{"type":"run-end"}` + "\n", []injectors.RecordType{"run-start", "run-end"}, []int{2}},
		{"not a record", "null\n[]\n\"s\"\n{}\n" + `{"type":"plane"}`, []injectors.RecordType{"plane"}, []int{1, 2, 3, 4}},
		{"torn line glued to the next", `{"type":"run-start"}` + "\n" + `{"type":"fault-app{"type":"run-end"}` + "\n" + `{"type":"plane"}`, []injectors.RecordType{"run-start", "plane"}, []int{2}},
		{"line longer than a scanner's buffer", `{"type":"run-start","error":"` + string(bytes.Repeat([]byte("x"), 17<<20)) + `"}` + "\n" + `{"type":"run-end"}`, []injectors.RecordType{"run-start", "run-end"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, skipped := injectors.ParseLedger([]byte(tt.in))
			var types []injectors.RecordType
			for _, r := range recs {
				types = append(types, r.Type)
			}
			var lines []int
			for _, s := range skipped {
				lines = append(lines, s.Line)
				if s.Reason == "" {
					t.Errorf("skipped line %d has no reason", s.Line)
				}
			}
			if !slices.Equal(types, tt.wantTypes) || !slices.Equal(lines, tt.wantLines) {
				t.Errorf("records %v, skipped lines %v; want %v, %v", types, lines, tt.wantTypes, tt.wantLines)
			}
		})
	}
}

// FuzzLedger: no input makes the parser panic, every record it reads encodes
// and reads back as the same record, and a valid record after any garbage is
// still read.
func FuzzLedger(f *testing.F) {
	for _, seed := range []string{
		"",
		validLedgerLine + "\n",
		`{"time":"2026-01-01T00:00:00Z","type":"run-start","run":"r","pid":1,"dir":"/tmp/chaosctl-run-1","tempDir":true,"tempDirSuffix":"1"}` + "\n" + validLedgerLine[:40],
		`{"type":"fault-app{"type":"run-end","outcome":"recovered"}` + "\n",
		"null\n{}\n[1]\n\x00\xff\n",
		`{"type":"member","member":{"id":"n1","pid":-1},"kubernetes":{"namespace":"ns"},"fault":{"ratio":1e-300,"links":[{"from":"a","to":"b"}]}}`,
		`{"type":"x","time":"2026-01-01T00:00:00.123456789+05:30","processes":[]}`,
	} {
		f.Add([]byte(seed))
	}
	want, skipped := injectors.ParseLedger([]byte(validLedgerLine))
	if len(want) != 1 || len(skipped) != 0 {
		f.Fatalf("the valid line reads as %v, skipped %v", want, skipped)
	}
	wantJSON := encode(f, want[0])
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, skipped := injectors.ParseLedger(data)
		for i, s := range skipped {
			if s.Line < 1 || (i > 0 && s.Line <= skipped[i-1].Line) || s.Reason == "" {
				t.Fatalf("skipped lines %+v: want increasing line numbers from 1, each with a reason", skipped)
			}
		}
		for _, r := range recs {
			b := encode(t, r)
			again, skipped := injectors.ParseLedger(b)
			if len(again) != 1 || len(skipped) != 0 {
				t.Fatalf("record %s reads back as %+v, skipped %+v", b, again, skipped)
			}
			if b2 := encode(t, again[0]); !bytes.Equal(b, b2) {
				t.Fatalf("record does not round-trip:\n%s\n%s", b, b2)
			}
		}
		after, _ := injectors.ParseLedger(slices.Concat(data, []byte("\n"+validLedgerLine+"\n")))
		if len(after) != len(recs)+1 {
			t.Fatalf("with a valid line after it, %d records are read, want %d", len(after), len(recs)+1)
		}
		if got := encode(t, after[len(after)-1]); !bytes.Equal(got, wantJSON) {
			t.Fatalf("the valid line after the input reads as %s, want %s", got, wantJSON)
		}
	})
}

func encode(t testing.TB, r injectors.Record) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("encode %+v: %v", r, err)
	}
	return b
}
