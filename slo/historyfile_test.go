package slo

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func jepsenLines(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "INFO  jepsen.util - %s\n", strings.ReplaceAll(l, " ", "\t"))
	}
	return b.String()
}

func TestReadJepsenLogAndCheck(t *testing.T) {
	cases := []struct {
		name     string
		log      string
		outcomes []Outcome
		want     Verdict
	}{
		{"write then read", jepsenLines("0 :invoke :write 1", "0 :ok :write 1", "1 :invoke :read nil", "1 :ok :read 1"),
			[]Outcome{OutcomeOK, OutcomeOK}, Pass},
		{"read of nothing", jepsenLines("1 :invoke :read nil", "1 :ok :read nil"), []Outcome{OutcomeOK}, Pass},
		{"stale read", jepsenLines("0 :invoke :write 1", "0 :ok :write 1", "0 :invoke :write 2", "0 :ok :write 2",
			"1 :invoke :read nil", "1 :ok :read 1"), []Outcome{OutcomeOK, OutcomeOK, OutcomeOK}, Fail},
		{"cas swaps", jepsenLines("0 :invoke :write 1", "0 :ok :write 1", "0 :invoke :cas [1 2]", "0 :ok :cas [1 2]",
			"1 :invoke :read nil", "1 :ok :read 2"), []Outcome{OutcomeOK, OutcomeOK, OutcomeOK}, Pass},
		{"rejected cas saw another value", jepsenLines("0 :invoke :write 1", "0 :ok :write 1", "0 :invoke :cas [1 2]", "0 :fail :cas [1 2]"),
			[]Outcome{OutcomeOK, OutcomeRejected}, Fail},
		{"timed-out write may take effect", jepsenLines("0 :invoke :write 1", "0 :info :write :timed-out",
			"1 :invoke :read nil", "1 :ok :read nil", "1 :invoke :read nil", "1 :ok :read 1"),
			[]Outcome{OutcomeUnknown, OutcomeOK, OutcomeOK}, Pass},
		{"timed-out read observed nothing", jepsenLines("1 :invoke :read nil", "1 :fail :read :timed-out"), []Outcome{OutcomeFail}, Inconclusive},
		{"never completed is unknown", jepsenLines("0 :invoke :cas [nil 3]", "1 :invoke :read nil", "1 :ok :read 3"),
			[]Outcome{OutcomeUnknown, OutcomeOK}, Pass},
		{"other log lines are skipped", "INFO  jepsen.core - Running test\n" + jepsenLines("0 :invoke :write 1", "0 :ok :write 1") + ":nemesis :info :start nil\n",
			[]Outcome{OutcomeOK}, Pass},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ops, err := ReadJepsenLog(strings.NewReader(tc.log))
			if err != nil {
				t.Fatal(err)
			}
			var got []Outcome
			for _, op := range ops {
				got = append(got, op.Outcome)
				if op.Outcome == OutcomeUnknown && op.Complete != math.MaxInt64 {
					t.Errorf("unknown op %d has end %d, want open", op.ID, op.Complete)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.outcomes) {
				t.Fatalf("outcomes %v, want %v", got, tc.outcomes)
			}
			if res := CheckLinearizable(ops, 5*time.Second); res.Verdict != tc.want {
				t.Fatalf("verdict %s (%s), want %s", res.Verdict, res.Detail, tc.want)
			}
		})
	}
}

func TestReadJepsenLogErrors(t *testing.T) {
	cases := []struct{ name, log, want string }{
		{"completion without invocation", jepsenLines("0 :ok :write 1"), "line 1: process 0 completes :write without an invocation"},
		{"completion of another function", jepsenLines("0 :invoke :write 1", "0 :ok :read 1"), "line 2: process 0 completes :read but invoked write"},
		{"unknown function", jepsenLines("0 :invoke :add 1"), "line 1: unknown function :add"},
		{"malformed cas", jepsenLines("0 :invoke :cas 1"), "line 1: cas of \"1\""},
		{"unknown type", jepsenLines("0 :invoke :read nil", "0 :maybe :read 1"), "line 2: unknown operation type :maybe"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadJepsenLog(strings.NewReader(tc.log))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzReadJepsenLog(f *testing.F) {
	f.Add(jepsenLines("0 :invoke :write 1", "0 :ok :write 1", "2 :invoke :cas [3 0]", "2 :fail :cas [3 0]", "4 :invoke :read nil", "4 :info :read :timed-out"))
	f.Add("INFO  jepsen.util - 0\t:ok\n")
	f.Fuzz(func(t *testing.T, log string) {
		ops, err := ReadJepsenLog(strings.NewReader(log))
		if err != nil {
			return
		}
		for _, op := range ops {
			if op.Complete < op.Invoke && op.Outcome != OutcomeUnknown {
				t.Fatalf("op %d completes at %d before its invocation at %d", op.ID, op.Complete, op.Invoke)
			}
		}
		CheckLinearizable(ops, time.Second)
	})
}

func TestReadHistoryFileDetectsFormat(t *testing.T) {
	cases := []struct {
		name    string
		content string
		format  HistoryFormat
		ops     int
		err     string
	}{
		{"ndjson", `{"id":1,"client":0,"op":"put","key":"k1","value":"a","expect":null,"invoke":1,"complete":2,"outcome":"ok"}` + "\n\n" +
			`{"id":2,"client":1,"op":"cas","key":"k1","value":"b","expect":"a","invoke":3,"complete":null,"outcome":"unknown"}` + "\n", FormatNDJSON, 2, ""},
		{"jepsen", "\n" + jepsenLines("0 :invoke :read nil", "0 :ok :read nil"), FormatJepsenLog, 1, ""},
		{"empty", " \n\n", FormatEmpty, 0, ""},
		{"neither", "hello\nworld\n", "", 0, "unknown history format"},
		{"bad ndjson line", `{"id":1}` + "\n", FormatNDJSON, 0, `history line 1: missing "client"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ops, format, err := ReadHistoryFile(strings.NewReader(tc.content))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if format != tc.format || len(ops) != tc.ops {
				t.Fatalf("format %s with %d ops, want %s with %d", format, len(ops), tc.format, tc.ops)
			}
		})
	}
}

// TestCheckFileNDJSONViolation checks a recorded history with a stale read on
// one key: the verdict names that key, the window holds the read and the
// write that overwrote what it saw, and the visualisation is written.
func TestCheckFileNDJSONViolation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "history.ndjson")
	lines := []string{
		`{"id":1,"client":0,"op":"put","key":"k1","value":"a","expect":null,"invoke":0,"complete":10,"outcome":"ok"}`,
		`{"id":2,"client":1,"op":"put","key":"k2","value":"x","expect":null,"invoke":0,"complete":10,"outcome":"ok"}`,
		`{"id":3,"client":0,"op":"put","key":"k1","value":"b","expect":null,"invoke":20,"complete":30,"outcome":"ok"}`,
		`{"id":4,"client":1,"op":"get","key":"k2","value":"x","expect":null,"invoke":20,"complete":30,"outcome":"ok"}`,
		`{"id":5,"client":2,"op":"get","key":"k1","value":"a","expect":null,"invoke":40,"complete":50,"outcome":"ok"}`,
		`{"id":6,"client":3,"op":"put","key":"k3","value":"z","expect":null,"invoke":40,"complete":null,"outcome":"unknown"}`,
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := CheckFile(path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Fail || res.Format != FormatNDJSON || res.Operations != 6 || res.Keys != 3 {
		t.Fatalf("verdict %s, format %s, %d ops, %d keys; want fail, ndjson, 6, 3 (%s)", res.Verdict, res.Format, res.Operations, res.Keys, res.Detail)
	}
	if fmt.Sprint(res.BadKeys) != "[k1]" {
		t.Fatalf("bad keys %v, want [k1]", res.BadKeys)
	}
	v := res.Violations[0]
	var ids []uint64
	for _, w := range v.Window {
		ids = append(ids, w.ID)
	}
	if v.Stuck.ID != 5 || fmt.Sprint(ids) != "[1 3 5]" || v.State != `"b"` {
		t.Fatalf("stuck op %d, window %v, state %s; want 5, [1 3 5], \"b\": %s", v.Stuck.ID, ids, v.State, v)
	}
	if !strings.Contains(res.Detail, `key "k1"`) || !strings.Contains(res.Detail, `op 5 client 2 [40, 50] get(k1) → "a"`) {
		t.Fatalf("detail does not name the key and the read: %s", res.Detail)
	}
	html := filepath.Join(dir, "linearizability.html")
	if err := WriteVisualization(res, html); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("<html")) || !bytes.Contains(b, []byte(`get(k1) → \"a\"`)) || bytes.Contains(b, []byte("put(k2")) {
		t.Fatalf("visualisation (%d bytes) does not show only the bad key k1", len(b))
	}
}

func TestCheckFileErrors(t *testing.T) {
	_, err := CheckFile(filepath.Join(t.TempDir(), "missing.ndjson"), time.Second)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error %v, want one wrapping os.ErrNotExist", err)
	}
}
