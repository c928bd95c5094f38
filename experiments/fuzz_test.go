package experiments

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fuzzSnippets are tricky inputs beyond the examples: aliases, merge keys,
// odd scalars, deep nesting, bombs and near-valid files.
var fuzzSnippets = []string{
	"",
	"apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {name: \"v-${X:-a}\", description: \"$$ $${Y} ${Z:-}\"}\nworkload: {rate: \"${R:-10}\", duration: \"${D:-5s}\"}\nchecks: [linearizable]\n",
	"~",
	"[]",
	"- - - -",
	"a: &a [*a]",
	"a: &a {<<: *a}",
	"{<<: [{a: 1}, [b]]}",
	"apiVersion: !!binary aGk=\n",
	"? [complex, key]\n: value\n",
	"seed: 99999999999999999999999\n",
	"workload: {rate: .nan, duration: 1e9h}\n",
	"workload: {rate: .inf, duration: -0s, warmup: 9223372036854775807ns}\n",
	strings.Repeat("[", 200) + strings.Repeat("]", 200),
	"---\n---\n",
	"\xef\xbb\xbfapiVersion: chaosctl/v1\n",
	"faults: [{name: a, at: 1s, partition: {groups: [[*x]]}}]\n",
	minimalWith("faults: [{name: a, at: 1s, partition: {groups: &g [[n1], *g]}}]\n"),
	minimalWith("faults: [{name: a, at: 1s, crash: {pick: {count: -1}}}, {name: b, at: 1s, crash: {pick: {count: 9}}}]\n"),
	minimalWith("target: {demo: {nodes: 0}}\nfaults: [{name: a, at: 1s, partition: {mode: ring}}]\n"),
	minimalWith("target: {demo: {nodes: 32, gateways: 8}}\nfaults: [{name: a, at: 1s, partition: {mode: bridge, oneWay: true}}]\n"),
	minimalWith("steadyState: {probes: [{name: a, metric: latency_p99, max: 1%, min: -5ms}]}\n"),
	minimalWith("abort: {burnRate: 1e308, window: 0, maxDuration: 1ns}\n"),
	minimalWith("target: {demo: {nodes: -1, gateways: 999999999}}\nfaults: [{name: a, at: 1s, crash: {pick: {count: 1}}}]\n"),
	minimalWith("nemesis: {kinds: [partition, crash], targets: [n1, n2, n3], faults: {min: 1, max: 3}, duration: {min: 2s, max: 6s}}\n"),
	minimalWith("nemesis: {kinds: [latency, clockSkew, corrupt], faults: 2, overlap: true, clockSkew: {offset: -2s}, spacing: {max: 0s}}\n"),
	minimalWith("nemesis: {kinds: [partition], partition: {shapes: [ring, bridge], behavior: isolate}, faults: [1]}\n"),
	fullDemo,
	fullExternal,
}

// FuzzDecode checks that Decode never panics, that every rejection is a
// *ValidationError whose problems have positions, and that every accepted
// experiment plans and formats.
//
//	go test -run=^$ -fuzz=FuzzDecode -fuzztime=10s ./experiments/
func FuzzDecode(f *testing.F) {
	for _, data := range exampleFiles(f) {
		f.Add(data, int64(1))
	}
	for i, s := range fuzzSnippets {
		f.Add([]byte(s), int64(i))
	}
	f.Add([]byte(billionLaughs()), int64(0))
	f.Add([]byte(mergeBomb()), int64(0))
	f.Fuzz(func(t *testing.T, data []byte, seed int64) {
		e, err := Decode("fuzz.yaml", data)
		if err != nil {
			var verr *ValidationError
			if !errors.As(err, &verr) || len(verr.Problems) == 0 {
				t.Fatalf("Decode error %v (%T) is not a *ValidationError with problems", err, err)
			}
			for i, p := range verr.Problems {
				if p.File != "fuzz.yaml" || p.Line < 1 || p.Col < 1 || p.Msg == "" {
					t.Fatalf("problem without a position or message: %+v", p)
				}
				if i > 0 && (verr.Problems[i-1].Line > p.Line || (verr.Problems[i-1].Line == p.Line && verr.Problems[i-1].Col > p.Col)) {
					t.Fatalf("problems not sorted: %v", err)
				}
			}
			if e != nil {
				t.Fatal("Decode returned an experiment with an error")
			}
			return
		}
		p, err := e.Plan(seed)
		if err != nil {
			t.Fatalf("valid experiment does not plan: %v\n%s", err, data)
		}
		runEnd := e.Workload.Warmup + e.Workload.Duration
		for _, pf := range p.Faults {
			if pf.Start < e.Workload.Warmup || pf.End > runEnd || pf.End < pf.Start {
				t.Fatalf("fault %s window %v..%v outside the workload %v..%v", pf.Name, pf.Start, pf.End, e.Workload.Warmup, runEnd)
			}
		}
		var a, b strings.Builder
		if err := p.Format(&a); err != nil {
			t.Fatal(err)
		}
		again, err := e.Plan(seed)
		if err != nil {
			t.Fatal(err)
		}
		if err := again.Format(&b); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() {
			t.Fatal("the same seed gave two different plans")
		}
		if e.Nemesis != nil {
			fuzzSchedule(t, e, data, seed)
		}
		if src := e.ResolvedSource(data); !bytes.Equal(src, data) {
			// The file with its variables filled in is the same
			// experiment.
			if _, err := Decode("fuzz.yaml", src); err != nil {
				t.Fatalf("the resolved source does not decode: %v\n%s", err, src)
			}
		}
	})
}

// fuzzSchedule checks a valid nemesis: the same seed draws the same
// schedule, and a schedule written into the file decodes (when it can be
// written) to the faults drawn, with no nemesis left.
func fuzzSchedule(t *testing.T, e *Experiment, data []byte, seed int64) {
	s, err := e.DrawSchedule(seed)
	if err != nil {
		t.Fatalf("a valid nemesis does not draw: %v", err)
	}
	again, _ := e.DrawSchedule(seed)
	if !reflect.DeepEqual(s, again) {
		t.Fatal("the same seed drew two different schedules")
	}
	_, got, err := ScheduleSource("fuzz.yaml", data, s, "")
	if err != nil {
		return // e.g. a workload written through an alias
	}
	if got.Nemesis != nil || !reflect.DeepEqual(got.Faults, s.Faults) {
		t.Fatalf("written schedule decodes to other faults:\n%+v\n%+v", got.Faults, s.Faults)
	}
}
