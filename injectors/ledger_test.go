package injectors_test

import (
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/chaosctl/chaosctl/injectors"
)

func TestStateDir(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory")
	}
	tests := []struct {
		name, env, xdg, want string
	}{
		{"explicit", "/srv/chaos", "/x", "/srv/chaos"},
		{"xdg", "", "/x", "/x/chaosctl"},
		{"default", "", "", filepath.Join(home, ".local", "state", "chaosctl")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(injectors.EnvStateDir, tt.env)
			t.Setenv("XDG_STATE_HOME", tt.xdg)
			got, err := injectors.StateDir()
			if err != nil || got != tt.want {
				t.Fatalf("StateDir() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestLedgerRecordsAndTornLastLine(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", t.TempDir())
	runDir, suffix, err := injectors.CreateTempRunDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(os.TempDir(), injectors.TempRunDirPrefix+suffix); runDir != want || suffix == "" {
		t.Fatalf("CreateTempRunDir() = %q, %q; want %s", runDir, suffix, want)
	}
	if _, err := injectors.CreateLedger(dir, injectors.RunInfo{Run: "r0", Dir: "/tmp/r0", TempDirSuffix: suffix}); err == nil {
		t.Error("a ledger recorded the suffix of a temporary run directory for another folder")
	}
	l, err := injectors.CreateLedger(dir, injectors.RunInfo{Run: "r1", Runtime: "process", Dir: runDir, TempDirSuffix: suffix, PlaneURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := injectors.CreateLedger(dir, injectors.RunInfo{Run: "r1"}); err == nil {
		t.Error("a second ledger for run r1 was created")
	}
	if _, err := injectors.CreateLedger(dir, injectors.RunInfo{Run: "../escape"}); err == nil {
		t.Error("a ledger with run id ../escape was created")
	}
	if err := l.Intent(injectors.Fault{Name: "f", Kind: injectors.KindPause}, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Applied("f"); err == nil {
		t.Error("a write after Close succeeded")
	}
	// chaosctl killed in the middle of a write leaves a torn last line.
	f, err := os.OpenFile(l.Path(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"time":"2026-01-01T00:00:00Z","type":"fault-app`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	recs, skipped, err := injectors.ReadLedger(l.Path())
	if err != nil {
		t.Fatalf("read a ledger with a torn last line: %v", err)
	}
	if len(skipped) != 1 || skipped[0].Line != 3 {
		t.Errorf("skipped lines %+v, want the torn line 3", skipped)
	}
	if len(recs) != 2 || recs[0].Type != injectors.RecordRunStart || recs[1].Type != injectors.RecordFaultIntent {
		t.Fatalf("records %+v, want run-start and fault-intent", recs)
	}
	st := recs[0]
	if st.Run != "r1" || st.PID != os.Getpid() || st.PIDStart == 0 || st.Dir != runDir || !st.TempDir || st.TempDirSuffix != suffix || st.PlaneURL != "http://127.0.0.1:1" {
		t.Errorf("run-start record %+v does not describe the run", st)
	}
	if info, err := os.Stat(l.Path()); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("ledger file mode: %v, %v; want 0600", info.Mode(), err)
	}
	b, _ := os.ReadFile(l.Path())
	if lines := strings.Count(string(b), "\n"); lines != 2 {
		t.Errorf("ledger has %d complete lines, want 2", lines)
	}
}

// A write of the live ledger that fails midway (here the file-size limit
// cuts it: part of the line is on disk, then EFBIG) leaves a torn line; the
// next record starts on a fresh line instead of gluing onto it, so that
// record, and every one after, is read back, and only the torn line is
// skipped.
func TestLiveLedgerWritesOnAFreshLineAfterATornWrite(t *testing.T) {
	l, err := injectors.CreateLedger(t.TempDir(), injectors.RunInfo{Run: "torn", Runtime: "process"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	info, err := os.Stat(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	// Past the limit a write fails with EFBIG (SIGXFSZ, which would end
	// the process, ignored meanwhile).
	signal.Ignore(syscall.SIGXFSZ)
	defer signal.Reset(syscall.SIGXFSZ)
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	limited := old
	limited.Cur = uint64(info.Size()) + 16
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limited); err != nil {
		t.Fatal(err)
	}
	werr := l.Plane("http://127.0.0.1:1", true)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(werr, syscall.EFBIG) {
		t.Fatalf("the write past the limit: %v, want EFBIG", werr)
	}
	if err := l.Plane("http://127.0.0.1:2", true); err != nil {
		t.Fatal(err)
	}
	if err := l.Applied("f"); err != nil {
		t.Fatal(err)
	}
	recs, skipped, err := injectors.ReadLedger(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(l.Path())
	if len(skipped) != 1 || skipped[0].Line != 2 {
		t.Errorf("skipped lines %+v, want the torn line 2 only\n%s", skipped, b)
	}
	if len(recs) != 3 || recs[1].Type != injectors.RecordPlane || recs[1].PlaneURL != "http://127.0.0.1:2" || recs[2].Type != injectors.RecordFaultApplied {
		t.Fatalf("records %+v, want run-start, the plane written after the torn line, fault-applied\n%s", recs, b)
	}
	if lines := strings.Split(string(b), "\n"); len(lines) != 5 || len(lines[1]) != 16 {
		t.Errorf("want 4 lines, the second the 16 torn bytes:\n%s", b)
	}
}
