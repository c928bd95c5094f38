package runner

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
)

func TestRedactFolder(t *testing.T) {
	red := experiments.NewRedactor([]string{"hunter2-secret"})
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	leaky := write("members/api.log", "start\nkey=hunter2-secret\nno newline hunter2-secret", 0o600)
	clean := write("summary.md", "nothing to see\n", 0o644)
	before, _ := os.Stat(clean)
	// Files the run did not write are left alone: older ones, and those in
	// other folders.
	old := write("notes.txt", "hunter2-secret\n", 0o644)
	longAgo := time.Now().Add(-time.Hour)
	if err := os.Chtimes(old, longAgo, longAgo); err != nil {
		t.Fatal(err)
	}
	other := write("src/config.env", "TOKEN=hunter2-secret\n", 0o644)
	if err := redactFolder(dir, time.Now().Add(-time.Minute), red); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(leaky)
	if string(got) != "start\nkey=[REDACTED]\nno newline [REDACTED]" {
		t.Errorf("redacted log = %q", got)
	}
	if info, _ := os.Stat(leaky); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 kept", info.Mode().Perm())
	}
	if after, _ := os.Stat(clean); !after.ModTime().Equal(before.ModTime()) {
		t.Error("a file without a secret was rewritten")
	}
	for _, p := range []string{old, other} {
		if data, _ := os.ReadFile(p); !strings.Contains(string(data), "hunter2-secret") {
			t.Errorf("%s, not the run's, was rewritten: %q", p, data)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "members", ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestRedactResultAndError(t *testing.T) {
	red := experiments.NewRedactor([]string{"hunter2-secret"})
	res := &report.Result{Experiment: "x", Errors: []string{`Get "http://h/?k=hunter2-secret": refused`}}
	got, err := redactResult(res, red)
	if err != nil || got.Errors[0] != `Get "http://h/?k=[REDACTED]": refused` || got.Experiment != "x" {
		t.Errorf("redactResult = %+v, %v", got, err)
	}
	if same, _ := redactResult(res, experiments.NewRedactor(nil)); same != res {
		t.Error("an empty redactor copied the result")
	}
	e := redactErr(errors.Join(ErrEnvironment, errors.New("token hunter2-secret")), red)
	if strings.Contains(e.Error(), "hunter2") || !errors.Is(e, ErrEnvironment) {
		t.Errorf("redactErr = %v (is ErrEnvironment: %v)", e, errors.Is(e, ErrEnvironment))
	}
}
