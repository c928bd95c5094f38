package experiments

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// env is a fixed environment for the variable tests: no test reads or
// changes the process's.
func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// decodeVars decodes src with the environment kv and the --set overrides.
func decodeVars(t *testing.T, src string, set []string, kv ...string) (*Experiment, *ValidationError) {
	t.Helper()
	e, err := DecodeWith("v.yaml", []byte(src), DecodeOptions{Set: set, LookupEnv: env(kv...)})
	var verr *ValidationError
	if err != nil && !errors.As(err, &verr) {
		t.Fatalf("got %v, want a *ValidationError", err)
	}
	return e, verr
}

const varsExperiment = `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: "vars-${ENV_NAME}", description: "cost $$5, ${NOTE:-no note}; literal $${NOT_A_VAR} and $HOME"}
seed: ${SEED:-7}
workload:
  rate: ${RATE}
  duration: "${DURATION:-10s}"
  readRatio: ${READS:-90%}
faults:
  - name: cut
    at: ${AT:-2s}
    duration: 3s
    partition:
      groups: [["${ISOLATED:-n1}"], [n2, n3]]
checks: [linearizable]
`

func TestVariablesResolve(t *testing.T) {
	e, verr := decodeVars(t, varsExperiment, nil, "ENV_NAME", "staging", "RATE", "250", "NOTE", "", "AT", "4s")
	if verr != nil {
		t.Fatal(verr)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"name", e.Metadata.Name, "vars-staging"},
		{"description (escapes, empty uses default)", e.Metadata.Description, "cost $5, no note; literal ${NOT_A_VAR} and $HOME"},
		{"seed (default, typed as an integer)", *e.Seed, int64(7)},
		{"rate (env, typed as a number)", e.Workload.Rate, 250.0},
		{"duration (quoted, default)", e.Workload.Duration, 10 * time.Second},
		{"readRatio (a percentage)", e.Workload.ReadRatio, Percent(0.9)},
		{"at (env)", e.Faults[0].At, 4 * time.Second},
		{"nested in lists", e.Faults[0].Partition.Groups[0], []string{"n1"}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	want := []Variable{
		{"ENV_NAME", "staging", FromEnv},
		{"NOTE", "no note", FromDefault},
		{"SEED", "7", FromDefault},
		{"RATE", "250", FromEnv},
		{"DURATION", "10s", FromDefault},
		{"READS", "90%", FromDefault},
		{"AT", "4s", FromEnv},
		{"ISOLATED", "n1", FromDefault},
	}
	if !reflect.DeepEqual(e.Variables, want) {
		t.Errorf("Variables =\n%v\nwant\n%v", e.Variables, want)
	}
}

// The resolved source decodes, without the environment, to the same
// experiment; a file without variables is its own resolved source.
func TestVariablesResolvedSource(t *testing.T) {
	e, verr := decodeVars(t, varsExperiment, []string{"metadata.description=costs $$ $1 ${X}", "target.demo.nodes=5"},
		"ENV_NAME", "123", "RATE", "250")
	if verr != nil {
		t.Fatal(verr)
	}
	src := e.ResolvedSource([]byte(varsExperiment))
	if !strings.HasPrefix(string(src), "# v.yaml as chaosctl ran it") {
		t.Errorf("resolved source without its header:\n%s", src)
	}
	again, verr := decodeVars(t, string(src), nil)
	if verr != nil {
		t.Fatalf("the resolved source does not decode: %v\n%s", verr, src)
	}
	if again.Metadata != e.Metadata || *again.Seed != *e.Seed || again.Workload.Rate != e.Workload.Rate ||
		again.Target.Demo.Nodes != 5 || !reflect.DeepEqual(again.Faults, e.Faults) {
		t.Errorf("decoded again: %+v %+v, want %+v %+v", again.Metadata, again.Target.Demo, e.Metadata, e.Target.Demo)
	}
	if e.Metadata.Name != "vars-123" || e.Metadata.Description != "costs $$ $1 ${X}" {
		t.Errorf("metadata = %+v", e.Metadata)
	}
	if len(again.Variables) != 0 {
		t.Errorf("the resolved source still uses variables: %v", again.Variables)
	}
	plain, verr := decodeVars(t, minimal, nil)
	if verr != nil {
		t.Fatal(verr)
	}
	if got := plain.ResolvedSource([]byte(minimal)); string(got) != minimal {
		t.Errorf("a file without variables was written anew:\n%s", got)
	}
}

func TestVariableProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  []string
		want []string
	}{
		{
			name: "unset without a default points at the $",
			src:  minimalWith("seed: ${SEED}\ntarget: {demo: {nodes: \"x ${NODES}\"}}\n"),
			want: []string{
				`6:7: seed: variable SEED is not set; set it in the environment, give a default (${SEED:-VALUE}) or override the value with --set`,
				`7:27: target.demo.nodes: variable NODES is not set`,
			},
		},
		{
			name: "in a block scalar, on its second line",
			src:  noMeta("metadata:\n  name: t\n  description: |\n    first line\n    second ${MISSING} line\n"),
			want: []string{`10:12: metadata.description: variable MISSING is not set`},
		},
		{
			name: "the second reference of a scalar, after an escape",
			src:  noMeta("metadata: {name: t, description: \"$$ ${A:-a} $$ ${B}\"}\n"),
			want: []string{`6:49: metadata.description: variable B is not set`},
		},
		{
			name: "malformed references say what is allowed",
			src:  noMeta("metadata: {name: t, description: \"${1X} and ${}\"}\nseed: \"${SEED\"\n"),
			want: []string{
				`6:35: metadata.description: bad variable reference "${1X}"; allowed: ${NAME} and ${NAME:-default} (NAME matches [A-Za-z_][A-Za-z0-9_]*`,
				`6:45: metadata.description: bad variable reference "${}"`,
				`7:8: seed: unclosed variable reference "${SEED"; allowed:`,
			},
		},
		{
			name: "a value of the wrong type is a typed problem at the value",
			src:  minimalWith("seed: ${SEED}\nrepeat: \"${RUNS}\"\n"),
			env:  []string{"SEED", "seven", "RUNS", "1.5"},
			want: []string{
				`6:7: seed: expected an integer, got the string "seven" (the value came from ${SEED} (the environment))`,
				`7:9: repeat: expected an integer, got the number 1.5 (the value came from ${RUNS} (the environment))`,
			},
		},
		{
			name: "a default of the wrong type is named too",
			src:  minimalWith("target: {demo: {nodes: \"${NODES:-three}\"}}\n"),
			want: []string{`6:24: target.demo.nodes: expected an integer, got the string "three" (the value came from ${NODES} (its default))`},
		},
		{
			name: "an enum value from a variable",
			src:  minimalWith("target: {runtime: \"${RT:-proces}\"}\n"),
			want: []string{`6:19: target.runtime: bad value "proces"; allowed: process, docker, kubernetes, external; did you mean "process"?`},
		},
		{
			name: "validation problems name the variable too",
			src:  minimalWith("target: {demo: {nodes: \"${NODES}\"}}\n"),
			env:  []string{"NODES", "0"},
			want: []string{`6:24: target.demo.nodes: 0 is out of range`},
		},
		{
			name: "one unset name with two defaults",
			src:  minimalWith("seed: ${N:-3}\nrepeat: ${N:-4}\n"),
			want: []string{`7:9: repeat: variable N is unset and has the default "4" here and "3" on line 6; give it one default`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, verr := decodeVars(t, tt.src, nil, tt.env...)
			if verr == nil {
				t.Fatal("decoded without a problem")
			}
			checkProblems(t, verr, "v.yaml", tt.want)
		})
	}
}

// Variables in a file with secrets: each keeps its own rules; the secret
// is resolved, redacted, recorded as redacted and kept as a reference in
// the resolved source.
func TestVariablesWithSecrets(t *testing.T) {
	src := externalHead + `
    members:
      - name: web
        command: [serve, "--port=${PORT:-18080}", "--token=${secret:TOKEN}"]
        env: {KEY: "$$${secret:TOKEN}", LITERAL: "$${secret:TOKEN}"}
        ports: [18080]
    proxies: [{name: web, listen: "127.0.0.1:28080", upstream: "127.0.0.1:18080"}]
` + externalTail
	e, verr := decodeVars(t, src, nil, "TOKEN", "tok-8812aa")
	if verr != nil {
		t.Fatal(verr)
	}
	m := e.Target.External.Members[0]
	if want := []string{"serve", "--port=18080", "--token=tok-8812aa"}; !reflect.DeepEqual(m.Command, want) {
		t.Errorf("command = %q, want %q", m.Command, want)
	}
	if m.Env["KEY"] != "$tok-8812aa" || m.Env["LITERAL"] != "${secret:TOKEN}" {
		t.Errorf("env = %q", m.Env)
	}
	if got := e.Redactor().String("--token=tok-8812aa"); got != "--token="+Redacted {
		t.Errorf("the secret is not redacted: %q", got)
	}
	want := []Variable{{"PORT", "18080", FromDefault}, {"secret:TOKEN", Redacted, FromEnv}}
	if !reflect.DeepEqual(e.Variables, want) {
		t.Errorf("Variables = %v, want %v", e.Variables, want)
	}
	resolved := string(e.ResolvedSource([]byte(src)))
	if strings.Contains(resolved, "tok-8812aa") || !strings.Contains(resolved, "--token=${secret:TOKEN}") || !strings.Contains(resolved, "--port=18080") {
		t.Errorf("resolved source:\n%s", resolved)
	}
	again, verr := decodeVars(t, resolved, nil, "TOKEN", "tok-8812aa")
	if verr != nil {
		t.Fatal(verr)
	}
	if !reflect.DeepEqual(again.Target.External.Members[0].Env, m.Env) {
		t.Errorf("decoded again: env = %q, want %q", again.Target.External.Members[0].Env, m.Env)
	}
	// An unset secret is a problem at its $, like a variable.
	_, verr = decodeVars(t, src, nil)
	if verr == nil {
		t.Fatal("an unset secret decoded")
	}
	checkProblems(t, verr, "v.yaml", []string{
		`8:60: target.external.members[0].command[2]: secret TOKEN: environment variable TOKEN is not set`,
		`9:23: target.external.members[0].env.KEY: secret TOKEN: environment variable TOKEN is not set`,
	})
}

func TestSet(t *testing.T) {
	e, verr := decodeVars(t, varsExperiment, []string{
		"workload.rate=300", // replaces an unset variable: no problem
		"faults[0].duration=5s",
		"faults[0].partition.groups[1][0]=n4",
		"target.demo.nodes=5", // the file has no target
		"metadata.name=renamed",
		"workload.timeout=2s",
	}, "ENV_NAME", "x")
	if verr != nil {
		t.Fatal(verr)
	}
	if e.Workload.Rate != 300 || e.Faults[0].Duration != 5*time.Second || e.Target.Demo.Nodes != 5 ||
		e.Metadata.Name != "renamed" || e.Workload.Timeout != 2*time.Second || e.Faults[0].Partition.Groups[1][0] != "n4" {
		t.Errorf("overrides not applied: %+v %+v %+v", e.Workload, e.Faults[0], e.Target.Demo)
	}
	var sets []string
	for _, v := range e.Variables {
		if v.From == FromSet {
			sets = append(sets, v.Name+"="+v.Value)
		}
	}
	want := []string{"metadata.name=renamed", "workload.rate=300", "workload.timeout=2s", "faults[0].duration=5s", "faults[0].partition.groups[1][0]=n4", "target.demo.nodes=5"}
	if !sameSet(sets, want) {
		t.Errorf("recorded overrides %q, want %q", sets, want)
	}
}

// An override of an aliased value changes that place only.
func TestSetAliased(t *testing.T) {
	src := minimalWith(`faults:
  - &cut {name: a, at: 1s, duration: 2s, partition: {groups: [[n1], [n2, n3]]}}
  - {<<: *cut, name: b, at: 5s}
`)
	e, verr := decodeVars(t, src, []string{"faults[1].duration=1s", "faults[0].partition.groups[0][0]=n2", "faults[0].partition.groups[1][0]=n1"})
	if verr != nil {
		t.Fatal(verr)
	}
	if e.Faults[0].Duration != 2*time.Second || e.Faults[1].Duration != time.Second {
		t.Errorf("durations %s, %s; want 2s, 1s", e.Faults[0].Duration, e.Faults[1].Duration)
	}
	if g := e.Faults[1].Partition.Groups; g[0][0] != "n1" {
		t.Errorf("the merged fault changed too: %v", g)
	}
}

func TestSetProblems(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"workload.rat=5", `v.yaml: --set workload.rat=5: unknown field "rat" in workload; allowed: rate,`},
		{"workload.rat=5", `did you mean "rate"?`},
		{"workload.rate=fast", `v.yaml: --set workload.rate=fast: workload.rate: expected a number, got the string "fast"`},
		{"faults[3].at=1s", `--set faults[3].at=1s: faults has 1 items in the file; --set changes an item the file has (faults[0] to faults[0]), and adds none`},
		{"workload=5", `--set workload=5: workload is a mapping; --set sets one value: name a field inside it`},
		{"workload.rate", `--set workload.rate: no = in it; write --set PATH=VALUE`},
		{"faults.x=1", `--set faults.x=1: faults is a list; it has no field x`},
		{"seed[0]=1", `--set seed[0]=1: seed is an integer, not a list; it has no seed[0]`},
		{"target.demo.nodes=0", `--set target.demo.nodes=0: target.demo.nodes: 0 is out of range`},
	} {
		t.Run(tc.set, func(t *testing.T) {
			_, verr := decodeVars(t, minimalWith("faults: [{name: a, at: 1s, crash: {nodes: [n1]}}]\n"), []string{tc.set})
			if verr == nil {
				t.Fatal("decoded without a problem")
			}
			if !strings.Contains(verr.Error(), tc.want) {
				t.Errorf("got\n%v\nwant it to contain\n%s", verr, tc.want)
			}
			for _, p := range verr.Problems {
				if p.Origin == "" || p.Line != 0 {
					t.Errorf("problem %+v does not name the --set", p)
				}
			}
		})
	}
}

func TestGameDayVariables(t *testing.T) {
	src := `apiVersion: chaosctl/v1
kind: GameDay
metadata: {name: gd}
target: {demo: {nodes: "${NODES:-3}"}}
steps:
  - name: baseline
    checkpoint: {duration: "${CHECK:-5s}", rate: 20, probes: [{name: p, metric: error_ratio, max: 1%}]}
  - name: cut
    experiment:
      inline:
        workload: {rate: 20, duration: 6s}
        faults: [{name: cut, at: 1s, crash: {nodes: ["${VICTIM}"]}}]
        checks: [linearizable]
`
	gd, err := DecodeGameDayWith("gd.yaml", []byte(src), DecodeOptions{LookupEnv: env("VICTIM", "n2"), Set: []string{"steps[0].checkpoint.rate=30"}})
	if err != nil {
		t.Fatal(err)
	}
	if gd.Target.Demo.Nodes != 3 || gd.Steps[0].Checkpoint.Duration != 5*time.Second || gd.Steps[0].Checkpoint.Rate != 30 {
		t.Errorf("playbook: %+v %+v", gd.Target.Demo, gd.Steps[0].Checkpoint)
	}
	step := gd.Steps[1].Resolved
	if step.Faults[0].Crash.Nodes[0] != "n2" {
		t.Errorf("inline step: %+v", step.Faults[0].Crash)
	}
	if !strings.Contains(string(gd.Steps[1].Source), "n2") || strings.Contains(string(gd.Steps[1].Source), "VICTIM") {
		t.Errorf("the step's source is not resolved:\n%s", gd.Steps[1].Source)
	}
	if !reflect.DeepEqual(step.Variables, []Variable{{"NODES", "3", FromDefault}, {"VICTIM", "n2", FromEnv}}) {
		t.Errorf("step variables = %v", step.Variables)
	}
	_, err = DecodeGameDayWith("gd.yaml", []byte(src), DecodeOptions{LookupEnv: env()})
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("got %v", err)
	}
	checkProblems(t, verr, "gd.yaml", []string{`12:55: steps[1].experiment.inline.faults[0].crash.nodes[0]: variable VICTIM is not set`})
}

// noMeta is minimalWith without the metadata line, for files that write
// their own; its lines count like minimalWith's.
func noMeta(extra string) string {
	return strings.Replace(minimalWith(extra), "metadata: {name: t}\n", "# no metadata here\n", 1)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}
