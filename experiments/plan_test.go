package experiments

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
)

// goldenPlans are the --dry-run texts pinned by golden files: every example
// plus the every-field experiments of decode_test.go.
func goldenPlans(t *testing.T) map[string][]byte {
	t.Helper()
	plans := map[string][]byte{
		"every-demo-field":     []byte(fullDemo),
		"every-external-field": []byte(fullExternal),
	}
	for path, data := range exampleFiles(t) {
		plans["example-"+strings.TrimSuffix(filepath.Base(path), ".yaml")] = data
	}
	return plans
}

func TestPlanGolden(t *testing.T) {
	for name, data := range goldenPlans(t) {
		t.Run(name, func(t *testing.T) {
			// The plans are the files' own: variables take their
			// defaults, whatever this environment holds.
			e, err := DecodeWith(name+".yaml", data, DecodeOptions{LookupEnv: env()})
			if err != nil {
				t.Fatal(err)
			}
			seed := int64(1)
			if e.Seed != nil {
				seed = *e.Seed
			}
			p, err := e.Plan(seed)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := p.Format(&got); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "plan", name+".golden")
			if *testkit.Update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./experiments -run TestPlanGolden -update)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("plan differs from %s (run with -update if intended):\n--- got\n%s\n--- want\n%s", golden, got.Bytes(), want)
			}
		})
	}
}

func TestPlanWindowsAndLinks(t *testing.T) {
	e, err := Load(filepath.Join("..", "examples", "minority-partition.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Plan(42)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Links) != 1+5+5*4 {
		t.Errorf("plane has %d links, want client->g1, 5 g1->n*, 20 n*->n*", len(p.Links))
	}
	windows := map[string][2]time.Duration{}
	for _, f := range p.Faults {
		windows[f.Name] = [2]time.Duration{f.Start, f.End}
	}
	want := map[string][2]time.Duration{
		"isolate-one": {14 * time.Second, 24 * time.Second}, // warmup 4s + at 10s, for 10s
		"slow-n2":     {25 * time.Second, 28 * time.Second}, // after the cut heals
		"kill-one":    {29 * time.Second, 32 * time.Second}, // restartAfter 3s
		"freeze":      {34 * time.Second, 36 * time.Second},
	}
	for name, w := range want {
		if windows[name] != w {
			t.Errorf("%s window = %v, want %v", name, windows[name], w)
		}
	}
	isolate := p.Faults[0]
	var cut []string
	for _, l := range isolate.Links {
		cut = append(cut, l.String())
	}
	wantCut := []string{"n1->n2", "n1->n3", "n1->n4", "n1->n5", "n2->n1", "n3->n1", "n4->n1", "n5->n1"}
	if !slices.Equal(cut, wantCut) {
		t.Errorf("isolate-one cuts %v, want %v", cut, wantCut)
	}
	slow := p.Faults[1]
	for _, l := range slow.Links {
		if l.From != "n2" && l.To != "n2" {
			t.Errorf("latency on n2 touches %s", l)
		}
	}
	if len(slow.Links) != 1+4+4 { // g1->n2, n2->n*, n*->n2
		t.Errorf("latency on n2 touches %d links, want 9", len(slow.Links))
	}
}

// partitionPlan decodes a demo experiment with one partition fault and
// plans it.
func partitionPlan(t *testing.T, nodes int, partition string, seed int64) PlannedFault {
	t.Helper()
	src := fmt.Sprintf(`apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: p}
target: {demo: {nodes: %d, replication: {n: 1, w: 1, r: 1}}}
workload: {rate: 10, duration: 10s}
faults: [{name: cut, at: 1s, partition: %s}]
checks: [linearizable]
`, nodes, partition)
	e, err := Decode("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Plan(seed)
	if err != nil {
		t.Fatal(err)
	}
	return p.Faults[0]
}

func TestPartitionModes(t *testing.T) {
	for nodes := 2; nodes <= 9; nodes++ {
		for _, mode := range []PartitionMode{ModeIsolate, ModeMajorityMinority, ModeHalves, ModeRing, ModeBridge} {
			if nodes < mode.minNodes() {
				continue
			}
			for seed := int64(0); seed < 20; seed++ {
				name := fmt.Sprintf("%s/%d-nodes/seed-%d", mode, nodes, seed)
				pf := partitionPlan(t, nodes, fmt.Sprintf("{mode: %s}", mode), seed)
				checkPartition(t, name, nodes, mode, pf)
			}
		}
	}
}

func checkPartition(t *testing.T, name string, nodes int, mode PartitionMode, pf PlannedFault) {
	t.Helper()
	all := numberedNames("n", nodes)
	cut := map[Link]bool{}
	for _, l := range pf.Links {
		cut[l] = true
		if !strings.HasPrefix(l.From, "n") || !strings.HasPrefix(l.To, "n") {
			t.Errorf("%s: a mode cuts only store links, got %s", name, l)
		}
	}
	sizes := []int{}
	in := map[string]int{}
	for gi, g := range pf.Groups {
		sizes = append(sizes, len(g))
		for _, n := range g {
			if _, dup := in[n]; dup {
				t.Errorf("%s: %s in two groups", name, n)
			}
			in[n] = gi
		}
	}
	switch mode {
	case ModeIsolate:
		if !slices.Equal(sizes, []int{1, nodes - 1}) {
			t.Errorf("%s: group sizes %v", name, sizes)
		}
	case ModeMajorityMinority:
		if !slices.Equal(sizes, []int{nodes - (nodes-1)/2, (nodes - 1) / 2}) || sizes[0] <= nodes/2 {
			t.Errorf("%s: group sizes %v, want a majority then a minority", name, sizes)
		}
	case ModeHalves:
		if !slices.Equal(sizes, []int{nodes / 2, nodes - nodes/2}) {
			t.Errorf("%s: group sizes %v", name, sizes)
		}
	case ModeBridge:
		if pf.Bridge == "" || len(in)+1 != nodes {
			t.Errorf("%s: bridge %q, groups %v", name, pf.Bridge, pf.Groups)
		}
		if _, grouped := in[pf.Bridge]; grouped {
			t.Errorf("%s: bridge %s is inside a group", name, pf.Bridge)
		}
		for l := range cut {
			if l.From == pf.Bridge || l.To == pf.Bridge {
				t.Errorf("%s: bridge link %s is cut", name, l)
			}
		}
	case ModeRing:
		if len(pf.Ring) != nodes {
			t.Fatalf("%s: ring %v", name, pf.Ring)
		}
		for i, n := range pf.Ring {
			kept := 0
			for _, m := range all {
				if m != n && !cut[Link{From: n, To: m}] {
					kept++
				}
			}
			if kept != 2 {
				t.Errorf("%s: %s keeps %d links, want its 2 ring neighbours", name, n, kept)
			}
			next := pf.Ring[(i+1)%nodes]
			if cut[Link{From: n, To: next}] || cut[Link{From: next, To: n}] {
				t.Errorf("%s: neighbours %s and %s are cut", name, n, next)
			}
		}
		return
	}
	// Every link between different groups is cut, and nothing else.
	for _, a := range all {
		for _, b := range all {
			if a == b {
				continue
			}
			ga, okA := in[a]
			gb, okB := in[b]
			want := okA && okB && ga != gb
			if cut[Link{From: a, To: b}] != want {
				t.Errorf("%s: link %s->%s cut=%v, want %v", name, a, b, !want, want)
			}
		}
	}
	if len(in) != nodes && mode != ModeBridge {
		t.Errorf("%s: groups %v do not cover the %d nodes", name, pf.Groups, nodes)
	}
}

// Mode isolate with a size cuts that many store nodes, drawn with the
// seed, from the others: they keep their links to each other (unless
// behavior is isolate), a larger size keeps the nodes a smaller one drew,
// and size 1 is the plan of a file that gives no size.
func TestIsolateSize(t *testing.T) {
	pairs := map[string]bool{}
	for seed := int64(0); seed < 20; seed++ {
		var prev []string
		for size := 1; size <= 4; size++ {
			name := fmt.Sprintf("size-%d/seed-%d", size, seed)
			pf := partitionPlan(t, 5, fmt.Sprintf("{mode: isolate, size: %d}", size), seed)
			if len(pf.Groups) != 2 || len(pf.Groups[0]) != size || len(pf.Groups[1]) != 5-size {
				t.Fatalf("%s: groups %v, want %d nodes cut from %d", name, pf.Groups, size, 5-size)
			}
			checkPartition(t, name, 5, "", pf) // every link between the groups, none within
			for _, n := range prev {
				if !slices.Contains(pf.Groups[0], n) {
					t.Errorf("%s: cuts %v, which leaves out %s of size %d's %v", name, pf.Groups[0], n, size-1, prev)
				}
			}
			prev = pf.Groups[0]
			if size == 1 {
				if dflt := partitionPlan(t, 5, "{mode: isolate}", seed); !slices.Equal(dflt.Groups[0], pf.Groups[0]) || !slices.Equal(dflt.Links, pf.Links) {
					t.Errorf("%s: size 1 cuts %v, a file without size %v", name, pf.Groups[0], dflt.Groups[0])
				}
			}
			if size == 2 {
				again := partitionPlan(t, 5, "{mode: isolate, size: 2}", seed)
				if !slices.Equal(again.Groups[0], pf.Groups[0]) || !slices.Equal(again.Links, pf.Links) {
					t.Errorf("%s: the same seed cut %v, then %v", name, pf.Groups[0], again.Groups[0])
				}
				pairs[strings.Join(pf.Groups[0], " ")] = true
				a, b := pf.Groups[0][0], pf.Groups[0][1]
				if len(pf.Links) != 2*2*3 || slices.Contains(pf.Links, Link{From: a, To: b}) || slices.Contains(pf.Links, Link{From: b, To: a}) {
					t.Errorf("%s: cuts %v; want the 12 links between %s %s and the other three, not theirs to each other", name, pf.Links, a, b)
				}
				iso := partitionPlan(t, 5, "{mode: isolate, size: 2, behavior: isolate}", seed)
				if !slices.Equal(iso.Targets, pf.Groups[0]) || !slices.Contains(iso.Links, Link{From: a, To: b}) || len(iso.Links) != len(isolateLinks(pf.Groups[0], iso.Links)) {
					t.Errorf("%s: behavior isolate targets %v and cuts %v; want %s and %s off the network, their link to each other too", name, iso.Targets, iso.Links, a, b)
				}
			}
		}
	}
	if len(pairs) < 5 {
		t.Errorf("20 seeds cut only %d distinct pairs of 5 nodes: the seed is not used", len(pairs))
	}
}

func TestIsolateSizeDecodesAndPrints(t *testing.T) {
	e, err := Decode("p.yaml", []byte(minimalWith(`target: {demo: {nodes: 5}}
faults:
  - {name: one, at: 1s, duration: 1s, partition: {mode: isolate}}
  - {name: two, at: 3s, duration: 1s, partition: {mode: isolate, size: 2}}
  - {name: halves, at: 5s, duration: 1s, partition: {mode: halves}}
  - {name: groups, at: 7s, duration: 1s, partition: {groups: [[n1], [n2]]}}
`)))
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, f := range e.Faults {
		sizes = append(sizes, f.Partition.Size)
	}
	// The default is filled in for mode isolate only: a size elsewhere is
	// an error, and a schedule written back must not carry one.
	if !slices.Equal(sizes, []int{1, 2, 0, 0}) {
		t.Errorf("sizes %v, want [1 2 0 0]", sizes)
	}
	p, err := e.Plan(7)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := p.Format(&b); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("mode isolate of 2 nodes: [%s] | [%s], both ways", strings.Join(p.Faults[1].Groups[0], " "), strings.Join(p.Faults[1].Groups[1], " "))
	if !strings.Contains(b.String(), want) || strings.Contains(b.String(), "mode isolate of 1") {
		t.Errorf("plan lacks %q:\n%s", want, b.String())
	}
}

func TestPartitionOneWayAndExplicitGroups(t *testing.T) {
	pf := partitionPlan(t, 3, "{groups: [[n1, g1], [n2, n3], [client]], oneWay: true}", 1)
	var got []string
	for _, l := range pf.Links {
		got = append(got, l.String())
	}
	// Only the first group's outgoing links: g1->n2, g1->n3, n1->n2, n1->n3.
	want := []string{"g1->n2", "g1->n3", "n1->n2", "n1->n3"}
	if !slices.Equal(got, want) {
		t.Errorf("one-way cut = %v, want %v", got, want)
	}
	pf = partitionPlan(t, 3, "{groups: [[n1, g1], [n2, n3], [client]]}", 1)
	got = got[:0]
	for _, l := range pf.Links {
		got = append(got, l.String())
	}
	want = []string{"client->g1", "g1->n2", "g1->n3", "n1->n2", "n1->n3", "n2->n1", "n3->n1"}
	if !slices.Equal(got, want) {
		t.Errorf("two-way cut = %v, want %v", got, want)
	}
}

func TestPlanIsDeterministic(t *testing.T) {
	e, err := Decode("full.yaml", []byte(fullDemo))
	if err != nil {
		t.Fatal(err)
	}
	format := func(seed int64) string {
		p, err := e.Plan(seed)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := p.Format(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if format(5) != format(5) {
		t.Error("two plans with the same seed differ")
	}
	distinct := map[string]bool{}
	for seed := range int64(20) {
		distinct[format(seed)] = true
	}
	if len(distinct) < 5 {
		t.Errorf("20 seeds gave only %d distinct plans; the seed is not used", len(distinct))
	}
}

func TestPicksAreIndependentPerFault(t *testing.T) {
	base := minimalWith("target: {demo: {nodes: 7}}\nfaults:\n  - {name: a, at: 1s, duration: 1s, pause: {pick: {count: 3}}}\n")
	more := base + "  - {name: b, at: 5s, duration: 1s, pause: {pick: {count: 2}}}\n"
	targets := func(src string) []string {
		e, err := Decode("x.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.Plan(99)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range p.Faults {
			if len(f.Targets) != f.Fault.Pause.Pick.Count {
				t.Errorf("fault %s picked %v, want %d", f.Name, f.Targets, f.Fault.Pause.Pick.Count)
			}
			if !slices.IsSortedFunc(f.Targets, func(a, b string) int { return strings.Compare(a, b) }) {
				t.Errorf("fault %s targets %v are not sorted", f.Name, f.Targets)
			}
		}
		return p.Faults[0].Targets
	}
	if a, b := targets(base), targets(more); !slices.Equal(a, b) {
		t.Errorf("adding a fault changed another fault's pick: %v then %v", a, b)
	}
}

func TestSortNames(t *testing.T) {
	got := sortNames([]string{"n10", "web", "n2", "g1", "client", "api", "n1", "g10", "g2"})
	want := []string{"client", "g1", "g2", "g10", "n1", "n2", "n10", "api", "web"}
	if !slices.Equal(got, want) {
		t.Errorf("sortNames = %v, want %v", got, want)
	}
}

func TestUniformIsUnbiasedEnough(t *testing.T) {
	// A coarse check that shuffle draws every position: over 6000 shuffles
	// of 3 names each of the 6 orders appears roughly 1000 times.
	src := faultSource(1, "x")
	counts := map[string]int{}
	for range 6000 {
		counts[strings.Join(shuffle(src, []string{"a", "b", "c"}), "")]++
	}
	if len(counts) != 6 {
		t.Fatalf("saw %d orders, want 6: %v", len(counts), counts)
	}
	for order, n := range counts {
		if n < 800 || n > 1200 {
			t.Errorf("order %s drawn %d times of 6000, want about 1000", order, n)
		}
	}
}

// failingWriter fails every write, to check Format reports it.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestFormatReportsWriteErrors(t *testing.T) {
	e, err := Decode("min.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Plan(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Format(failingWriter{}); err == nil {
		t.Error("Format to a failing writer returned nil")
	}
}

// The dry-run shows each fault at the file's origin: t = `at`, counted from
// the end of warmup, and says so once.
func TestPlanShowsFaultsAtTheFilesOrigin(t *testing.T) {
	e, err := Decode("clock.yaml", []byte(`apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: clock}
target: {demo: {nodes: 3}}
workload: {rate: 10, warmup: 3s, duration: 20s}
faults:
  - {name: slow, at: 4s, duration: 5s, latency: {delay: 10ms, nodes: [n1]}}
  - {name: bounce, at: 12s, restart: {nodes: [n2]}}
slos:
  - {name: avail, sli: availability, objective: 99%}
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Plan(1)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.T(p.Faults[0].Start); got != 4*time.Second {
		t.Errorf("T(start of slow) = %s, want its at, 4s", got)
	}
	var b strings.Builder
	if err := p.Format(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"faults (2; t = time from the end of warmup, as `at` in the file; warmup is t = -3s to 0):\n",
		"  slow: latency, t = 4s -> 9s\n",
		"  bounce: restart, t = 12s (instant)\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the plan lacks %q:\n%s", want, b.String())
		}
	}
}
