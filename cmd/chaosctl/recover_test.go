package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/injectors"
)

// writeStateLedger writes content as the ledger of run in state with mode.
func writeStateLedger(t *testing.T, state, run, content string, mode os.FileMode) string {
	t.Helper()
	dir := injectors.LedgerDir(state)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, run+".ndjson")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// recover refuses a ledger that others may read or write, exits 5 and says
// how to make it private.
func TestRecoverRefusesALedgerOthersCanAccess(t *testing.T) {
	state := t.TempDir()
	content := `{"time":"2026-01-01T00:00:00Z","type":"run-start","run":"shared","runtime":"process"}` + "\n"
	path := writeStateLedger(t, state, "shared", content, 0o644)
	stdout, stderr, code := run(t, "recover", "--state-dir", state)
	if code != exitEnvironment || !strings.Contains(stderr, "has mode 0644") || !strings.Contains(stderr, "chmod 600 "+path) {
		t.Fatalf("recover of a ledger with mode 0644: exit %d, want %d saying chmod 600 %s\n%s\n%s", code, exitEnvironment, path, stdout, stderr)
	}
	if !strings.Contains(stdout, "run shared: refused") {
		t.Errorf("recover does not say it refused the run:\n%s", stdout)
	}
	if b, _ := os.ReadFile(path); string(b) != content {
		t.Errorf("recover wrote to the refused ledger:\n%s", b)
	}
}

// recover skips the lines of a ledger torn or damaged by a crash, says how
// many, and finishes the run; the next recover finds nothing to do.
func TestRecoverSaysHowManyLedgerLinesItSkipped(t *testing.T) {
	state := t.TempDir()
	writeStateLedger(t, state, "torn",
		`{"time":"2026-01-01T00:00:00Z","type":"run-start","run":"torn","runtime":"process"}`+"\n"+
			"garbage\n"+
			`{"time":"2026-01-01T00:00:01Z","type":"fault-intent","run":"torn","faultName":"slow","fault":{"name":"slow","kind":"latency"}}`+"\n"+
			`{"time":"2026-01-01T00:00:02Z","type":"fault-appl`, 0o600)
	stdout, stderr, code := run(t, "recover", "--state-dir", state)
	if code != 0 || !strings.Contains(stdout, "ledger lines skipped: 2") || !strings.Contains(stdout, "faults left applied: slow") ||
		!strings.Contains(stderr, "skipped 2 ledger lines") {
		t.Fatalf("recover of a torn ledger: exit %d, want 0 saying 2 lines were skipped\n%s\n%s", code, stdout, stderr)
	}
	recoverState(t, state, "nothing to recover")
}
