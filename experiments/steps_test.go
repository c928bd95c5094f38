package experiments

import (
	"strings"
	"testing"
	"time"
)

// Exec probes and actions: every problem at its FILE:LINE:COL, nothing else.
func TestActionAndExecProbeProblems(t *testing.T) {
	src := minimalWith(`
steadyState:
  probes:
    - {name: p, exec: {command: [], timeout: 2m, expect: {stdout: "(", exitCode: 300}}}
faults: [{name: f, at: 1s, crash: {nodes: [n1]}}]
actions:
  - {name: late, at: 10s, exec: {command: [""]}}
  - {name: f, at: 1s, http: {url: "ftp://x", status: 42, timeout: 1ns}}
  - {name: both, at: 1s, exec: {command: [x]}, http: {url: "http://x/"}}
  - {name: typo, at: 1s, exec: {command: [x], timout: 1s}, rollback: {exec: {command: [y], env: {"1x": z}}}}
  - {name: norb, at: 1s, exec: {command: [x]}, rollback: {}}
`)
	_, err := Decode("a.yaml", []byte(src))
	if err == nil {
		t.Fatal("want problems, got none")
	}
	want := []string{
		"a.yaml:8:", "steadyState.probes[0].exec.command: is empty",
		"steadyState.probes[0].exec.timeout: 2m0s is out of range; allowed: 10ms to 1m0s",
		`steadyState.probes[0].exec.expect.stdout: bad regular expression "("`,
		"steadyState.probes[0].exec.expect.exitCode: 300 is out of range; allowed: 0 to 255",
		"actions[0].at: the action runs at 10s, not before the workload ends at 10s",
		"actions[0].exec.command: the program (first word) is empty",
		`actions[1].name: "f" is already a fault's name`,
		`actions[1].http.url: bad URL "ftp://x"`,
		"actions[1].http.status: 42 is out of range",
		"actions[1].http.timeout: 1ns is out of range; allowed: 10ms to 10m0s",
		"actions[2].http: exec and http are exclusive",
		`unknown field "timout" in actions[3].exec`, `did you mean "timeout"?`,
		`actions[3].rollback.exec.env: bad variable name "1x"`,
		"actions[4].rollback: needs one of exec, http",
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("problems lack %q:\n%v", w, err)
		}
	}
}

func TestActionDefaults(t *testing.T) {
	e, err := Decode("a.yaml", []byte(minimalWith(`
steadyState:
  probes: [{name: p, exec: {command: ["true"]}}]
actions:
  - {name: a, at: 2s, exec: {command: ["true"]}, rollback: {http: {url: "http://127.0.0.1:1/undo"}}}
`)))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.SteadyState.Probes[0].Exec.Timeout; got != DefaultExecProbeTimeout {
		t.Errorf("exec probe timeout %s, want %s", got, DefaultExecProbeTimeout)
	}
	a := e.Actions[0]
	if a.Exec.Timeout != DefaultStepTimeout || a.Rollback.HTTP.Method != "POST" || a.Rollback.HTTP.Timeout != 30*time.Second || a.Rollback.HTTP.Status != 0 {
		t.Errorf("defaults: action %+v, rollback %+v", a.Exec, a.Rollback.HTTP)
	}
	if got := StepText(a.Rollback); got != "POST http://127.0.0.1:1/undo answers 2xx within 30s" {
		t.Errorf("StepText = %q", got)
	}
}
