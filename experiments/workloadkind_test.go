package experiments

import (
	"errors"
	"testing"
)

func TestWorkloadKindProblems(t *testing.T) {
	for _, tt := range []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "an unknown kind names the allowed ones",
			src: `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}
target: {demo: {consistency: eventual}}
workload: {kind: map, rate: 10, duration: 10s}
checks: [converges]
`,
			want: []string{`5:18: workload.kind: bad value "map"; allowed: kv, lock, counter, lww-counter, set, scan`},
		},
		{
			name: "CRDT kinds need the eventual mode",
			src: `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}
target: {demo: {consistency: quorum}}
workload: {kind: counter, rate: 10, duration: 10s}
checks: [converges]
`,
			want: []string{`5:18: workload.kind: counter acts on CRDT values, which only the eventual mode has`},
		},
		{
			name: "the key-value checks do not judge CRDT values",
			src: `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}
target: {demo: {consistency: eventual}}
workload: {kind: counter, rate: 10, duration: 10s}
checks: [linearizable, no-lost-writes]
`,
			want: []string{
				`6:10: checks[0]: linearizable judges a key-value workload; workload.kind counter updates CRDT values: use converges`,
				`6:24: checks[1]: no-lost-writes judges a key-value workload`,
			},
		},
		{
			name: "converges needs a CRDT workload",
			src: `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}
target: {demo: {consistency: eventual}}
workload: {rate: 10, duration: 10s}
checks: [converges]
`,
			want: []string{`6:10: checks[0]: converges judges CRDT values; it needs workload.kind counter, lww-counter or set, not kv`},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("exp.yaml", []byte(tt.src))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Decode error = %v, want a *ValidationError", err)
			}
			checkProblems(t, verr, "exp.yaml", tt.want)
		})
	}
	e, err := Decode("exp.yaml", []byte(`apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}
target: {demo: {consistency: eventual}}
workload: {kind: set, rate: 10, duration: 10s}
checks: [converges]
`))
	if err != nil || e.Workload.Kind != WorkloadSet {
		t.Fatalf("a set workload with converges: %v, kind %q", err, e.Workload.Kind)
	}
	if e, err := Decode("exp.yaml", []byte(minimal)); err != nil || e.Workload.Kind != WorkloadKV {
		t.Fatalf("the default kind: %v, %q, want kv", err, e.Workload.Kind)
	}
}
