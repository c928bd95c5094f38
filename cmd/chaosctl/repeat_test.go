package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// repeat: 0 and a misspelt repaet: are refused before anything starts,
// with the file's line and column, by validate and run alike; so are a bad
// --repeat and --require-pass-rate.
func TestRepeatBadInputExits2(t *testing.T) {
	src, err := os.ReadFile("testdata/repeat.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, from, to string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(strings.Replace(string(src), from, to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	zero := write("zero.yaml", "repeat: 2", "repeat: 0")
	misspelt := write("misspelt.yaml", "repeat: 2", "repaet: 2")
	for _, tc := range []struct {
		file, want string
	}{
		{zero, zero + ":8:9: repeat: 0 is out of range; allowed: 1 to 1000"},
		{misspelt, misspelt + `:8:1: unknown field "repaet" at top level`},
	} {
		for _, cmd := range []string{"validate", "run"} {
			out := filepath.Join(dir, "out-"+cmd+"-"+filepath.Base(tc.file))
			args := []string{cmd, tc.file}
			if cmd == "run" {
				args = append(args, "--out", out)
			}
			_, stderr, code := run(t, args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("%s %s: exit %d, want 2 and %q:\n%s", cmd, filepath.Base(tc.file), code, tc.want, stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s %s: an output folder was made", cmd, filepath.Base(tc.file))
			}
		}
	}
	if !strings.Contains(mustStderr(t, "validate", misspelt), `did you mean "repeat"?`) {
		t.Errorf("the misspelling has no hint")
	}
	for _, args := range [][]string{
		{"--repeat", "0"}, {"--repeat", "1001"}, {"--require-pass-rate", "150%"}, {"--require-pass-rate", "0"}, {"--require-pass-rate", "95"},
	} {
		out := filepath.Join(dir, "out-flags")
		_, stderr, code := run(t, append([]string{"run", "testdata/repeat.yaml", "--out", out}, args...)...)
		if code != 2 || !strings.Contains(stderr, args[0]) {
			t.Errorf("%v: exit %d, want 2 naming the flag:\n%s", args, code, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: an output folder was made", args)
		}
	}
}

func mustStderr(t *testing.T, args ...string) string {
	t.Helper()
	_, stderr, _ := run(t, args...)
	return stderr
}

// --repeat 2 runs the file twice, seeds S and S+1, each in its own folder
// inside the parent folder, whose result.json, junit.xml and summary.md
// agree with the runs; the exit code follows the aggregate verdict.
func TestRunRepeatWritesEveryRunAndTheAggregate(t *testing.T) {
	out, junit := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "combined.xml")
	stdout, stderr, code := run(t, "run", "testdata/repeat.yaml", "--repeat", "2", "--seed", "40", "--out", out,
		"--state-dir", filepath.Join(t.TempDir(), "state"), "--junit", junit)
	noMembersLeft(t, out)
	agg, ok, err := report.ReadRepeatJSON(out)
	if err != nil || !ok {
		t.Fatalf("no aggregate result.json (%v, repeat %v): exit %d\n%s\n%s", err, ok, code, stdout, tail(stderr, 30))
	}
	if code != verdictCode(agg.Verdict) {
		t.Errorf("exit %d for the aggregate verdict %s", code, agg.Verdict)
	}
	s := agg.Repeat
	if s.Planned != 2 || s.Runs != 2 || len(agg.Runs) != 2 || agg.Seed != 40 || s.Required != 1 || agg.Reason != s.Rule ||
		!strings.Contains(s.Rule, "required 100 %") || s.Low > s.PassRate || s.High < s.PassRate {
		t.Fatalf("aggregate %+v: %s", s, agg.Reason)
	}
	passed := 0
	var verdicts []string
	for i, r := range agg.Runs {
		res, err := report.ReadJSON(filepath.Join(out, r.Dir))
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		if r.Seed != int64(40+i) || res.Seed != r.Seed || res.Verdict != r.Verdict || !strings.Contains(r.Dir, "seed-"+fmt.Sprint(res.Seed)) {
			t.Errorf("run %d: seed %d (result %d), verdict %s (result %s), folder %s", i+1, r.Seed, res.Seed, r.Verdict, res.Verdict, r.Dir)
		}
		if r.Verdict == report.Pass {
			passed++
		}
		verdicts = append(verdicts, r.Verdict)
		if _, err := os.Stat(filepath.Join(out, r.Dir, report.FileHTML)); err != nil {
			t.Errorf("run %d has no report: %v", i+1, err)
		}
		if !strings.Contains(stdout, "seed "+fmt.Sprint(res.Seed)) {
			t.Errorf("stdout does not name run %d's seed:\n%s", i+1, stdout)
		}
	}
	if s.Passed != passed || s.Flaky != (verdicts[0] != verdicts[1]) || (agg.Verdict == report.Pass) != (passed == 2) {
		t.Errorf("aggregate %+v disagrees with the runs' verdicts %v", s, verdicts)
	}
	if len(agg.SLOs) != 1 || agg.SLOs[0].Pass+agg.SLOs[0].Fail+agg.SLOs[0].Inconclusive != 2 {
		t.Errorf("SLO counts %+v", agg.SLOs)
	}

	var doc struct {
		Suites []struct {
			Name string `xml:"name,attr"`
		} `xml:"testsuite"`
	}
	b, err := os.ReadFile(filepath.Join(out, report.FileJUnit))
	if err != nil || xml.Unmarshal(b, &doc) != nil || len(doc.Suites) != 3 || doc.Suites[0].Name != "repeat repeat" ||
		doc.Suites[1].Name != "repeat run 1 seed 40" || doc.Suites[2].Name != "repeat run 2 seed 41" {
		t.Errorf("junit.xml (%v): %+v", err, doc)
	}
	// The combined --junit file holds the repeat as its own junit.xml does.
	if combined, err := os.ReadFile(junit); err != nil || string(combined) != string(b) {
		t.Errorf("the --junit file (%v) differs from the repeat's junit.xml:\n%s", err, combined)
	}
	md, err := os.ReadFile(filepath.Join(out, report.FileMarkdown))
	if err != nil || !strings.Contains(string(md), s.Rule) || !strings.Contains(string(md), agg.Runs[1].Dir) {
		t.Errorf("summary.md (%v) lacks the rule or the runs:\n%s", err, md)
	}
	for _, want := range []string{"RUN", "verdict: " + agg.Verdict, s.Rule, "output: " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	// chaosctl report re-renders the repeat's own files from its folder.
	if err := os.Remove(filepath.Join(out, report.FileMarkdown)); err != nil {
		t.Fatal(err)
	}
	rendered, stderr, code := run(t, "report", out)
	if again, err := os.ReadFile(filepath.Join(out, report.FileMarkdown)); code != 0 || err != nil || string(again) != string(md) ||
		!strings.Contains(rendered, report.FileJUnit) {
		t.Errorf("report %s: exit %d (%v)\n%s\n%s", out, code, err, rendered, stderr)
	}
}

// SIGTERM during a repeat's first run reverts its faults, starts no further
// run, and leaves an aggregate that says interrupted: exit 3.
func TestSIGTERMDuringARepeatStopsAfterTheCurrentRun(t *testing.T) {
	out, state := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "state")
	first := filepath.Join(out, "runs", "001-seed-3")
	cmd, output := startChaosctl(t, "the first run's faults applied", 90*time.Second,
		func() bool { return countApplied(filepath.Join(first, "journal.ndjson")) >= 2 },
		"run", "testdata/long-pause.yaml", "--repeat", "3", "--seed", "3", "--out", out, "--state-dir", state)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	expectInterruptedAndReverted(t, cmd, first, output)
	noMembersLeft(t, out)
	agg, ok, err := report.ReadRepeatJSON(out)
	if err != nil || !ok {
		t.Fatalf("no aggregate result.json (%v, repeat %v):\n%s", err, ok, output)
	}
	if !agg.Interrupted || len(agg.Runs) != 1 || !agg.Runs[0].Interrupted || agg.Repeat.Planned != 3 || agg.Verdict == report.Pass {
		t.Errorf("aggregate %+v, runs %+v: want interrupted after one run", agg.Repeat, agg.Runs)
	}
	if _, err := os.Stat(filepath.Join(out, "runs", "002-seed-4")); err == nil {
		t.Errorf("a second run was started after the signal")
	}
	if !strings.Contains(output.String(), "interrupted after 1 of 3 runs") {
		t.Errorf("the aggregate table does not say interrupted:\n%s", output)
	}
}
