package explore

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
)

func TestNarrowerListsStrictlySmallerCuts(t *testing.T) {
	part := func(p experiments.Partition) experiments.Fault {
		return experiments.Fault{Name: "f1", Partition: &p}
	}
	for _, c := range []struct {
		name string
		f    experiments.Fault
		pf   experiments.PlannedFault
		want []string // each candidate's groups, "a b | c"
	}{
		{"a ring of four: each pair of non-neighbours alone",
			part(experiments.Partition{Mode: experiments.ModeRing}), experiments.PlannedFault{Ring: []string{"n3", "n1", "n4", "n2"}},
			[]string{"n3 | n4", "n1 | n2"}},
		{"a bridge: a member fewer on either side",
			part(experiments.Partition{Mode: experiments.ModeBridge}), experiments.PlannedFault{Groups: [][]string{{"n1", "n2"}, {"n4", "n5"}}, Bridge: "n3"},
			[]string{"n2 | n4 n5", "n1 | n4 n5", "n1 n2 | n5", "n1 n2 | n4"}},
		{"a majority-minority split: the majority shrinks first, then the minority isolates one",
			part(experiments.Partition{Groups: [][]string{{"n1", "n2", "n3"}, {"n4", "n5"}}}), experiments.PlannedFault{Groups: [][]string{{"n1", "n2", "n3"}, {"n4", "n5"}}},
			[]string{"n2 n3 | n4 n5", "n1 n3 | n4 n5", "n1 n2 | n4 n5", "n1 n2 n3 | n5", "n1 n2 n3 | n4"}},
		{"three groups: also one group fewer",
			part(experiments.Partition{Groups: [][]string{{"n1"}, {"n2"}, {"n3"}}}), experiments.PlannedFault{Groups: [][]string{{"n1"}, {"n2"}, {"n3"}}},
			[]string{"n2 | n3", "n1 | n3", "n1 | n2"}},
		{"behavior isolate: the isolated group loses a member to the rest",
			part(experiments.Partition{Groups: [][]string{{"n1", "n2"}, {"n3"}}, Behavior: experiments.BehaviorIsolate}), experiments.PlannedFault{Groups: [][]string{{"n1", "n2"}, {"n3"}}},
			[]string{"n2 | n1 n3", "n1 | n2 n3"}},
		{"mode isolate of two: a member fewer on either side, the mode and its size dropped",
			part(experiments.Partition{Mode: experiments.ModeIsolate, Size: 2}), experiments.PlannedFault{Groups: [][]string{{"n2", "n4"}, {"n1", "n3", "n5"}}},
			[]string{"n2 n4 | n3 n5", "n2 n4 | n1 n5", "n2 n4 | n1 n3", "n4 | n1 n3 n5", "n2 | n1 n3 n5"}},
		{"mode isolate of two with behavior isolate: one node leaves the network, the size shrinks to 1",
			part(experiments.Partition{Mode: experiments.ModeIsolate, Size: 2, Behavior: experiments.BehaviorIsolate}), experiments.PlannedFault{Groups: [][]string{{"n2", "n4"}, {"n1", "n3", "n5"}}},
			[]string{"n4 | n1 n2 n3 n5", "n2 | n1 n3 n4 n5"}},
		{"a cut of one pair is as narrow as it gets",
			part(experiments.Partition{Groups: [][]string{{"n1"}, {"n2"}}}), experiments.PlannedFault{Groups: [][]string{{"n1"}, {"n2"}}}, nil},
		{"not a partition", experiments.Fault{Name: "f1", Crash: &experiments.Crash{}}, experiments.PlannedFault{}, nil},
	} {
		var got []string
		for _, n := range narrower(c.f, c.pf) {
			p := n.fault.Partition
			if p.Mode != "" || p.Size != 0 || n.fault.Name != "f1" || c.f.Partition.Groups != nil && &p.Groups[0][0] == &c.f.Partition.Groups[0][0] {
				t.Errorf("%s: candidate %+v keeps the mode or shares the groups", c.name, p)
			}
			if p.Behavior != c.f.Partition.Behavior {
				t.Errorf("%s: behavior changed to %q", c.name, p.Behavior)
			}
			got = append(got, groupsText(p.Groups))
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

// partitionFile explores only partitions of every shape over five nodes.
const partitionFile = `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: pair-explore}
seed: 1
target:
  demo: {nodes: 5, gateways: 1}
workload: {rate: 100, warmup: 1s, duration: 20s, readRatio: 50%}
nemesis:
  kinds: [partition]
  faults: {min: 1, max: 2}
  duration: {min: 2s, max: 4s}
  partition: {shapes: [majority-minority, halves, bridge, ring], behavior: reject}
checks: [linearizable]
`

// cutsPair fails a run when one of its partitions cuts n1 from n2 (either
// way), as its plan resolves it.
func cutsPair(e *experiments.Experiment) string {
	plan, err := e.Plan(*e.Seed)
	if err != nil {
		return report.Inconclusive
	}
	for _, pf := range plan.Faults {
		for _, l := range pf.Links {
			if (l.From == "n1" && l.To == "n2") || (l.From == "n2" && l.To == "n1") {
				return report.Fail
			}
		}
	}
	return report.Pass
}

// A failure that needs only n1 cut from n2 shrinks, from whatever shape
// was drawn (a majority-minority split, halves, a bridge, a ring), to one
// partition that cuts exactly that pair.
func TestShrinkNarrowsAPartitionToThePairTheFailureNeeds(t *testing.T) {
	e, err := experiments.Decode("pair.yaml", []byte(partitionFile))
	if err != nil {
		t.Fatal(err)
	}
	f := newFake(cutsPair)
	opts := options(t, f)
	opts.Source, opts.File, opts.KeepGoing, opts.Runs, opts.Repro = []byte(partitionFile), "pair.yaml", true, 30, 0
	out, err := Explore(context.Background(), e, opts)
	if err != nil {
		t.Fatal(err)
	}
	shapes := map[string]bool{}
	for i, m := range out.Report.Minimal {
		run := out.Report.Runs[m.Run-1]
		for _, sf := range run.Schedule {
			shapes[sf.On[0]] = true
		}
		min, err := experiments.Load(out.Dir + "/" + m.File)
		if err != nil {
			t.Fatal(err)
		}
		if len(min.Faults) != 1 || min.Faults[0].Partition == nil {
			t.Fatalf("minimal %d: %+v", i+1, min.Faults)
		}
		plan, err := min.Plan(*min.Seed)
		if err != nil {
			t.Fatal(err)
		}
		var links []string
		for _, l := range plan.Faults[0].Links {
			links = append(links, l.From+"→"+l.To)
		}
		slices.Sort(links)
		groups := groupsText(min.Faults[0].Partition.Groups)
		if !reflect.DeepEqual(links, []string{"n1→n2", "n2→n1"}) || (groups != "n1 | n2" && groups != "n2 | n1") {
			t.Errorf("minimal %d (from run %d: %v): groups %s cut %v, want only n1 from n2", i+1, m.Run, run.Schedule[0].On, groups, links)
		}
	}
	t.Logf("%d failures shrunk, drawn as %v", len(out.Report.Minimal), shapes)
	if len(out.Report.Minimal) < 4 {
		t.Errorf("only %d failures to shrink; the test needs several shapes", len(out.Report.Minimal))
	}
	for _, shape := range []string{"ring", "bridge", "halves"} {
		if !shapes[shape] {
			t.Errorf("no failing run drew a %s; shapes %v", shape, shapes)
		}
	}
}
