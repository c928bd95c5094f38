package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// The variables example runs with a value from the environment and two
// --set overrides (kept short): the run uses them, the dry run and
// result.json show them with where they came from, and the output folder's
// copy of the file has them filled in.
func TestVariablesExampleRunsWithEnvAndSet(t *testing.T) {
	const file = "../../examples/variables.yaml"
	env := []string{"CHAOS_RATE=60", "CHAOS_ENV=ci"}
	sets := []string{"--set", "workload.duration=5s", "--set", "faults[0].duration=2s"}

	stdout, stderr, code := runEnv(t, env, append([]string{"run", "--dry-run", file}, sets...)...)
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		`CHAOS_RATE = "60" (env)`,
		`CHAOS_ENV = "ci" (env)`,
		`CHAOS_DELAY = "30ms" (default)`,
		`workload.duration = "5s" (--set)`,
		"workload: 60 req/s for 5s",
		"slow-node: latency, t = 2s -> 4s",
	} {
		if !strings.Contains(strings.Join(strings.Fields(stdout), " "), want) {
			t.Errorf("the dry run lacks %q:\n%s", want, stdout)
		}
	}

	out := filepath.Join(t.TempDir(), "out")
	args := append([]string{"run", file, "--out", out, "--state-dir", filepath.Join(t.TempDir(), "state")}, sets...)
	stdout, stderr, code = runEnv(t, env, args...)
	noMembersLeft(t, out)
	res, err := report.ReadJSON(out)
	if err != nil || code != exitPass || res.Verdict != report.Pass {
		t.Fatalf("run: exit %d, result %v (%v)\n%s\n%s", code, res, err, stdout, tail(stderr, 30))
	}
	if res.Workload.Rate != 60 || res.Workload.Duration != "5s" {
		t.Errorf("workload %+v, want 60 req/s for 5s", res.Workload)
	}
	want := map[string]report.Variable{
		"CHAOS_RATE":         {Value: "60", From: "env"},
		"CHAOS_ENV":          {Value: "ci", From: "env"},
		"CHAOS_DELAY":        {Value: "30ms", From: "default"},
		"CHAOS_NODE":         {Value: "n3", From: "default"},
		"CHAOS_SEED":         {Value: "1", From: "default"},
		"workload.duration":  {Value: "5s", From: "--set"},
		"faults[0].duration": {Value: "2s", From: "--set"},
	}
	for k, v := range want {
		if res.Variables[k] != v {
			t.Errorf("result.json variables[%q] = %+v, want %+v (all: %v)", k, res.Variables[k], v, res.Variables)
		}
	}
	if len(res.Variables) != len(want) {
		t.Errorf("result.json variables = %v, want %d of them", res.Variables, len(want))
	}
	copied, err := os.ReadFile(filepath.Join(out, report.FileExperiment))
	if err != nil {
		t.Fatal(err)
	}
	if body := string(copied)[strings.Index(string(copied), "apiVersion"):]; strings.Contains(body, "${") || !strings.Contains(string(copied), "rate: 60") || !strings.Contains(string(copied), "duration: 5s") {
		t.Errorf("the copy of the file is not the resolved one:\n%s", copied)
	}
	// The copy is a file chaosctl runs as it is, without the environment.
	if _, stderr, code := run(t, "validate", filepath.Join(out, report.FileExperiment)); code != 0 {
		t.Errorf("the copy does not validate: exit %d\n%s", code, stderr)
	}
}

// An unset variable without a default stops validate and run at its line
// and column, exit 2; a bad --set names itself with a did-you-mean.
func TestVariableProblemsExit2(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "unset.yaml")
	src := "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {name: unset}\nworkload:\n  rate: 10\n  duration: \"${CHAOSCTL_T_UNSET_DURATION}\"\nchecks: [linearizable]\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Unsetenv("CHAOSCTL_T_UNSET_DURATION")
	for _, cmd := range []string{"validate", "run"} {
		_, stderr, code := run(t, cmd, file)
		if code != 2 || !strings.Contains(stderr, file+":6:14: workload.duration: variable CHAOSCTL_T_UNSET_DURATION is not set") {
			t.Errorf("%s: exit %d, want 2 at 6:14\n%s", cmd, code, stderr)
		}
	}
	_, stderr, code := run(t, "validate", file, "--set", "workload.duration=3s", "--set", "workload.rat=5")
	if code != 2 || !strings.Contains(stderr, file+`: --set workload.rat=5: unknown field "rat" in workload`) || !strings.Contains(stderr, `did you mean "rate"?`) ||
		strings.Contains(stderr, "CHAOSCTL_T_UNSET_DURATION") {
		t.Errorf("validate with a bad --set: exit %d\n%s", code, stderr)
	}
	if _, stderr, code := run(t, "validate", file, "--set", "workload.duration=3s,5s", "--set", "metadata.description=a, b"); code != 2 || !strings.Contains(stderr, `bad duration "3s,5s"`) {
		t.Errorf("a --set value with a comma: exit %d\n%s", code, stderr)
	}
	if stdout, stderr, code := run(t, "validate", file, "--set", "workload.duration=3s"); code != 0 {
		t.Errorf("validate with the value given by --set: exit %d\n%s%s", code, stdout, stderr)
	}
}
