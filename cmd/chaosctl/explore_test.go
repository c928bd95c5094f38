package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunRefusesANemesisWithoutFaults(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	_, stderr, code := run(t, "run", "testdata/explore.yaml", "--out", out)
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, stderr)
	}
	want := "testdata/explore.yaml:9:1: nemesis: the file has a nemesis and no faults"
	if !strings.Contains(stderr, want) || !strings.Contains(stderr, "chaosctl explore testdata/explore.yaml") {
		t.Errorf("stderr lacks %q and the explore command:\n%s", want, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("run made %s (%v); nothing may start", out, err)
	}
	if _, stderr, code := run(t, "validate", "testdata/explore.yaml"); code != 0 {
		t.Errorf("validate: exit %d, want 0 (the file is valid for explore)\n%s", code, stderr)
	}
}
