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

func TestExploreDryRunPrintsTheSameSchedulesForTheSameSeed(t *testing.T) {
	a, stderr, code := run(t, "explore", "--dry-run", "testdata/explore.yaml", "--seed", "7", "--runs", "4")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	b, _, _ := run(t, "explore", "testdata/explore.yaml", "--runs", "4", "--dry-run", "--seed", "7")
	if a != b {
		t.Fatalf("two dry runs differ:\n%s\n%s", a, b)
	}
	if strings.Count(a, "\n---\n") != 3 || !strings.HasPrefix(a, "# run 1 of 4: chaosctl explore --replay 7 testdata/explore.yaml\nseed: 7\nfaults:\n  - {name: f1-") {
		t.Errorf("dry run:\n%s", a)
	}
	other, _, _ := run(t, "explore", "--dry-run", "testdata/explore.yaml", "--seed", "8", "--runs", "4")
	if other == a {
		t.Error("another seed printed the same schedules")
	}
	// --replay prints the one schedule, as run 2 of the first explore.
	one, _, code := run(t, "explore", "--dry-run", "testdata/explore.yaml", "--replay", "8")
	second := strings.Split(a, "---\n")[1]
	if code != 0 || strings.TrimPrefix(one, "# run 1 of 1") != strings.TrimPrefix(second, "# run 2 of 4") {
		t.Errorf("replay of seed 8:\n%s\nrun 2 of the explore:\n%s", one, second)
	}
}

func TestExploreRefusesBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"explore", "testdata/calm.yaml"},                           // no nemesis
		{"explore", "testdata/explore.yaml", "--runs", "0"},         // no run
		{"explore", "testdata/explore.yaml", "testdata/calm.yaml"},  // one file
		{"explore", "testdata/bad.yaml"},                            // invalid
		{"explore", "--target", "nowhere", "testdata/explore.yaml"}, // no such runtime
		{"explore", "../../examples/gameday/failure-table.yaml"},    // a playbook
	} {
		out := filepath.Join(t.TempDir(), "out")
		_, stderr, code := run(t, append(args, "--out", out)...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%v made %s", args, out)
		}
	}
}
