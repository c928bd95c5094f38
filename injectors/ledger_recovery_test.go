package injectors_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/chaosctl/chaosctl/injectors"
)

// recordLine is one ledger line holding fields (run and time added).
func recordLine(t *testing.T, run string, fields map[string]any) string {
	t.Helper()
	rec := map[string]any{"time": "2026-01-01T00:00:00Z", "run": run}
	for k, v := range fields {
		rec[k] = v
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeLedger writes content as the ledger of run in stateDir, mode 0600,
// as a chaosctl killed at that point would have left it.
func writeLedger(t *testing.T, stateDir, run, content string) string {
	t.Helper()
	dir := injectors.LedgerDir(stateDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, run+".ndjson")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// recoverLogged runs Recover with a logger whose entries the returned hook keeps.
func recoverLogged(t *testing.T, stateDir string) (*injectors.RecoveryReport, error, *logtest.Hook) {
	t.Helper()
	logger, hook := logtest.NewNullLogger()
	rep, err := injectors.Recover(context.Background(), stateDir, logrus.NewEntry(logger))
	t.Logf("report:\n%s", rep)
	return rep, err, hook
}

func warnings(hook *logtest.Hook) []*logrus.Entry {
	var out []*logrus.Entry
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.WarnLevel {
			out = append(out, e)
		}
	}
	return out
}

// A damaged line in the middle and a torn last line are skipped with a
// warning; the records after them are used; the run-end record recover
// appends starts on a fresh line, so the next recover finds nothing to do.
func TestRecoverSkipsDamagedLinesAndAppendsOnAFreshLine(t *testing.T) {
	stateDir := t.TempDir()
	const run = "torn"
	content := recordLine(t, run, map[string]any{"type": "run-start", "pid": deadPID(t), "runtime": "process"}) + "\n" +
		`{"time":"2026-01-01T00:00:01Z","type":"fault-int` + "\x00garbage\n" +
		recordLine(t, run, map[string]any{"type": "fault-intent", "faultName": "slow", "fault": map[string]any{"name": "slow", "kind": "latency"}}) + "\n" +
		`{"time":"2026-01-01T00:00:02Z","type":"fault-app`
	path := writeLedger(t, stateDir, run, content)

	rep, err, hook := recoverLogged(t, stateDir)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if len(rep.Runs) != 1 || !rep.Runs[0].Done || !slices.Equal(rep.Runs[0].OpenFaults, []string{"slow"}) {
		t.Fatalf("runs %+v, want run %s recovered with fault slow (recorded after the damaged line) open", rep.Runs, run)
	}
	if !strings.Contains(rep.String(), "ledger lines skipped: 2") {
		t.Errorf("the report does not say 2 lines were skipped:\n%s", rep)
	}
	var warned bool
	for _, e := range warnings(hook) {
		if e.Data["skipped"] == 2 && slices.Equal(e.Data["lines"].([]int), []int{2, 4}) && strings.Contains(e.Message, "line 2") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning names the skipped lines 2 and 4 and their count; entries: %v", hook.AllEntries())
	}

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), content+"\n{") || !strings.HasSuffix(string(b), "\n") {
		t.Fatalf("recover did not append its record on a line of its own:\n%s", b)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var last injectors.Record
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Type != injectors.RecordRunEnd || last.Outcome != injectors.OutcomeRecovered {
		t.Fatalf("last line %q (%v), want a run-end record with outcome recovered", lines[len(lines)-1], err)
	}

	again, err, _ := recoverLogged(t, stateDir)
	if err != nil || len(again.Runs) != 0 {
		t.Fatalf("second Recover: runs %+v, %v; want nothing to do", again.Runs, err)
	}
}

// Recover removes a run directory only when it is a folder chaosctl created:
// os.TempDir()/chaosctl-run-<the suffix the ledger recorded>, a directory
// owned by the current user. Whatever else a ledger names survives, with a
// warning, and does not keep the run from being recovered.
func TestRecoverRefusesToRemoveFoldersItDidNotCreate(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	stateDir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "precious")
	mkdir := func(path string) {
		t.Helper()
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(path, "keep"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mkdir(victim)
	underPrefix := func(suffix string) string { return filepath.Join(tmp, injectors.TempRunDirPrefix+suffix) }
	mkdir(underPrefix("111"))
	mkdir(underPrefix("222"))
	if err := os.Symlink(victim, underPrefix("333")); err != nil {
		t.Fatal(err)
	}
	mkdir(underPrefix("999"))

	rel, err := filepath.Rel(tmp, victim)
	if err != nil {
		t.Fatal(err)
	}
	climb := "x/../" + rel // tmp/chaosctl-run-x/../<rel> is the victim
	if underPrefix(climb) != victim {
		t.Fatalf("%s is not %s", underPrefix(climb), victim)
	}
	type planted struct {
		run, dir, suffix string
	}
	refused := []planted{
		{"arbitrary", victim, ""},                   // the reviewer's planted run-start
		{"no-suffix", underPrefix("111"), ""},       // the right place, but no recorded suffix
		{"other-suffix", underPrefix("111"), "222"}, // a suffix recorded for another folder
		{"suffix-for-victim", victim, "111"},        // a recorded suffix does not make any folder removable
		{"dotdot", victim, climb},                   // a suffix that climbs out to the victim
		{"symlink", underPrefix("333"), "333"},      // a symlink where the folder should be
	}
	if os.Geteuid() == 0 {
		mkdir(underPrefix("444"))
		if err := os.Chown(underPrefix("444"), 65534, 65534); err != nil {
			t.Fatal(err)
		}
		refused = append(refused, planted{"foreign-owner", underPrefix("444"), "444"})
	}
	for _, p := range append(refused, planted{"own", underPrefix("999"), "999"}) {
		fields := map[string]any{"type": "run-start", "pid": deadPID(t), "runtime": "process", "dir": p.dir, "tempDir": true}
		if p.suffix != "" {
			fields["tempDirSuffix"] = p.suffix
		}
		writeLedger(t, stateDir, p.run, recordLine(t, p.run, fields)+"\n")
	}

	rep, err, hook := recoverLogged(t, stateDir)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	actions := map[string]string{}
	for _, rr := range rep.Runs {
		actions[rr.Run] = rr.DirAction
		if !rr.Done {
			t.Errorf("run %s not recovered: %v", rr.Run, rr.Errors)
		}
	}
	for _, p := range refused {
		if !strings.HasPrefix(actions[p.run], "kept, refused") {
			t.Errorf("run %s: folder %s: %q, want it refused", p.run, p.dir, actions[p.run])
		}
	}
	for _, dir := range []string{victim, underPrefix("111"), underPrefix("222")} {
		if _, err := os.Stat(filepath.Join(dir, "keep")); err != nil {
			t.Errorf("a folder chaosctl did not create was touched: %v", err)
		}
	}
	if fi, err := os.Lstat(underPrefix("333")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was touched: %v", err)
	}
	if n := len(warnings(hook)); n < len(refused) {
		t.Errorf("%d warnings for %d refused folders", n, len(refused))
	}
	if _, err := os.Lstat(underPrefix("999")); !os.IsNotExist(err) || actions["own"] != "removed" {
		t.Errorf("its own temporary folder: %q, %v; want removed", actions["own"], err)
	}
}

// Recover refuses a ledger that is not the user's own or that group or
// others may access: it neither acts on it nor appends to it, and says what
// is wrong and how to fix it. Private ledgers beside it are recovered.
func TestRecoverRefusesALedgerNotPrivateToTheUser(t *testing.T) {
	stateDir := t.TempDir()
	ledger := func(run string) string {
		t.Helper()
		l, err := injectors.CreateLedger(stateDir, injectors.RunInfo{Run: run, Runtime: "process", PID: deadPID(t)})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		return l.Path()
	}
	ledger("mine")
	type bad struct{ path, want string }
	var bads []bad
	for run, mode := range map[string]os.FileMode{"group-readable": 0o640, "world-writable": 0o606} {
		path := ledger(run)
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		bads = append(bads, bad{path, "chmod 600 " + path})
	}
	target := ledger("target")
	if err := os.Rename(target, filepath.Join(stateDir, "elsewhere.ndjson")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(stateDir, "elsewhere.ndjson"), target); err != nil {
		t.Fatal(err)
	}
	bads = append(bads, bad{target, "is a symbolic link"})
	if os.Geteuid() == 0 {
		path := ledger("foreign")
		if err := os.Chown(path, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		bads = append(bads, bad{path, "is owned by uid 65534"})
	}
	before := map[string][]byte{}
	for _, b := range bads {
		before[b.path], _ = os.ReadFile(b.path)
	}

	rep, err, _ := recoverLogged(t, stateDir)
	if err == nil {
		t.Fatal("Recover accepted ledgers that are not private to the user")
	}
	for _, b := range bads {
		if !strings.Contains(err.Error(), b.path) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("the error does not say %q of %s: %v", b.want, b.path, err)
		}
		if after, _ := os.ReadFile(b.path); string(after) != string(before[b.path]) {
			t.Errorf("recover wrote to the refused ledger %s", b.path)
		}
	}
	if len(rep.Runs) != 1 || rep.Runs[0].Run != "mine" || !rep.Runs[0].Done {
		t.Errorf("runs %+v, want only run mine, recovered", rep.Runs)
	}
	if len(rep.Refused) != len(bads) {
		t.Errorf("refused %+v, want the %d bad ledgers", rep.Refused, len(bads))
	}
}

// A ledger's folder is created 0700 and its file 0600.
func TestLedgerIsCreatedPrivate(t *testing.T) {
	stateDir := filepath.Join(t.TempDir(), "state")
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	l, err := injectors.CreateLedger(stateDir, injectors.RunInfo{Run: "private"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for path, want := range map[string]os.FileMode{injectors.LedgerDir(stateDir): 0o700, l.Path(): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", path, fi.Mode().Perm(), err, want)
		}
	}
}
