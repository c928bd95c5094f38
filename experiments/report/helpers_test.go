package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/chaosctl/chaosctl/internal/testkit"
)

// Fixture run folders: a failing run with member and burn events (hand-made
// from a real quickstart run) and the real passing quickstart run (no member
// or burn events).
const (
	fixtureFail = "testdata/run"
	fixturePass = "testdata/run-pass"
)

func loadFixture(t testing.TB, dir string) *Run {
	t.Helper()
	run, err := LoadRun(dir)
	if err != nil {
		t.Fatalf("load fixture %s: %v", dir, err)
	}
	return run
}

// checkGolden compares got with testdata/golden/name, or rewrites it with
// -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *testkit.Update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("update golden %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden %s (run with -update to create it): %v", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

// copyFixture copies a fixture run folder into a temporary folder, so tests
// that write reports leave testdata alone.
func copyFixture(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	for _, name := range []string{FileResult, FileJournal, FileExperiment} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("copy fixture: %v", err)
		}
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			t.Fatalf("copy fixture: %v", err)
		}
	}
	return out
}
